//! Compile and evaluation tests on a toy catalogue and extractor.

use osprey_event::ParamType;

use crate::ast::Expr;
use crate::{
    Extract, FieldArg, FieldCatalog, FieldError, FieldRef, Filter, Resolver, Value, Values,
};

const FIELDS: &[(&str, ParamType)] = &[
    ("proc.name", ParamType::CharBuf),
    ("proc.pname", ParamType::CharBuf),
    ("proc.pid", ParamType::Int64),
    ("evt.num", ParamType::Uint64),
    ("fd.name", ParamType::FsPath),
    ("fd.ip", ParamType::IpAddr),
    ("fd.net", ParamType::IpNet),
    ("evt.is_io", ParamType::Bool),
    ("proc.aname", ParamType::CharBuf),
    ("evt.arg", ParamType::CharBuf),
    ("fd.num", ParamType::Int64),
    ("evt.buffer", ParamType::ByteBuf),
    ("proc.args", ParamType::CharBufArray),
    ("evt.rate", ParamType::Double),
    ("fd.port", ParamType::Port),
];

struct Toy;

impl FieldCatalog for Toy {
    fn resolve(&self, name: &str, arg: FieldArg) -> Result<FieldRef, FieldError> {
        let id = FIELDS
            .iter()
            .position(|f| f.0 == name)
            .ok_or_else(|| FieldError::Unknown(name.to_string()))?;
        if name == "evt.arg" && !matches!(arg, FieldArg::Name(_) | FieldArg::Index(_)) {
            return Err(FieldError::BadArg {
                field: name.into(),
                reason: "an argument is required".into(),
            });
        }
        Ok(FieldRef {
            id: id as u32,
            arg,
            ty: FIELDS[id].1,
            name: name.into(),
        })
    }
}

#[derive(Default, Clone)]
struct Ev {
    name: Option<&'static str>,
    pname: Option<&'static str>,
    pid: Option<i64>,
    num: u64,
    fd: Option<&'static str>,
    ip: Option<std::net::IpAddr>,
    is_io: bool,
    anames: Vec<&'static str>,
    fdnum: i64,
    buffer: &'static [u8],
    args: Vec<&'static str>,
    rate: f64,
    port: u16,
}

impl Extract for Ev {
    fn extract(&self, f: &FieldRef, out: &mut Values) -> bool {
        let ip = |out: &mut Values, a: std::net::IpAddr| match a {
            std::net::IpAddr::V4(v) => out.push(Value::Ipv4(v.octets())),
            std::net::IpAddr::V6(v) => out.push(Value::Ipv6(v.octets())),
        };
        let s = |out: &mut Values, v: Option<&str>| match v {
            Some(v) => {
                out.push_bytes(v.as_bytes());
                true
            }
            None => false,
        };
        match FIELDS[f.id as usize].0 {
            "proc.name" => s(out, self.name),
            "proc.pname" => s(out, self.pname),
            "proc.pid" => self.pid.map(|p| out.push(Value::Int(p))).is_some(),
            "evt.num" => {
                out.push(Value::Uint(self.num));
                true
            }
            "fd.name" => s(out, self.fd),
            "fd.ip" | "fd.net" => self.ip.map(|a| ip(out, a)).is_some(),
            "evt.is_io" => {
                out.push(Value::Bool(self.is_io));
                true
            }
            "proc.aname" => match &f.arg {
                FieldArg::Index(i) => s(out, self.anames.get(*i as usize).copied()),
                _ => {
                    for a in &self.anames {
                        out.push_bytes(a.as_bytes());
                    }
                    !self.anames.is_empty()
                }
            },
            "evt.arg" => match &f.arg {
                FieldArg::Name(n) if &**n == "fd" => s(out, Some("3")),
                FieldArg::Index(0) => s(out, Some("first")),
                _ => false,
            },
            "fd.num" => {
                out.push(Value::Int(self.fdnum));
                true
            }
            "evt.buffer" => {
                out.push_bytes(self.buffer);
                true
            }
            "proc.args" => {
                for a in &self.args {
                    out.push_bytes(a.as_bytes());
                }
                true
            }
            "evt.rate" => {
                out.push(Value::Double(self.rate));
                true
            }
            "fd.port" => {
                out.push(Value::Uint(self.port.into()));
                true
            }
            _ => false,
        }
    }
}

