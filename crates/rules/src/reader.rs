//! Reading rules files: YAML items become list, macro and rule definitions,
//! with redefinition, legacy `append: true` and `override:` applied in file
//! order (Falco's reader and collector).

use std::collections::{BTreeSet, HashMap};

use crate::diag::{ErrorCode, LoadResult, Location, WarningCode};
use crate::priority::Priority;
use crate::source::{is_known_field, SourceCatalogs};
use crate::yaml::{self, Kind, Node, Pos};

/// The engine version this crate implements (Falco 0.44's engine).
pub const ENGINE_VERSION: (u64, u64, u64) = (0, 63, 0);

/// Event sources that are known even when no catalogue is given for them:
/// their rules are loaded and kept, but not compiled.
pub(crate) const KNOWN_SOURCES: [&str; 2] = ["syscall", "k8s_audit"];

/// A load failure: stops reading (Falco aborts a load at its first error).
pub(crate) struct Abort;

/// A list definition.
#[derive(Debug, Clone)]
pub(crate) struct ListInfo {
    pub(crate) name: String,
    pub(crate) items: Vec<String>,
    pub(crate) index: usize,
    pub(crate) visibility: usize,
    pub(crate) ctx: Vec<Location>,
}

/// A macro definition.
#[derive(Debug, Clone)]
pub(crate) struct MacroInfo {
    pub(crate) name: String,
    pub(crate) cond: String,
    pub(crate) index: usize,
    pub(crate) visibility: usize,
    pub(crate) ctx: Vec<Location>,
    pub(crate) cond_ctx: Vec<Location>,
}

/// An exception value: a string or a (nested) list of them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ExValue {
    Item(String),
    List(Vec<ExValue>),
}

/// `fields` or `comps` of an exception: one string or a list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ExStrings {
    One(String),
    Many(Vec<String>),
}

/// An exception of a rule.
#[derive(Debug, Clone)]
pub(crate) struct ExceptionInfo {
    pub(crate) name: String,
    pub(crate) fields: Option<ExStrings>,
    pub(crate) comps: Option<ExStrings>,
    pub(crate) values: Vec<ExValue>,
    pub(crate) ctx: Vec<Location>,
}

/// A rule definition.
#[derive(Debug, Clone)]
pub(crate) struct RuleInfo {
    pub(crate) name: String,
    pub(crate) cond: String,
    pub(crate) output: String,
    pub(crate) desc: String,
    pub(crate) priority: Priority,
    pub(crate) source: String,
    pub(crate) enabled: bool,
    pub(crate) tags: BTreeSet<String>,
    pub(crate) exceptions: Vec<ExceptionInfo>,
    pub(crate) warn_evttypes: bool,
    pub(crate) skip_if_unknown_filter: bool,
    pub(crate) capture: bool,
    pub(crate) capture_duration: u64,
    pub(crate) unknown_source: bool,
    pub(crate) ctx: Vec<Location>,
    pub(crate) cond_ctx: Vec<Location>,
    pub(crate) output_ctx: Vec<Location>,
}

/// Items in definition order, found by name.
#[derive(Debug)]
pub(crate) struct Indexed<T> {
    pub(crate) items: Vec<T>,
    by_name: HashMap<String, usize>,
}

impl<T> Default for Indexed<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            by_name: HashMap::new(),
        }
    }
}

impl<T> Indexed<T> {
    pub(crate) fn get(&self, name: &str) -> Option<&T> {
        self.by_name.get(name).and_then(|&i| self.items.get(i))
    }
    fn get_mut(&mut self, name: &str) -> Option<&mut T> {
        let i = *self.by_name.get(name)?;
        self.items.get_mut(i)
    }
    /// Inserts or replaces; returns the index.
    fn insert(&mut self, name: &str, f: impl FnOnce(usize) -> T) -> usize {
        if let Some(&i) = self.by_name.get(name) {
            self.items[i] = f(i);
            i
        } else {
            let i = self.items.len();
            self.items.push(f(i));
            self.by_name.insert(name.to_string(), i);
            i
        }
    }
}

/// Everything read from the rules files.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    pub(crate) lists: Indexed<ListInfo>,
    pub(crate) macros: Indexed<MacroInfo>,
    pub(crate) rules: Indexed<RuleInfo>,
}

