//! Parser tests: precedence, spans, literals, field arguments and error offsets.

use super::*;

fn p(s: &str) -> String {
    parse(s).unwrap_or_else(|e| panic!("{s}: {e}")).to_string()
}

fn err(s: &str) -> (usize, String) {
    let e = parse(s).expect_err(s);
    (e.offset(), e.message().to_string())
}

#[test]
fn precedence_not_and_or() {
    assert_eq!(p("a and b or c"), "((a and b) or c)");
    assert_eq!(p("a or b and c"), "(a or (b and c))");
    assert_eq!(p("not a and b"), "(not a and b)");
    assert_eq!(p("a and b and c"), "(a and b and c)");
    assert_eq!(p("a or b or c and d"), "(a or b or (c and d))");
    assert_eq!(p("(a or b) and c"), "((a or b) and c)");
}

#[test]
fn repeated_not_toggles_and_not_paren() {
    assert_eq!(p("not not a"), "a");
    assert_eq!(p("not not not a"), "not a");
    assert_eq!(p("not(a or b)"), "not (a or b)");
    assert_eq!(p("not (a)"), "not a");
    assert_eq!(p("a and not(b)"), "(a and not b)");
    // `notb` is an identifier.
    assert_eq!(p("a and notb"), "(a and notb)");
}

#[test]
fn and_or_followed_by_paren() {
    assert_eq!(p("a and(b or c)"), "(a and (b or c))");
    assert_eq!(p("a or(b)"), "(a or b)");
}

#[test]
fn checks_and_operators_print_canonically() {
    assert_eq!(p("proc.name=cat"), "proc.name = cat");
    assert_eq!(p("proc.name==cat"), "proc.name == cat");
    assert_eq!(p("proc.name!=cat"), "proc.name != cat");
    assert_eq!(p("evt.num<=10"), "evt.num <= 10");
    assert_eq!(p("evt.num>-1"), "evt.num > -1");
    assert_eq!(p("fd.name exists"), "fd.name exists");
    assert_eq!(p("fd.name contains /etc"), "fd.name contains /etc");
    assert_eq!(
        p("fd.name   startswith\t'/e tc'"),
        "fd.name startswith \"/e tc\""
    );
    assert_eq!(
        p("proc.name in (a, \"b c\", 'd')"),
        "proc.name in (a, \"b c\", d)"
    );
    assert_eq!(p("proc.name in()"), "proc.name in ()");
    assert_eq!(
        p("proc.name intersects(a,b)"),
        "proc.name intersects (a, b)"
    );
    assert_eq!(
        p("fd.name pmatch (/etc, /usr)"),
        "fd.name pmatch (/etc, /usr)"
    );
    assert_eq!(p("proc.name in my_list"), "proc.name in my_list");
    assert_eq!(p("proc.name regex 'c.t'"), "proc.name regex c.t");
    assert_eq!(
        p("evt.buffer bcontains 2f62696e"),
        "evt.buffer bcontains 2f62696e"
    );
    assert_eq!(p("evt.num=0x1F"), "evt.num = 0x1F");
}

#[test]
fn modifiers() {
    assert_eq!(
        p("proc.name startswith oneof (a, b)"),
        "proc.name startswith oneof (a, b)"
    );
    assert_eq!(
        p("proc.name contains allof(a,b)"),
        "proc.name contains allof (a, b)"
    );
    // Not followed by a blank or '(': a plain value.
    assert_eq!(p("proc.name = oneofx"), "proc.name = oneofx");
}

#[test]
fn field_arguments() {
    assert_eq!(p("proc.aname[2]=sshd"), "proc.aname[2] = sshd");
    assert_eq!(p("evt.arg[name]=x"), "evt.arg[name] = x");
    assert_eq!(p("evt.arg[\"a b\"]=x"), "evt.arg[\"a b\"] = x");
    assert_eq!(p("evt.arg.fd=3"), "evt.arg.fd = 3");
    let e = parse("proc.aname[2]=sshd").unwrap();
    let ExprKind::Check(c) = e.kind else { panic!() };
    let Operand::Field(f) = &c.lhs else { panic!() };
    assert_eq!(f.name, "proc.aname");
    assert_eq!(f.arg.as_ref().unwrap().text, "2");
    assert_eq!(f.span, Span::new(0, 13));
    assert_eq!(c.op_span, Span::new(13, 14));
}

#[test]
fn transformers_and_val() {
    assert_eq!(p("tolower(proc.name)=cat"), "tolower(proc.name) = cat");
    assert_eq!(
        p("toupper( b64(evt.arg[0]) ) contains X"),
        "toupper(b64(evt.arg[0])) contains X"
    );
    assert_eq!(p("len(proc.args) > 3"), "len(proc.args) > 3");
    assert_eq!(
        p("proc.name = val(proc.pname)"),
        "proc.name = val(proc.pname)"
    );
    assert_eq!(
        p("proc.name in basename(proc.exe)"),
        "proc.name in basename(proc.exe)"
    );
    assert_eq!(
        p("proc.name=tolower(proc.pname)"),
        "proc.name = tolower(proc.pname)"
    );
}