fn ev() -> Ev {
    Ev {
        name: Some("nginx"),
        pname: Some("bash"),
        pid: Some(42),
        num: 7,
        fd: Some("/etc/passwd"),
        ip: Some("127.0.0.1".parse().unwrap()),
        is_io: true,
        anames: vec!["bash", "sshd", "systemd"],
        fdnum: -1,
        buffer: b"\x00/bin/sh\xff",
        args: vec!["-c", "ls"],
        rate: 2.5,
        port: 443,
    }
}

fn m(src: &str, e: &Ev) -> bool {
    Filter::compile(src, &Toy)
        .unwrap_or_else(|err| panic!("{src}: {}", err.display_with_caret(src)))
        .matches(e)
}

fn yes(src: &str) {
    assert!(m(src, &ev()), "expected match: {src}");
}

fn no(src: &str) {
    assert!(!m(src, &ev()), "expected no match: {src}");
}

fn cerr(src: &str) -> (usize, String) {
    let e = Filter::compile(src, &Toy).expect_err(src);
    (e.offset(), e.message().to_string())
}

#[test]
fn equality_and_inequality() {
    yes("proc.name=nginx");
    yes("proc.name == nginx");
    no("proc.name=nginx2");
    yes("proc.name != bash");
    no("proc.name != nginx");
    yes("proc.pid = 42");
    yes("proc.pid = 0x2a");
    yes("fd.num = -1");
    yes("evt.is_io = true");
    no("evt.is_io = false");
    yes("evt.rate = 2.5");
    yes("fd.port = 443");
}

#[test]
fn missing_fields_are_false_and_not_makes_them_true() {
    let mut e = ev();
    e.name = None;
    assert!(!m("proc.name = nginx", &e));
    assert!(!m("proc.name != nginx", &e));
    assert!(!m("proc.name exists", &e));
    assert!(m("not proc.name exists", &e));
    assert!(m("not proc.name = nginx", &e));
    assert!(!m("proc.name in (a, nginx)", &e));
    yes("proc.name exists");
}

#[test]
fn numeric_ordering_across_types() {
    yes("proc.pid > 41");
    yes("proc.pid >= 42");
    yes("proc.pid <= 42");
    no("proc.pid < 42");
    yes("evt.num < 8");
    yes("fd.num < 0");
    yes("evt.rate > 2");
    yes("evt.rate < 2.6");
}

#[test]
fn string_ordering_is_lexical() {
    yes("proc.name > abc");
    yes("proc.name < z");
    no("proc.name < nginw");
    yes("proc.name <= nginx");
}

#[test]
fn string_operators() {
    yes("fd.name contains /etc");
    no("fd.name contains /usr");
    yes("fd.name icontains /ETC/Pass");
    yes("fd.name startswith /etc/");
    no("fd.name startswith etc");
    yes("fd.name endswith passwd");
    yes("fd.name glob /etc/*");
    yes("fd.name glob '/e?c/[op]asswd'");
    no("fd.name glob '/e?c/[!p]asswd'");
    no("fd.name glob /etc");
    yes("fd.name iglob /ETC/P*");
    no("fd.name glob /ETC/P*");
    yes("evt.buffer bcontains 2f62696e");
    no("evt.buffer bcontains 2f62696f");
    yes("evt.buffer bstartswith 002F");
    no("evt.buffer bstartswith 2f");
}