/// Keys a rule may have.
const RULE_KEYS: [&str; 15] = [
    "rule",
    "condition",
    "output",
    "desc",
    "priority",
    "source",
    "enabled",
    "tags",
    "exceptions",
    "warn_evttypes",
    "skip-if-unknown-filter",
    "capture",
    "capture_duration",
    "append",
    "override",
];
/// Rule keys `override` may append to.
const RULE_APPENDABLE: [&str; 5] = ["condition", "output", "desc", "tags", "exceptions"];
/// Rule keys `override` may replace.
const RULE_REPLACEABLE: [&str; 11] = [
    "condition",
    "output",
    "desc",
    "priority",
    "tags",
    "exceptions",
    "enabled",
    "warn_evttypes",
    "skip-if-unknown-filter",
    "capture",
    "capture_duration",
];

/// Reading state for one file.
struct Reader<'a> {
    file: &'a str,
    res: &'a mut LoadResult,
    col: &'a mut Collector,
    sources: &'a SourceCatalogs,
}

fn loc(item_type: &'static str, item_name: &str, file: &str, pos: Pos) -> Location {
    Location {
        item_type,
        item_name: item_name.to_string(),
        file: file.to_string(),
        pos,
    }
}

fn with(ctx: &[Location], l: Location) -> Vec<Location> {
    let mut v = ctx.to_vec();
    v.push(l);
    v
}

/// Whether `s` is a valid macro name: `[a-zA-Z]+[a-zA-Z0-9_]*`.
fn valid_macro_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic())
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// Whether `s` is a valid list name: `[^()"'[:space:]=,]+`.
fn valid_list_name(s: &str) -> bool {
    !s.is_empty()
        && !s
            .chars()
            .any(|c| matches!(c, '(' | ')' | '"' | '\'' | '=' | ',') || c.is_whitespace())
}

/// Parses `x.y.z` (or an integer `N`, meaning `0.N.0` when `int_ok`).
fn parse_version(s: &str, int_ok: bool) -> Option<(u64, u64, u64)> {
    if int_ok {
        if let Ok(n) = s.parse::<u64>() {
            return Some((0, n, 0));
        }
    }
    let core = s.split(['-', '+']).next()?;
    let mut it = core.split('.').map(|p| p.parse::<u64>().ok());
    let v = (it.next()??, it.next()??, it.next()??);
    it.next().is_none().then_some(v)
}

fn show_version(v: (u64, u64, u64)) -> String {
    format!("{}.{}.{}", v.0, v.1, v.2)
}

/// The comparison operators exceptions accept (`comps`).
fn is_operator(s: &str) -> bool {
    matches!(
        s,
        "=" | "=="
            | "!="
            | "<"
            | "<="
            | ">"
            | ">="
            | "contains"
            | "icontains"
            | "bcontains"
            | "startswith"
            | "bstartswith"
            | "endswith"
            | "glob"
            | "iglob"
            | "regex"
            | "in"
            | "intersects"
            | "pmatch"
            | "exists"
    )
}

fn is_list_operator(s: &str) -> bool {
    matches!(s, "in" | "intersects" | "pmatch")
}

/// `op modifier` (`startswith oneof`).
fn is_modifier_operator(s: &str) -> bool {
    let mut w = s.split_whitespace();
    matches!(
        (w.next(), w.next(), w.next()),
        (Some(op), Some("oneof" | "anyof" | "allof"), None) if is_operator(op) && !is_list_operator(op)
    )
}

/// Whether an exception comparison takes a list value (Falco's
/// `is_operator_for_list`): `in`, `intersects`, `pmatch`, and modifier forms.
pub(crate) fn comp_takes_list(s: &str) -> bool {
    is_list_operator(s) || is_modifier_operator(s)
}