#[test]
fn escapes_in_quoted_strings() {
    let e = parse(r#"proc.name = "a\"b\tc\\""#).unwrap();
    let ExprKind::Check(c) = e.kind else { panic!() };
    let Rhs::Value(v) = &c.rhs else { panic!() };
    assert_eq!(v.text, "a\"b\tc\\");
    assert_eq!(v.span, Span::new(12, 23));
    assert_eq!(
        err(r#"proc.name = 'a\"b'"#),
        (14, "invalid \\\" escape in '-quoted string".to_string())
    );
}

#[test]
fn spans_cover_nodes() {
    let e = parse("a and  b").unwrap();
    assert_eq!(e.span, Span::new(0, 8));
    let ExprKind::And(c) = &e.kind else { panic!() };
    assert_eq!(c[1].span, Span::new(7, 8));
    let e = parse("not proc.name=x").unwrap();
    assert_eq!(e.span, Span::new(0, 15));
}

#[test]
fn error_messages_and_offsets() {
    assert_eq!(err(""), (0, "filter input string is empty".into()));
    assert_eq!(
        err("a not b"),
        (
            2,
            "unexpected token after 'a', expecting 'or', 'and'".into()
        )
    );
    assert_eq!(
        err("a andb"),
        (5, "expected blank or '(' after 'and'".into())
    );
    assert_eq!(
        err("a and b or"),
        (10, "expected blank or '(' after 'or'".into())
    );
    assert_eq!(err("(a and b"), (8, "expected a ')' token".into()));
    assert_eq!(
        err("a and ="),
        (
            6,
            "expected a '(' token, a field check, or an identifier".into()
        )
    );
    let (off, msg) = err("proc.name foo");
    assert_eq!(off, 10);
    assert!(
        msg.starts_with("expected a valid check operator: one of 'exists', '<=', '<'"),
        "{msg}"
    );
    let (off, msg) = err("proc.name = ");
    assert_eq!(off, 12);
    assert!(
        msg.starts_with(
            "expected a string value or a field with a valid transformer: 'val', 'tolower'"
        ),
        "{msg}"
    );
    let (off, msg) = err("proc.name in ");
    assert_eq!(off, 13);
    assert!(msg.starts_with("expected a list, an identifier"), "{msg}");
    assert_eq!(
        err("proc.name in (a,b"),
        (17, "expected a ')' token".into())
    );
    assert_eq!(
        err("proc.name in (a,)"),
        (16, "expected a string value".into())
    );
    assert_eq!(
        err("proc.aname[]=x"),
        (
            11,
            "expected a valid field argument: a quoted string or a bare string".into()
        )
    );
    assert_eq!(err("proc.aname[1 =x"), (12, "expected a ']' token".into()));
    assert_eq!(
        err("tolower(proc.name=x"),
        (17, "expected a ')' token closing the transformer".into())
    );
    assert_eq!(
        err("proc.name = val(x)"),
        (16, "expected a field within 'val' transformer".into())
    );
    assert_eq!(
        err("proc.name=a b"),
        (
            12,
            "unexpected token after 'a', expecting 'or', 'and'".into()
        )
    );
}

#[test]
fn word_operators_need_a_blank() {
    let (off, msg) = err("proc.name contains(x)");
    assert_eq!(off, 10);
    assert!(msg.starts_with("expected a valid check operator"));
    assert_eq!(p("proc.name contains\nx"), "proc.name contains x");
}

#[test]
fn depth_limit() {
    let deep = format!("{}a{}", "(".repeat(50), ")".repeat(50));
    let e = parse(&deep).unwrap_err();
    assert_eq!(e.message(), "exceeded max depth limit of 100");
    assert_eq!(parse_with_max_depth(&deep, 1000).unwrap().to_string(), "a");
    let ok = format!("{}a{}", "(".repeat(10), ")".repeat(10));
    assert_eq!(p(&ok), "a");
    // Very deep input must fail cleanly, not overflow the stack.
    let huge = "not ".repeat(10_000) + &"(".repeat(100_000);
    assert!(parse(&huge).is_err());
}

#[test]
fn numbers_after_numeric_operators() {
    assert_eq!(p("evt.num > 1.5e+3"), "evt.num > 1.5e+3");
    // Strings are accepted too (sysdig 0.29 compares them lexically).
    assert_eq!(p("proc.name < cat"), "proc.name < cat");
    assert_eq!(p("proc.name < 1abc"), "proc.name < 1abc");
}

#[test]
fn macro_substitution() {
    let mut e = parse("a and not b").unwrap();
    let mut names = Vec::new();
    e.for_each_macro(&mut |n, _| names.push(n.to_string()));
    assert_eq!(names, ["a", "b"]);
    e.substitute_macros(&mut |n, _| {
        (n == "b").then(|| parse("proc.name=x or proc.name=y").unwrap())
    });
    assert_eq!(
        e.to_string(),
        "(a and not (proc.name = x or proc.name = y))"
    );
}

#[test]
fn utf8_values() {
    assert_eq!(p("proc.name = héllo"), "proc.name = héllo");
    assert_eq!(p("proc.name = 'é ü'"), "proc.name = \"é ü\"");
}