#[test]
fn regex_is_anchored() {
    yes("proc.name regex 'ng.*'");
    yes("proc.name regex 'n[a-z]+x'");
    no("proc.name regex 'gin'");
    no("proc.name regex 'ng'");
    let (off, msg) = cerr("proc.name regex '('");
    assert_eq!(off, 16);
    assert!(msg.starts_with("invalid regex pattern:"), "{msg}");
    assert!(!msg.contains('\n'));
}

#[test]
fn in_intersects_pmatch() {
    yes("proc.name in (bash, nginx)");
    no("proc.name in (bash, sh)");
    no("proc.name in ()");
    yes("proc.pid in (1, 42, 0x64)");
    no("proc.pid in (1, 2)");
    let many: Vec<String> = (0..50).map(|i| format!("p{i}")).collect();
    yes(&format!("proc.name in ({}, nginx)", many.join(", ")));
    no(&format!("proc.name in ({})", many.join(", ")));
    yes("fd.name pmatch (/etc)");
    yes("fd.name pmatch (/usr, /etc/)");
    yes("fd.name pmatch (/etc/passwd)");
    yes("fd.name pmatch (/)");
    no("fd.name pmatch (/et)");
    no("fd.name pmatch (/etc/passwd/x)");
}

#[test]
fn multi_valued_fields() {
    // Any value: =, contains...
    yes("proc.aname = sshd");
    yes("proc.aname != sshd");
    yes("proc.aname startswith sys");
    // `intersects`: any value in the set; `in`: every value in the set.
    yes("proc.aname intersects (sshd, x)");
    no("proc.aname in (sshd, x)");
    yes("proc.aname in (sshd, bash, systemd, x)");
    yes("proc.aname[1] = sshd");
    no("proc.aname[1] = bash");
    no("proc.aname[9] exists");
    yes("proc.args intersects (ls)");
}

#[test]
fn modifiers() {
    yes("fd.name startswith oneof (/usr, /etc)");
    yes("fd.name startswith anyof (/usr, /etc)");
    no("fd.name startswith allof (/usr, /etc)");
    yes("fd.name contains allof (etc, pass)");
    no("fd.name = oneof (a, b)");
}

#[test]
fn ip_and_networks() {
    yes("fd.ip = 127.0.0.1");
    no("fd.ip = 127.0.0.2");
    yes("fd.ip = 127.0.0.0/8");
    yes("fd.net = 127.0.0.0/8");
    yes("fd.net != 10.0.0.0/8");
    yes("fd.net in (10.0.0.0/8, 127.0.0.0/24)");
    yes("fd.net = 127.0.0.1");
    let mut e = ev();
    e.ip = Some("fe80::1".parse().unwrap());
    assert!(m("fd.ip = fe80::1", &e));
    assert!(m("fd.ip = 'fe80:0::1'", &e));
    assert!(m("fd.net = fe80::/10", &e));
    assert!(!m("fd.net = fe80::/128", &e));
    assert!(!m("fd.ip = 127.0.0.1", &e));
    e.ip = Some("::ffff:127.0.0.1".parse().unwrap());
    assert!(m("fd.ip = 127.0.0.1", &e));
    assert!(m("fd.net = 127.0.0.0/8", &e));
    assert_eq!(
        cerr("fd.ip = 1.2.3"),
        (8, "unrecognized IP address 1.2.3".into())
    );
    assert_eq!(
        cerr("fd.net = 1.2.3.4/33"),
        (9, "unrecognized IP network 1.2.3.4/33".into())
    );
}

#[test]
fn transformers() {
    yes("toupper(proc.name) = NGINX");
    yes("tolower(toupper(proc.name)) = nginx");
    yes("basename(fd.name) = passwd");
    yes("len(proc.name) = 5");
    yes("len(proc.args) = 2");
    yes("len(proc.aname) = 3");
    yes("tolower(proc.name) in (NGINX, nginx)");
    yes("proc.name = tolower(proc.name)");
    let mut e = ev();
    e.name = Some("aGVsbG8=");
    assert!(m("b64(proc.name) = hello", &e));
    e.name = Some("!!");
    assert!(!m("b64(proc.name) exists", &e));
    let (off, msg) = cerr("proc.name = x or toupper(proc.pid) = 1");
    assert_eq!(off, 17);
    assert!(
        msg.contains("transformer 'toupper' needs a string value"),
        "{msg}"
    );
}