impl Reader<'_> {
    fn err(&mut self, code: ErrorCode, msg: impl Into<String>, ctx: &[Location]) -> Abort {
        self.res.error(code, msg, ctx);
        Abort
    }

    fn validate(&mut self, msg: impl Into<String>, ctx: &[Location]) -> Abort {
        self.err(ErrorCode::YamlValidate, msg, ctx)
    }

    fn string(&mut self, n: &Node, key: &str, ctx: &[Location]) -> Result<String, Abort> {
        match &n.kind {
            Kind::Scalar(s) => Ok(s.clone()),
            Kind::Null => Ok(String::new()),
            _ => Err(self.validate(format!("Value for key '{key}' must be a string"), ctx)),
        }
    }

    fn bool(&mut self, n: &Node, key: &str, ctx: &[Location]) -> Result<bool, Abort> {
        n.as_bool()
            .ok_or_else(|| self.validate(format!("Value for key '{key}' must be a boolean"), ctx))
    }

    fn strings(&mut self, n: &Node, key: &str, ctx: &[Location]) -> Result<Vec<String>, Abort> {
        match &n.kind {
            Kind::Null => Ok(Vec::new()),
            Kind::Seq(items) => items
                .iter()
                .map(|i| match &i.kind {
                    Kind::Scalar(s) => Ok(s.clone()),
                    _ => Err(self.validate(
                        format!("Value for key '{key}' must be a list of strings"),
                        ctx,
                    )),
                })
                .collect(),
            _ => Err(self.validate(format!("Value for key '{key}' is not a sequence"), ctx)),
        }
    }

    fn required<'n>(
        &mut self,
        item: &'n Node,
        key: &str,
        ctx: &[Location],
    ) -> Result<&'n Node, Abort> {
        item.get(key)
            .ok_or_else(|| self.validate(format!("Item has no mapping for key '{key}'"), ctx))
    }

    fn unknown_keys(&mut self, item: &Node, allowed: &[&str], ctx: &[Location]) {
        if let Kind::Map(entries) = &item.kind {
            for (k, _) in entries {
                let name = k.as_str().unwrap_or("");
                if !allowed.contains(&name) {
                    self.res.warn(
                        WarningCode::UnknownKey,
                        format!("Unknown key '{name}'. The key will be ignored."),
                        ctx,
                    );
                }
            }
        }
    }

    fn file(&mut self, content: &str) -> Result<(), Abort> {
        let top = vec![loc(
            "rules content",
            "",
            self.file,
            Pos {
                line: 1,
                col: 1,
                offset: 0,
            },
        )];
        let docs = match yaml::parse(content) {
            Ok(d) => d,
            Err(e) => {
                let l = vec![loc("rules content", "", self.file, e.pos)];
                return Err(self.err(ErrorCode::YamlParse, e.msg, &l));
            }
        };
        for doc in &docs {
            let items = match &doc.kind {
                Kind::Null => continue,
                Kind::Seq(items) => items,
                _ => return Err(self.validate("Rules content is not yaml array of objects", &top)),
            };
            for item in items {
                let ctx = with(&top, loc("rules content item", "", self.file, item.pos));
                match &item.kind {
                    Kind::Null => {}
                    Kind::Map(_) => self.item(item, &ctx)?,
                    _ => return Err(self.validate(
                        "Unexpected element type. Each element should be a yaml associative array.",
                        &ctx,
                    )),
                }
            }
        }
        Ok(())
    }

    fn item(&mut self, item: &Node, ctx: &[Location]) -> Result<(), Abort> {
        if let Some(v) = item.get("required_engine_version") {
            let ctx = with(ctx, loc("required_engine_version", "", self.file, item.pos));
            let s = self.string(v, "required_engine_version", &ctx)?;
            let Some(req) = parse_version(&s, true) else {
                return Err(self.validate(
                    format!("Unable to parse engine version '{s}' as a semver string. Expected \"x.y.z\" semver format."),
                    &ctx,
                ));
            };
            if req > ENGINE_VERSION {
                return Err(self.err(
                    ErrorCode::Validate,
                    format!(
                        "Rules require engine version {}, but engine version is {}",
                        show_version(req),
                        show_version(ENGINE_VERSION)
                    ),
                    &ctx,
                ));
            }
            return Ok(());
        }
        if let Some(v) = item.get("required_plugin_versions") {
            let ctx = with(
                ctx,
                loc("required plugin versions", "", self.file, item.pos),
            );
            return self.plugin_versions(v, &ctx);
        }
        if let Some(v) = item.get("list") {
            let name = self.string(v, "list", ctx)?;
            let ctx = with(ctx, loc("list", &name, self.file, item.pos));
            return self.list(item, &name, &ctx);
        }
        if let Some(v) = item.get("macro") {
            let name = self.string(v, "macro", ctx)?;
            let ctx = with(ctx, loc("macro", &name, self.file, item.pos));
            return self.macro_(item, &name, &ctx);
        }
        if let Some(v) = item.get("rule") {
            let name = self.string(v, "rule", ctx)?;
            let ctx = with(ctx, loc("rule", &name, self.file, item.pos));
            return self.rule(item, &name, &ctx);
        }
        self.res
            .warn(WarningCode::UnknownItem, "Unknown top level item", ctx);
        Ok(())
    }

    /// `required_plugin_versions`: the `container` plugin's fields are
    /// provided natively, so it is always satisfied, and so are the plugins
    /// a given source stands for ([`SourceCatalogs::with`]); other plugins
    /// are not loaded, so they fail the load as in Falco.
    fn plugin_versions(&mut self, v: &Node, ctx: &[Location]) -> Result<(), Abort> {
        let Kind::Seq(reqs) = &v.kind else {
            return Err(self.validate("Value of required_plugin_versions must be a sequence", ctx));
        };
        for r in reqs {
            let name = match r.get("name") {
                Some(n) => self.string(n, "name", ctx)?,
                None => return Err(self.validate("Item has no mapping for key 'name'", ctx)),
            };
            let Some(ver) = r.get("version") else {
                return Err(self.validate("Item has no mapping for key 'version'", ctx));
            };
            let ver = self.string(ver, "version", ctx)?;
            if parse_version(&ver, false).is_none() {
                return Err(self.validate(format!("Plugin version string {ver} not valid"), ctx));
            }
            let mut names = vec![name.clone()];
            if let Some(Kind::Seq(alts)) = r.get("alternatives").map(|a| &a.kind) {
                for a in alts {
                    if let Some(n) = a.get("name").and_then(Node::as_str) {
                        names.push(n.to_string());
                    }
                }
            }
            if !names
                .iter()
                .any(|n| n == "container" || self.sources.provides_plugin(n))
            {
                return Err(self.err(
                    ErrorCode::Validate,
                    format!("Plugin '{name}' required by this rules file is not loaded (only the container plugin's fields are provided natively)"),
                    ctx,
                ));
            }
        }
        Ok(())
    }

    /// The `override:` map: key -> append (`true`) or replace (`false`).
    fn overrides(
        &mut self,
        item: &Node,
        appendable: &[&str],
        replaceable: &[&str],
        ctx: &[Location],
    ) -> Result<Option<Vec<(String, bool)>>, Abort> {
        let Some(ov) = item.get("override") else {
            return Ok(None);
        };
        let octx = with(ctx, loc("overrides", "", self.file, ov.pos));
        let Kind::Map(entries) = &ov.kind else {
            return Err(self.validate("Value for key 'override' must be a map", &octx));
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let key = k.as_str().unwrap_or("").to_string();
            let op = v.as_str().unwrap_or("");
            let append = match op {
                "append" => true,
                "replace" => false,
                _ => {
                    return Err(self.validate(
                        format!("Invalid override operation for key '{key}': '{op}'. Allowed values are: append, replace"),
                        &octx,
                    ))
                }
            };
            if append && !appendable.contains(&key.as_str()) {
                return Err(self.validate(
                    format!("Key '{key}' cannot be appended to, use 'replace' instead"),
                    &octx,
                ));
            }
            if !append && !replaceable.contains(&key.as_str()) {
                return Err(self.validate(
                    format!("Key '{key}' cannot be replaced, use 'append' instead"),
                    &octx,
                ));
            }
            if item.get(&key).is_none() {
                let what = if append { "append" } else { "replace" };
                return Err(self.validate(
                    format!(
                        "An {what} override for '{key}' was specified but '{key}' is not defined"
                    ),
                    &octx,
                ));
            }
            out.push((key, append));
        }
        if let Kind::Map(entries) = &item.kind {
            for (k, _) in entries {
                let key = k.as_str().unwrap_or("");
                let is_name = matches!(key, "rule" | "macro" | "list" | "override");
                if !is_name && !out.iter().any(|(o, _)| o == key) {
                    return Err(self.validate(
                        format!("Unexpected key '{key}': no corresponding entry under 'override' is defined."),
                        &octx,
                    ));
                }
            }
        }
        Ok(Some(out))
    }

    /// Checks `append: true` against `override`; returns whether it is set.
    fn legacy_append(&mut self, item: &Node, ctx: &[Location]) -> Result<bool, Abort> {
        let append = match item.get("append") {
            Some(a) => self.bool(a, "append", ctx)?,
            None => false,
        };
        if append && item.get("override").is_some() {
            return Err(self.validate(
                "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.",
                ctx,
            ));
        }
        if append {
            self.res.warn(
                WarningCode::DeprecatedItem,
                "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.",
                ctx,
            );
        }
        Ok(append)
    }

    fn list(&mut self, item: &Node, name: &str, ctx: &[Location]) -> Result<(), Abort> {
        self.unknown_keys(item, &["list", "items", "append", "override"], ctx);
        if !valid_list_name(name) {
            self.res
                .warn(WarningCode::InvalidListName, "List has an invalid name. List names should match a regular expression: [^()\"'[:space:]=,]+", ctx);
        }
        let append = self.legacy_append(item, ctx)?;
        let ov = self.overrides(item, &["items"], &[], ctx)?;
        let items_node = self.required(item, "items", ctx)?;
        let items = self.strings(items_node, "items", ctx)?;
        let append = append || ov.is_some_and(|o| o.iter().any(|(_, a)| *a));
        if append {
            let Some(prev) = self.col.lists.get_mut(name) else {
                return Err(self.err(
                    ErrorCode::Validate,
                    "List has 'append' key or an append override but no list by that name already exists",
                    ctx,
                ));
            };
            prev.items.extend(items);
            return Ok(());
        }
        let visibility = self.col.lists.items.len();
        let ctx = ctx.to_vec();
        self.col.lists.insert(name, |index| ListInfo {
            name: name.to_string(),
            items,
            index,
            visibility,
            ctx,
        });
        Ok(())
    }

    fn macro_(&mut self, item: &Node, name: &str, ctx: &[Location]) -> Result<(), Abort> {
        self.unknown_keys(item, &["macro", "condition", "append", "override"], ctx);
        if !valid_macro_name(name) {
            self.res.warn(
                WarningCode::InvalidMacroName,
                "Macro has an invalid name. Macro names should match a regular expression: [a-zA-Z]+[a-zA-Z0-9_]*",
                ctx,
            );
        }
        let append = self.legacy_append(item, ctx)?;
        let ov = self.overrides(item, &["condition"], &[], ctx)?;
        let cond_node = self.required(item, "condition", ctx)?;
        let cond_ctx = with(ctx, loc("macro condition", "", self.file, cond_node.pos));
        let cond = self.string(cond_node, "condition", ctx)?;
        let append = append || ov.is_some_and(|o| o.iter().any(|(_, a)| *a));
        if append {
            let Some(prev) = self.col.macros.get_mut(name) else {
                return Err(self.err(
                    ErrorCode::Validate,
                    "Macro has 'append' key or an append override but no macro by that name already exists",
                    ctx,
                ));
            };
            prev.cond.push(' ');
            prev.cond.push_str(&cond);
            return Ok(());
        }
        let visibility = self.col.macros.items.len();
        let ctx = ctx.to_vec();
        self.col.macros.insert(name, |index| MacroInfo {
            name: name.to_string(),
            cond,
            index,
            visibility,
            ctx,
            cond_ctx,
        });
        Ok(())
    }

    fn exceptions(
        &mut self,
        n: &Node,
        source: &str,
        ctx: &[Location],
    ) -> Result<Vec<ExceptionInfo>, Abort> {
        let ectx = with(ctx, loc("exceptions", "", self.file, n.pos));
        let items = match &n.kind {
            Kind::Null => return Ok(Vec::new()),
            Kind::Seq(items) => items,
            _ => return Err(self.validate("Rule exceptions must be a sequence", &ectx)),
        };
        let mut out: Vec<ExceptionInfo> = Vec::new();
        for ex in items {
            let Some(name_node) = ex.get("name") else {
                return Err(self.validate("Item has no mapping for key 'name'", &ectx));
            };
            let name = self.string(name_node, "name", &ectx)?;
            let xctx = with(&ectx, loc("exception", &name, self.file, ex.pos));
            self.unknown_keys(ex, &["name", "fields", "comps", "values"], &xctx);
            let fields = match ex.get("fields") {
                None => None,
                Some(f) => Some(self.ex_strings(f, "fields", &xctx)?),
            };
            let comps = match ex.get("comps") {
                None => None,
                Some(c) => Some(self.ex_strings(c, "comps", &xctx)?),
            };
            let values = match ex.get("values") {
                None => Vec::new(),
                Some(v) => {
                    let vctx = with(&xctx, loc("exception values", "", self.file, v.pos));
                    match &v.kind {
                        Kind::Null => Vec::new(),
                        Kind::Seq(vals) => vals
                            .iter()
                            .map(|x| self.ex_value(x, &vctx))
                            .collect::<Result<_, _>>()?,
                        _ => {
                            return Err(
                                self.validate("Rule exception values must be a sequence", &vctx)
                            )
                        }
                    }
                }
            };
            if out.iter().any(|e| e.name == name) {
                self.res.warn(
                    WarningCode::ExceptionNameNotUnique,
                    format!("Multiple definitions of exception '{name}' in the same rule"),
                    &xctx,
                );
            }
            let info = ExceptionInfo {
                name,
                fields,
                comps,
                values,
                ctx: xctx,
            };
            out.push(info);
        }
        // Field and comparison checks, for exceptions that define fields.
        for ex in &mut out {
            let Some(fields) = ex.fields.clone() else {
                continue;
            };
            let ctx = ex.ctx.clone();
            match &fields {
                ExStrings::Many(fs) => {
                    let comps = match &ex.comps {
                        None => vec!["=".to_string(); fs.len()],
                        Some(ExStrings::Many(c)) => c.clone(),
                        Some(ExStrings::One(_)) => {
                            return Err(self.validate(
                                "Rule exception comps must be a list when fields is a list",
                                &ctx,
                            ))
                        }
                    };
                    if comps.len() != fs.len() {
                        return Err(
                            self.validate("Fields and comps lists must have equal length", &ctx)
                        );
                    }
                    for c in &comps {
                        if !is_operator(c) && !is_modifier_operator(c) {
                            return Err(self.validate(
                                format!("'{c}' is not a supported comparison operator"),
                                &ctx,
                            ));
                        }
                    }
                    ex.comps = Some(ExStrings::Many(comps));
                }
                ExStrings::One(_) => {
                    let comp = match &ex.comps {
                        None => "in".to_string(),
                        Some(ExStrings::One(c)) => c.clone(),
                        Some(ExStrings::Many(_)) => {
                            return Err(self.validate(
                                "Rule exception comps must be a string when fields is a string",
                                &ctx,
                            ))
                        }
                    };
                    if !comp_takes_list(&comp) {
                        return Err(self.validate(
                            format!("'{comp}' is not a supported comparison operator"),
                            &ctx,
                        ));
                    }
                    ex.comps = Some(ExStrings::One(comp));
                }
            }
            if let Some(catalog) = self.sources.get(source) {
                let names: Vec<&String> = match &fields {
                    ExStrings::One(f) => vec![f],
                    ExStrings::Many(fs) => fs.iter().collect(),
                };
                for f in names {
                    if !is_known_field(catalog, f) {
                        return Err(
                            self.validate(format!("'{f}' is not a supported filter field"), &ctx)
                        );
                    }
                }
            }
        }
        Ok(out)
    }

    fn ex_strings(&mut self, n: &Node, key: &str, ctx: &[Location]) -> Result<ExStrings, Abort> {
        match &n.kind {
            Kind::Scalar(s) => Ok(ExStrings::One(s.clone())),
            Kind::Seq(_) | Kind::Null => Ok(ExStrings::Many(self.strings(n, key, ctx)?)),
            Kind::Map(_) => Err(self.validate(
                format!("Rule exception {key} must be a string or a list"),
                ctx,
            )),
        }
    }

    fn ex_value(&mut self, n: &Node, ctx: &[Location]) -> Result<ExValue, Abort> {
        match &n.kind {
            Kind::Scalar(s) => Ok(ExValue::Item(s.clone())),
            Kind::Null => Ok(ExValue::Item(String::new())),
            Kind::Seq(items) => Ok(ExValue::List(
                items
                    .iter()
                    .map(|i| self.ex_value(i, ctx))
                    .collect::<Result<_, _>>()?,
            )),
            Kind::Map(_) => {
                Err(self.validate("Rule exception values must be strings or lists", ctx))
            }
        }
    }

    /// Merges exceptions `new` into `prev` (append semantics).
    fn append_exceptions(
        &mut self,
        prev: &mut Vec<ExceptionInfo>,
        new: Vec<ExceptionInfo>,
    ) -> Result<(), Abort> {
        for ex in new {
            if let Some(p) = prev.iter_mut().find(|p| p.name == ex.name) {
                if ex.fields.is_some() {
                    return Err(self.validate(
                        "Can not append exception fields to existing exception, only values",
                        &ex.ctx,
                    ));
                }
                if ex.comps.is_some() {
                    return Err(self.validate(
                        "Can not append exception comps to existing exception, only values",
                        &ex.ctx,
                    ));
                }
                if ex.values.is_empty() {
                    self.res.warn(
                        WarningCode::AppendNoValues,
                        "Overriding/appending exception with no values",
                        &ex.ctx,
                    );
                }
                p.values.extend(ex.values);
            } else {
                if ex.fields.is_none() {
                    return Err(self.validate(
                        "Rule exception new item must have fields property with a list of fields",
                        &ex.ctx,
                    ));
                }
                if ex.values.is_empty() {
                    self.res.warn(
                        WarningCode::AppendNoValues,
                        "Overriding/appending exception with no values",
                        &ex.ctx,
                    );
                }
                prev.push(ex);
            }
        }
        Ok(())
    }

    fn priority(&mut self, n: &Node, ctx: &[Location]) -> Result<Priority, Abort> {
        let pctx = with(ctx, loc("rule priority", "", self.file, n.pos));
        let s = self.string(n, "priority", &pctx)?;
        Priority::parse(&s).ok_or_else(|| self.validate("Invalid priority", &pctx))
    }

    fn rule(&mut self, item: &Node, name: &str, ctx: &[Location]) -> Result<(), Abort> {
        self.unknown_keys(item, &RULE_KEYS, ctx);
        let append = self.legacy_append(item, ctx)?;
        let ov = self.overrides(item, &RULE_APPENDABLE, &RULE_REPLACEABLE, ctx)?;
        let source = match item.get("source") {
            Some(s) => self.string(s, "source", ctx)?,
            None => "syscall".to_string(),
        };
        let cond_ctx = item
            .get("condition")
            .map(|c| with(ctx, loc("rule condition", "", self.file, c.pos)))
            .unwrap_or_else(|| ctx.to_vec());
        let output_ctx = item
            .get("output")
            .map(|c| with(ctx, loc("rule output", "", self.file, c.pos)))
            .unwrap_or_else(|| ctx.to_vec());
        if let Some(ov) = ov {
            return self.rule_override(item, name, &source, &ov, ctx, &cond_ctx, &output_ctx);
        }
        if append {
            let cond = match item.get("condition") {
                Some(c) => Some(self.string(c, "condition", ctx)?),
                None => None,
            };
            let exceptions = match item.get("exceptions") {
                Some(e) => Some(self.exceptions(e, &source, ctx)?),
                None => None,
            };
            if cond.is_none() && exceptions.is_none() {
                return Err(self.validate(
                    "Appended rule must have exceptions or condition property",
                    ctx,
                ));
            }
            let Some(mut prev) = self.col.rules.get(name).cloned() else {
                return Err(self.err(
                    ErrorCode::Validate,
                    "Rule has 'append' key but no rule by that name already exists",
                    ctx,
                ));
            };
            if prev.source != source {
                return Err(self.err(
                    ErrorCode::Validate,
                    "Rule has been re-defined with a different source",
                    ctx,
                ));
            }
            if let Some(c) = cond.filter(|c| !c.is_empty()) {
                prev.cond.push(' ');
                prev.cond.push_str(&c);
            }
            if let Some(ex) = exceptions {
                self.append_exceptions(&mut prev.exceptions, ex)?;
            }
            *self.col.rules.get_mut(name).ok_or(Abort)? = prev;
            return Ok(());
        }
        let has_body = ["condition", "output", "desc", "priority"]
            .iter()
            .any(|k| item.get(k).is_some());
        if !has_body {
            if let Some(e) = item.get("enabled") {
                let enabled = self.bool(e, "enabled", ctx)?;
                self.res.warn(
                    WarningCode::DeprecatedItem,
                    "The standalone 'enabled' key usage is deprecated. The correct approach requires also a 'replace' entry under the 'override' key (i.e. 'enabled: replace').",
                    ctx,
                );
                let Some(prev) = self.col.rules.get_mut(name) else {
                    return Err(self.err(
                        ErrorCode::Validate,
                        "Rule has 'enabled' key but no rule by that name already exists",
                        ctx,
                    ));
                };
                prev.enabled = enabled;
                return Ok(());
            }
        }
        // A new rule (or a redefinition).
        let cond_node = self.required(item, "condition", ctx)?;
        let cond = self.string(cond_node, "condition", ctx)?;
        let output_node = self.required(item, "output", ctx)?;
        let output = self.string(output_node, "output", ctx)?.trim().to_string();
        let desc_node = self.required(item, "desc", ctx)?;
        let desc = self.string(desc_node, "desc", ctx)?;
        let prio_node = self.required(item, "priority", ctx)?;
        let priority = self.priority(prio_node, ctx)?;
        let enabled = match item.get("enabled") {
            Some(e) => self.bool(e, "enabled", ctx)?,
            None => true,
        };
        let tags = match item.get("tags") {
            Some(t) => self.strings(t, "tags", ctx)?.into_iter().collect(),
            None => BTreeSet::new(),
        };
        let exceptions = match item.get("exceptions") {
            Some(e) => self.exceptions(e, &source, ctx)?,
            None => Vec::new(),
        };
        let warn_evttypes = match item.get("warn_evttypes") {
            Some(e) => self.bool(e, "warn_evttypes", ctx)?,
            None => true,
        };
        let skip_if_unknown_filter = match item.get("skip-if-unknown-filter") {
            Some(e) => self.bool(e, "skip-if-unknown-filter", ctx)?,
            None => false,
        };
        let capture = match item.get("capture") {
            Some(e) => self.bool(e, "capture", ctx)?,
            None => false,
        };
        let capture_duration = match item.get("capture_duration") {
            Some(e) => {
                let s = self.string(e, "capture_duration", ctx)?;
                s.parse::<u64>().map_err(|_| {
                    self.validate("Value for key 'capture_duration' must be an integer", ctx)
                })?
            }
            None => 0,
        };
        let unknown_source =
            !KNOWN_SOURCES.contains(&source.as_str()) && self.sources.get(&source).is_none();
        if unknown_source {
            self.res.warn(
                WarningCode::UnknownSource,
                format!("Unknown source {source}, skipping"),
                ctx,
            );
        }
        if let Some(prev) = self.col.rules.get(name) {
            if prev.source != source {
                return Err(self.err(
                    ErrorCode::Validate,
                    "Rule has been re-defined with a different source",
                    ctx,
                ));
            }
        }
        let ctx = ctx.to_vec();
        self.col.rules.insert(name, |_| RuleInfo {
            name: name.to_string(),
            cond,
            output,
            desc,
            priority,
            source,
            enabled,
            tags,
            exceptions,
            warn_evttypes,
            skip_if_unknown_filter,
            capture,
            capture_duration,
            unknown_source,
            ctx,
            cond_ctx,
            output_ctx,
        });
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn rule_override(
        &mut self,
        item: &Node,
        name: &str,
        source: &str,
        ov: &[(String, bool)],
        ctx: &[Location],
        cond_ctx: &[Location],
        output_ctx: &[Location],
    ) -> Result<(), Abort> {
        let Some(mut prev) = self.col.rules.get(name).cloned() else {
            let (key, append) = ov.first().map_or(("", true), |(k, a)| (k.as_str(), *a));
            let msg = if append {
                format!("Rule has an append override 'override.{key}: append' but no rule by that name already exists")
            } else {
                format!("An 'override.{key}: replace' to a rule was requested but no rule by that name already exists")
            };
            return Err(self.err(ErrorCode::Validate, msg, ctx));
        };
        if item.get("source").is_some() && prev.source != source {
            return Err(self.err(
                ErrorCode::Validate,
                "Rule has been re-defined with a different source",
                ctx,
            ));
        }
        for (key, append) in ov {
            let Some(v) = item.get(key) else { continue };
            match key.as_str() {
                "condition" => {
                    let c = self.string(v, key, ctx)?;
                    if *append {
                        prev.cond.push(' ');
                        prev.cond.push_str(&c);
                    } else {
                        prev.cond = c;
                    }
                    prev.cond_ctx = cond_ctx.to_vec();
                }
                "output" => {
                    let o = self.string(v, key, ctx)?.trim().to_string();
                    if *append {
                        prev.output.push(' ');
                        prev.output.push_str(&o);
                    } else {
                        prev.output = o;
                    }
                    prev.output_ctx = output_ctx.to_vec();
                }
                "desc" => {
                    let d = self.string(v, key, ctx)?;
                    if *append {
                        prev.desc.push(' ');
                        prev.desc.push_str(&d);
                    } else {
                        prev.desc = d;
                    }
                }
                "tags" => {
                    let t = self.strings(v, key, ctx)?;
                    if !*append {
                        prev.tags.clear();
                    }
                    prev.tags.extend(t);
                }
                "exceptions" => {
                    let ex = self.exceptions(v, &prev.source.clone(), ctx)?;
                    if *append {
                        self.append_exceptions(&mut prev.exceptions, ex)?;
                    } else {
                        prev.exceptions = ex;
                    }
                }
                "priority" => prev.priority = self.priority(v, ctx)?,
                "enabled" => prev.enabled = self.bool(v, key, ctx)?,
                "warn_evttypes" => prev.warn_evttypes = self.bool(v, key, ctx)?,
                "skip-if-unknown-filter" => prev.skip_if_unknown_filter = self.bool(v, key, ctx)?,
                "capture" => prev.capture = self.bool(v, key, ctx)?,
                "capture_duration" => {
                    let s = self.string(v, key, ctx)?;
                    prev.capture_duration = s.parse::<u64>().map_err(|_| {
                        self.validate("Value for key 'capture_duration' must be an integer", ctx)
                    })?;
                }
                _ => {}
            }
        }
        *self.col.rules.get_mut(name).ok_or(Abort)? = prev;
        Ok(())
    }
}

/// Reads one file's content into `col`. Returns `Err` after recording an error.
pub(crate) fn read(
    file: &str,
    content: &str,
    col: &mut Collector,
    res: &mut LoadResult,
    sources: &SourceCatalogs,
) -> Result<(), Abort> {
    Reader {
        file,
        res,
        col,
        sources,
    }
    .file(content)
}