#[test]
fn val_compares_fields() {
    no("proc.name = val(proc.pname)");
    yes("proc.name != val(proc.pname)");
    yes("proc.aname = val(proc.pname)");
    yes("proc.name > val(proc.pname)");
    yes("proc.pid > val(evt.num)");
    yes("proc.pname in val(proc.aname)");
    no("proc.name in val(proc.aname)");
    let mut e = ev();
    e.pname = None;
    assert!(!m("proc.name != val(proc.pname)", &e));
    assert_eq!(
        cerr("proc.name regex val(proc.pname)"),
        (
            16,
            "operator 'regex' doesn't support right-hand side fields".into()
        )
    );
}

#[test]
fn field_arguments_and_prefix_resolution() {
    yes("evt.arg.fd = 3");
    yes("evt.arg[fd] = 3");
    yes("evt.arg[\"fd\"] = 3");
    yes("evt.arg[0] = first");
    no("evt.arg.nope exists");
    assert_eq!(
        cerr("proc.nope = 1"),
        (0, "unknown field 'proc.nope'".into())
    );
    assert_eq!(cerr("a and evt.arg = 1").0, 0);
    assert!(cerr("proc.name=x and evt.arg = 1")
        .1
        .contains("an argument is required"));
}

#[test]
fn literal_errors_carry_the_literal_position() {
    assert_eq!(
        cerr("proc.pid = abc"),
        (11, "abc is not a valid number".into())
    );
    assert_eq!(
        cerr("evt.num = -1").1,
        "-1 is out of range for field 'evt.num' (0..=18446744073709551615)"
    );
    assert_eq!(cerr("fd.port in (1, 70000)").0, 15);
    assert_eq!(
        cerr("evt.is_io = 1"),
        (12, "unrecognized boolean value 1".into())
    );
    assert_eq!(
        cerr("evt.num contains 1"),
        (
            8,
            "operator 'contains' is not supported for numeric field 'evt.num'".into()
        )
    );
    assert_eq!(cerr("evt.buffer bcontains xyz").0, 21);
    let src = "proc.name = x and evt.num = abc";
    let e = Filter::compile(src, &Toy).unwrap_err();
    assert_eq!(
        e.display_with_caret(src),
        "filter error at column 29: abc is not a valid number"
    );
    assert_eq!(
        e.snippet(src).lines().nth(1),
        Some("                            ^")
    );
}

struct Macros(Vec<(&'static str, Expr)>, Vec<String>);

impl Resolver for Macros {
    fn macro_expr(&self, name: &str) -> Option<&Expr> {
        self.0.iter().find(|m| m.0 == name).map(|m| &m.1)
    }
    fn list(&self, name: &str) -> Option<&[String]> {
        (name == "shells").then_some(&self.1[..])
    }
}

#[test]
fn macros_and_lists_through_a_resolver() {
    let r = Macros(
        vec![
            ("is_nginx", crate::parse("proc.name = nginx").unwrap()),
            ("loop", crate::parse("loop").unwrap()),
            ("bad", crate::parse("proc.pid = x").unwrap()),
        ],
        vec!["bash".into(), "zsh".into()],
    );
    let f = Filter::compile_with("is_nginx and proc.pname in shells", &Toy, &r).unwrap();
    assert!(f.matches(&ev()));
    assert!(!Filter::compile_with("not is_nginx", &Toy, &r)
        .unwrap()
        .matches(&ev()));
    assert_eq!(cerr("x and is_nginx"), (0, "undefined macro 'x'".into()));
    let e = Filter::compile_with("proc.name in nolist", &Toy, &r).unwrap_err();
    assert_eq!((e.offset(), e.message()), (13, "undefined list 'nolist'"));
    assert!(Filter::compile_with("loop", &Toy, &r).is_err());
    let e = Filter::compile_with("proc.name=a or bad", &Toy, &r).unwrap_err();
    assert_eq!(e.offset(), 15);
    assert_eq!(e.message(), "in macro 'bad': x is not a valid number");
}

#[test]
fn scratch_reuse_and_explicit_scratch() {
    let f = Filter::compile(
        "tolower(proc.name) = nginx and proc.name != val(proc.pname)",
        &Toy,
    )
    .unwrap();
    let mut s = f.new_scratch();
    let mut e = ev();
    for _ in 0..3 {
        assert!(f.matches_with(&e, &mut s));
        assert!(f.matches(&e));
    }
    e.name = Some("bash");
    assert!(!f.matches_with(&e, &mut s));
}

#[test]
fn glob_edge_cases() {
    use super::glob_match;
    assert!(glob_match(b"*", b"", false));
    assert!(glob_match(b"a*b*c", b"aXbYbZc", false));
    assert!(!glob_match(b"a*b*c", b"aXbYbZ", false));
    assert!(glob_match(b"\\*x", b"*x", false));
    assert!(!glob_match(b"\\*x", b"ax", false));
    assert!(glob_match(b"[a-c]z", b"bz", false));
    assert!(glob_match(b"[]]", b"]", false));
    assert!(glob_match(b"[", b"[", false));
    assert!(glob_match(b"[A-C]", b"b", true));
}

/// `Ev` with the borrowed-bytes fast path for its single-string fields.
struct Borrowing(Ev);

impl Extract for Borrowing {
    fn extract(&self, f: &FieldRef, out: &mut Values) -> bool {
        self.0.extract(f, out)
    }

    fn borrow_bytes(&self, f: &FieldRef) -> crate::Fast<&[u8]> {
        let v = match FIELDS[f.id as usize].0 {
            "proc.name" => self.0.name,
            "proc.pname" => self.0.pname,
            "fd.name" => self.0.fd,
            _ => return crate::Fast::Unsupported,
        };
        v.map_or(crate::Fast::Missing, |s| crate::Fast::Done(s.as_bytes()))
    }
}

#[test]
fn borrowed_strings_test_like_extracted_ones() {
    let exprs = [
        "proc.name=nginx",
        "proc.name!=nginx",
        "proc.name=bash",
        "proc.name exists",
        "not proc.name exists",
        "proc.name < nginy",
        "proc.name >= nginx",
        "proc.name > 5",
        "proc.name = 5",
        "proc.name = 127.0.0.1",
        "proc.name contains gin",
        "proc.name icontains GIN",
        "proc.name startswith ng",
        "proc.name endswith nx",
        "proc.name glob n*x",
        "proc.name iglob N*X",
        "proc.name regex '^ng.n'",
        "proc.name in (bash, nginx)",
        "proc.name in (bash, sh)",
        "proc.name intersects (nginx)",
        "proc.name pmatch (/etc)",
        "fd.name pmatch (/etc, /tmp)",
        "fd.name in (1, 2)",
        "proc.name = proc.pname",
        "proc.name != proc.pname",
        "tolower(proc.name) = nginx",
        "fd.name bcontains 706173",
        "fd.name startswith /etc and proc.pname = bash",
    ];
    let mut missing = ev();
    missing.name = None;
    missing.fd = None;
    for e in [ev(), missing] {
        for src in exprs {
            let f = Filter::compile(src, &Toy).unwrap_or_else(|err| panic!("{src}: {err:?}"));
            assert_eq!(
                f.matches(&Borrowing(e.clone())),
                f.matches(&e),
                "{src} on {:?}",
                e.name
            );
        }
    }
    assert!(m("proc.name=nginx", &ev()));
}
