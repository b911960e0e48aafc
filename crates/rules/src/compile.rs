//! Compilation of what the reader collected (Falco's rule compiler):
//! lists are flattened and expanded *textually* into conditions, macros are
//! parsed and substituted *on the AST* with their visibility, exceptions
//! become condition text, and each rule's condition and output are compiled
//! against the field catalogue of the rule's source.

use std::collections::HashMap;

use osprey_filter::ast::{Expr, Op, Operand, Rhs};
use osprey_filter::format::{Format, FormatError, JsonFields};
use osprey_filter::{parse_with_max_depth, EventTypeSet, FieldCatalog, Filter, Resolver};

use crate::diag::{ErrorCode, LoadResult, Location, WarningCode};
use crate::reader::{
    comp_takes_list, Abort, Collector, ExStrings, ExValue, ExceptionInfo, RuleInfo,
};
use crate::ruleset::{Formats, LoadOptions, Rule};
use crate::source::{is_known_field, SYSCALL};

/// Falco's parser depth limit for rules.
const MAX_DEPTH: u32 = 1000;

/// Fields that are deprecated in outputs (Falco warns on them).
const DEPRECATED_FIELDS: [&str; 6] = [
    "evt.dir",
    "evt.latency",
    "evt.latency.s",
    "evt.latency.ns",
    "evt.latency.human",
    "evt.wait_latency",
];

/// A list after flattening.
#[derive(Debug, Clone)]
pub(crate) struct CList {
    pub(crate) name: String,
    pub(crate) items: Vec<String>,
    pub(crate) used: bool,
}

/// A macro after parsing and resolution of the macros it may see.
#[derive(Debug, Clone)]
pub(crate) struct CMacro {
    pub(crate) name: String,
    pub(crate) ast: Expr,
    pub(crate) used: bool,
}

/// The lists and macros of a load, shared by all rules.
pub(crate) struct Compiled {
    pub(crate) lists: Vec<CList>,
    pub(crate) macros: Vec<CMacro>,
    pub(crate) rules: Vec<Rule>,
}

/// Quotes an item that contains a space (and is not quoted already).
fn quote_item(s: &str) -> String {
    if s.contains(' ') && !s.starts_with('"') && !s.starts_with('\'') {
        format!("\"{s}\"")
    } else {
        s.to_string()
    }
}

/// The next byte index after `i` that is a char boundary of `s`.
fn next_boundary(s: &str, i: usize) -> usize {
    let mut j = i + 1;
    while j < s.len() && !s.is_char_boundary(j) {
        j += 1;
    }
    j
}

/// Replaces every delimiter-bounded occurrence of `name` in `cnd` with the
/// list's items joined by `, ` (Falco's textual list expansion). Surrounding
/// blanks are absorbed; an empty list also eats one adjacent comma.
pub(crate) fn expand_list(cnd: &mut String, name: &str, items: &[String]) -> bool {
    const BLANKS: &[u8] = b" \t\n\r";
    const DELIMS: &[u8] = b" \t\n\r(),=";
    if name.is_empty() {
        return false;
    }
    let mut used = false;
    let mut from = 0;
    while let Some(found) = cnd.get(from..).and_then(|t| t.find(name)).map(|p| p + from) {
        let b = cnd.as_bytes();
        let (mut s, mut e) = (found, found + name.len());
        let left = s == 0 || DELIMS.contains(&b[s - 1]);
        let right = e >= b.len() || DELIMS.contains(&b[e]);
        if !(left && right) {
            from = next_boundary(cnd, found);
            continue;
        }
        while s > 0 && BLANKS.contains(&b[s - 1]) {
            s -= 1;
        }
        while e < b.len() && BLANKS.contains(&b[e]) {
            e += 1;
        }
        let sub = items
            .iter()
            .map(|i| quote_item(i))
            .collect::<Vec<_>>()
            .join(", ");
        if sub.is_empty() {
            if s > 0 && b[s - 1] == b',' {
                s -= 1;
            } else if e < b.len() && b[e] == b',' {
                e += 1;
            }
        }
        let mut new = String::with_capacity(cnd.len() + sub.len() + 2);
        if s > 0 {
            new.push_str(&cnd[..s]);
            new.push(' ');
        }
        new.push_str(&sub);
        new.push(' ');
        new.push_str(&cnd[e..]);
        // Resume after the substitution (it may itself contain the name).
        from = if s > 0 { s + 1 } else { 0 } + sub.len();
        *cnd = new;
        used = true;
    }
    used
}

/// Renders one exception value as condition text.
fn ex_value_text(v: &ExValue, list_op: bool) -> String {
    match v {
        ExValue::Item(s) if list_op && !s.starts_with('(') => format!("({s})"),
        ExValue::Item(s) if list_op => s.clone(),
        ExValue::Item(s) => quote_item(s),
        ExValue::List(items) => {
            let inner: Vec<String> = items
                .iter()
                .map(|i| match i {
                    ExValue::Item(s) => quote_item(s),
                    ExValue::List(_) => ex_value_text(i, false),
                })
                .collect();
            format!("({})", inner.join(", "))
        }
    }
}

/// Appends the exception clauses to a condition:
/// `(<cond>) and not <clause> and not <clause>...`.
fn build_exceptions(
    cond: &str,
    exceptions: &[ExceptionInfo],
    res: &mut LoadResult,
) -> Result<String, Abort> {
    let mut out = format!("({cond})");
    for ex in exceptions {
        let clause = match (&ex.fields, &ex.comps) {
            (Some(ExStrings::One(field)), comps) => {
                let comp = match comps {
                    Some(ExStrings::One(c)) => c.as_str(),
                    _ => "in",
                };
                let mut vals = Vec::new();
                for v in &ex.values {
                    match v {
                        ExValue::Item(s) => vals.push(quote_item(s)),
                        ExValue::List(_) => {
                            res.error(
                                ErrorCode::Validate,
                                "Expected values array to contain a list of strings",
                                &ex.ctx,
                            );
                            return Err(Abort);
                        }
                    }
                }
                if vals.is_empty() {
                    String::new()
                } else {
                    format!("({field} {comp} ({}))", vals.join(", "))
                }
            }
            (Some(ExStrings::Many(fields)), comps) => {
                let comps: Vec<&str> = match comps {
                    Some(ExStrings::Many(c)) => c.iter().map(String::as_str).collect(),
                    _ => vec!["="; fields.len()],
                };
                let mut tuples = Vec::new();
                for v in &ex.values {
                    let items: Vec<&ExValue> = match v {
                        ExValue::List(items) => items.iter().collect(),
                        ExValue::Item(_) => vec![v],
                    };
                    if items.len() != fields.len() {
                        res.error(
                            ErrorCode::Validate,
                            "Fields and values lists must have equal length",
                            &ex.ctx,
                        );
                        return Err(Abort);
                    }
                    let parts: Vec<String> = fields
                        .iter()
                        .zip(&comps)
                        .zip(items)
                        .map(|((f, c), v)| {
                            format!("{f} {c} {}", ex_value_text(v, comp_takes_list(c)))
                        })
                        .collect();
                    tuples.push(format!("({})", parts.join(" and ")));
                }
                if tuples.is_empty() {
                    String::new()
                } else {
                    format!("({})", tuples.join(" or "))
                }
            }
            (None, _) => String::new(),
        };
        if !clause.is_empty() {
            out.push_str(" and not ");
            out.push_str(&clause);
        }
    }
    Ok(out)
}

/// Macro lookup for the filter compiler (all macros visible).
struct Macros<'a>(HashMap<&'a str, &'a Expr>);

impl Resolver for Macros<'_> {
    fn macro_expr(&self, name: &str) -> Option<&Expr> {
        self.0.get(name).copied()
    }
}

/// The first macro reference in `ast` that `known` does not know.
fn undefined_macro(ast: &Expr, known: &dyn Fn(&str) -> bool) -> Option<(String, usize)> {
    let mut found = None;
    ast.for_each_macro(&mut |name, span| {
        if found.is_none() && !known(name) {
            found = Some((name.to_string(), span.start));
        }
    });
    found
}

fn cond_expr_loc(ctx: &[Location], offset: usize) -> Vec<Location> {
    let mut v = ctx.to_vec();
    if let Some(last) = ctx.last() {
        let mut pos = last.pos;
        pos.offset = offset;
        v.push(Location {
            item_type: "condition expression",
            item_name: String::new(),
            file: last.file.clone(),
            pos,
        });
    }
    v
}

/// Parses a list-expanded condition; a syntax error is recorded.
fn parse_cond(text: &str, ctx: &[Location], res: &mut LoadResult) -> Result<Expr, Abort> {
    parse_with_max_depth(text, MAX_DEPTH).map_err(|e| {
        res.error(
            ErrorCode::CompileCondition,
            e.message(),
            &cond_expr_loc(ctx, e.offset()),
        );
        Abort
    })
}

/// Expands every list into `text`, marking the lists used.
fn expand_lists(text: &str, lists: &mut [CList]) -> String {
    let mut s = text.to_string();
    for l in lists.iter_mut() {
        if expand_list(&mut s, &l.name, &l.items) {
            l.used = true;
        }
    }
    s
}

/// Falco's "nonexistent field" and "unknown event type" errors for the
/// fields unknown to the source's catalogue and the unknown event types a
/// (macro-substituted) condition uses, in text order, without repeats.
fn unknown_filters(ast: &Expr, catalog: &dyn JsonFields) -> Vec<String> {
    let operand_field = |o: &Operand| -> Option<String> {
        fn field_of(o: &Operand) -> &osprey_filter::ast::FieldExpr {
            match o {
                Operand::Field(f) => f,
                Operand::Transform { inner, .. } => field_of(inner),
            }
        }
        let f = field_of(o);
        let name = match &f.arg {
            Some(a) => format!("{}[{}]", f.name, a.text),
            None => f.name.clone(),
        };
        (!is_known_field(catalog, &name)).then_some(f.name.clone())
    };
    let mut msgs: Vec<String> = Vec::new();
    let mut add = |m: String| {
        if !msgs.contains(&m) {
            msgs.push(m);
        }
    };
    ast.for_each_check(&mut |c| {
        if let Some(f) = operand_field(&c.lhs) {
            add(format!("filter_check called with nonexistent field {f}"));
        }
        if let Rhs::Operand(o) = &c.rhs {
            if let Some(f) = operand_field(o) {
                add(format!("filter_check called with nonexistent field {f}"));
            }
        }
        let is_type =
            matches!(&c.lhs, Operand::Field(f) if f.name == "evt.type" && f.arg.is_none());
        if is_type && matches!(c.op, Op::Eq | Op::EqEq | Op::Ne | Op::In | Op::Intersects) {
            let vals: Vec<&str> = match &c.rhs {
                Rhs::Value(v) => vec![v.text.as_str()],
                Rhs::List(items, _) => items.iter().map(|l| l.text.as_str()).collect(),
                _ => Vec::new(),
            };
            for bad in vals
                .into_iter()
                .filter(|v| EventTypeSet::from_name(v).is_empty())
            {
                add(format!("unknown event type {bad}"));
            }
        }
    });
    msgs
}

/// The `%` tokens of an output format that are not known fields, for
/// reporting every one of them (the format parser stops at the first).
fn unknown_output_tokens(output: &str, catalog: &dyn JsonFields) -> Vec<String> {
    let mut out = Vec::new();
    let b = output.as_bytes();
    let mut i = 0;
    while let Some(p) = b.get(i..).and_then(|r| r.iter().position(|&c| c == b'%')) {
        let mut j = i + p + 1;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let start = j;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'.') {
            j += 1;
        }
        if j < b.len() && b[j] == b'[' {
            if let Some(close) = b[j..].iter().position(|&c| c == b']') {
                j += close + 1;
            }
        }
        let tok = &output[start..j];
        if !tok.is_empty() {
            if let Err(FormatError::BadToken { .. }) = Format::parse(&format!("%{tok}"), catalog) {
                let name = tok.split('[').next().unwrap_or(tok);
                out.push(format!("invalid formatting token {name}"));
            }
        }
        i = j.max(i + p + 1);
    }
    out
}

/// Whether a check compares a field with the literal `<NA>`.
fn has_na_check(ast: &Expr) -> bool {
    let mut found = false;
    ast.for_each_check(&mut |c| {
        if matches!(c.op, Op::Eq | Op::EqEq | Op::Ne) {
            if let Rhs::Value(v) = &c.rhs {
                found |= v.text == "<NA>";
            }
        }
    });
    found
}

/// Whether a format error is of the "unknown field" kind that
/// `skip-if-unknown-filter` turns into a warning.
fn format_err_is_unknown(e: &FormatError) -> bool {
    matches!(e, FormatError::BadToken { .. })
}

/// The number of event types of a set, as Falco counts them for its
/// "too many event types" warning.
fn evttype_count(set: &EventTypeSet) -> usize {
    set.iter().filter(|&t| t >= 2).count() + set.generic_codes().count()
}

/// Compiles everything; on error, the error is in `res` and `None` returned.
pub(crate) fn compile(
    col: &Collector,
    opts: &LoadOptions,
    res: &mut LoadResult,
) -> Option<Compiled> {
    // 1. Lists: flatten references to earlier lists.
    let mut lists: Vec<CList> = Vec::with_capacity(col.lists.items.len());
    let mut used_lists = Vec::new();
    for l in &col.lists.items {
        let mut items = Vec::new();
        for it in &l.items {
            match col.lists.get(it) {
                Some(r) if r.index < l.visibility => {
                    used_lists.push(r.index);
                    // A list redefined later sees lists defined after its
                    // first position: those are not flattened yet.
                    let src = lists.get(r.index).map_or(&r.items, |f| &f.items);
                    items.extend(src.iter().cloned());
                }
                _ => items.push(it.clone()),
            }
        }
        lists.push(CList {
            name: l.name.clone(),
            items,
            used: false,
        });
    }
    for i in used_lists {
        lists[i].used = true;
    }

    // 2. Macros: expand lists, parse, resolve the macros each one may see.
    let mut macros: Vec<CMacro> = Vec::with_capacity(col.macros.items.len());
    for m in &col.macros.items {
        let text = expand_lists(&m.cond, &mut lists);
        let ast = parse_cond(&text, &m.cond_ctx, res).ok()?;
        macros.push(CMacro {
            name: m.name.clone(),
            ast,
            used: false,
        });
    }
    let by_name: HashMap<String, usize> = col
        .macros
        .items
        .iter()
        .map(|m| (m.name.clone(), m.index))
        .collect();
    for (i, m) in col.macros.items.iter().enumerate() {
        let visible = |name: &str| {
            by_name
                .get(name)
                .is_some_and(|&j| j < m.visibility && j != i)
        };
        if let Some((name, off)) = undefined_macro(&macros[i].ast, &visible) {
            res.error(
                ErrorCode::Validate,
                format!("Undefined macro '{name}' used in filter."),
                &cond_expr_loc(&m.cond_ctx, off),
            );
            return None;
        }
        let mut ast = macros[i].ast.clone();
        let mut referenced = Vec::new();
        ast.substitute_macros(&mut |name, _| {
            let j = *by_name.get(name)?;
            referenced.push(j);
            Some(macros[j].ast.clone())
        });
        for j in referenced {
            macros[j].used = true;
        }
        macros[i].ast = ast;
    }

    // 3. Rules.
    let mut rules = Vec::with_capacity(col.rules.items.len());
    for r in &col.rules.items {
        if r.unknown_source {
            continue;
        }
        match compile_rule(r, opts, &mut lists, &mut macros, &by_name, res) {
            Ok(Some(rule)) => rules.push(rule),
            Ok(None) => {}
            Err(Abort) => return None,
        }
    }

    // 4. Unused macros and lists.
    for (m, info) in macros.iter().zip(&col.macros.items) {
        if !m.used {
            res.warn(
                WarningCode::UnusedMacro,
                "Macro not referred to by any other rule/macro",
                &info.ctx,
            );
        }
    }
    for (l, info) in lists.iter().zip(&col.lists.items) {
        if !l.used {
            res.warn(
                WarningCode::UnusedList,
                "List not referred to by any other rule/macro",
                &info.ctx,
            );
        }
    }
    Some(Compiled {
        lists,
        macros,
        rules,
    })
}

/// Compiles one rule; `Ok(None)` when it is skipped with a warning.
fn compile_rule(
    r: &RuleInfo,
    opts: &LoadOptions,
    lists: &mut [CList],
    macros: &mut [CMacro],
    by_name: &HashMap<String, usize>,
    res: &mut LoadResult,
) -> Result<Option<Rule>, Abort> {
    let catalog = opts.sources.get(&r.source);
    let cond = if r.exceptions.is_empty() {
        r.cond.clone()
    } else {
        build_exceptions(&r.cond, &r.exceptions, res)?
    };

    let mut output = r.output.clone();
    if output.contains("%container.info") {
        res.warn(
            WarningCode::DeprecatedItem,
            "%container.info is deprecated and no more useful, and will be dropped by Falco 1.0.0. The container plugin will automatically add required fields to the output message.",
            &r.ctx,
        );
        output = output.replace("%container.info", "");
    }
    let lenient = opts.skip_unknown_filters;
    let mut extra = Vec::new();
    for a in &opts.append_output {
        if !a.matches(&r.name, &r.source, &r.tags) {
            continue;
        }
        if !a.extra_output.is_empty() {
            output.push(' ');
            output.push_str(&a.extra_output);
        }
        extra.extend(a.extra_fields.iter());
    }
    // In lenient mode a rule with an unknown output field is dropped after
    // its condition is checked too, so that every unknown name is reported.
    let mut dropped = false;
    let formats = if let Some(catalog) = catalog {
        match Formats::new(&output, &extra, catalog) {
            Ok(f) => Some(f),
            Err(e) if format_err_is_unknown(&e) && r.skip_if_unknown_filter => {
                res.warn(WarningCode::UnknownFilter, e.to_string(), &r.output_ctx);
                return Ok(None);
            }
            Err(e) if format_err_is_unknown(&e) && lenient => {
                for m in unknown_output_tokens(&output, catalog) {
                    res.warn(WarningCode::UnknownFilter, m, &r.output_ctx);
                }
                dropped = true;
                None
            }
            Err(e) => {
                res.error(ErrorCode::CompileOutput, e.to_string(), &r.output_ctx);
                return Err(Abort);
            }
        }
    } else {
        None
    };
    for f in DEPRECATED_FIELDS {
        if output.contains(f) {
            res.warn(
                WarningCode::DeprecatedItem,
                format!("usage of deprecated field '{f}' has been detected in the rule output"),
                &r.output_ctx,
            );
        }
    }

    let text = expand_lists(&cond, lists);
    let ast = parse_cond(&text, &r.cond_ctx, res)?;
    if let Some((name, off)) = undefined_macro(&ast, &|n| by_name.contains_key(n)) {
        res.error(
            ErrorCode::Validate,
            format!("Undefined macro '{name}' used in filter."),
            &cond_expr_loc(&r.cond_ctx, off),
        );
        return Err(Abort);
    }
    let mut full = ast.clone();
    full.substitute_macros(&mut |name, _| {
        let j = *by_name.get(name)?;
        macros[j].used = true;
        Some(macros[j].ast.clone())
    });
    if has_na_check(&full) {
        res.warn(
            WarningCode::UnsafeNaCheck,
            "Comparing a field value with <NA> is unsafe and can lead to unpredictable behavior of the rule condition. If you need to check for the existence of a field, consider using the 'exists' operator instead.",
            &r.cond_ctx,
        );
    }

    let mut filter = None;
    let mut event_types = EventTypeSet::all();
    if let Some(catalog) = catalog {
        let unknown = unknown_filters(&full, catalog);
        if let Some(first) = unknown.first() {
            if r.skip_if_unknown_filter {
                res.warn(WarningCode::UnknownFilter, first.clone(), &r.cond_ctx);
                return Ok(None);
            }
            if lenient {
                for m in unknown {
                    res.warn(WarningCode::UnknownFilter, m, &r.cond_ctx);
                }
                return Ok(None);
            }
            res.error(ErrorCode::CompileCondition, first.clone(), &r.cond_ctx);
            return Err(Abort);
        }
        if dropped {
            return Ok(None);
        }
        let resolver = Macros(macros.iter().map(|m| (m.name.as_str(), &m.ast)).collect());
        let f = Filter::from_ast(&ast, catalog as &dyn FieldCatalog, &resolver).map_err(|e| {
            res.error(
                ErrorCode::CompileCondition,
                e.message(),
                &cond_expr_loc(&r.cond_ctx, e.offset()),
            );
            Abort
        })?;
        // Event types index syscall rules only; other sources' rules see
        // every event of their source.
        let syscall = r.source == SYSCALL;
        if syscall {
            event_types = f.event_types();
        }
        let n = evttype_count(&event_types);
        if syscall && (n == 0 || n > 100) && r.warn_evttypes {
            res.warn(
                WarningCode::NoEvttype,
                "Rule matches too many evt.type values. This has a significant performance penalty.",
                &r.ctx,
            );
        }
        filter = Some(f);
    }
    let compiled_condition = full.to_string();
    Ok(Some(Rule {
        name: r.name.clone(),
        desc: r.desc.clone(),
        condition: text,
        compiled_condition,
        output,
        priority: r.priority,
        source: r.source.clone(),
        tags: r.tags.clone(),
        enabled: r.enabled,
        warn_evttypes: r.warn_evttypes,
        skip_if_unknown_filter: r.skip_if_unknown_filter,
        capture: r.capture,
        capture_duration: r.capture_duration,
        event_types,
        filter,
        formats,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(c: &str, name: &str, items: &[&str]) -> String {
        let mut s = c.to_string();
        let items: Vec<String> = items.iter().map(ToString::to_string).collect();
        expand_list(&mut s, name, &items);
        s
    }

    #[test]
    fn list_expansion_is_textual_and_delimited() {
        assert_eq!(
            exp("proc.name in (shells)", "shells", &["bash", "sh"]),
            "proc.name in ( bash, sh )"
        );
        // Not inside other words.
        assert_eq!(
            exp("proc.name in (myshells, shells_x)", "shells", &["bash"]),
            "proc.name in (myshells, shells_x)"
        );
        // Items with spaces are quoted; several occurrences.
        assert_eq!(
            exp("a in (l) or b in (l, x)", "l", &["a b", "c"]),
            "a in ( \"a b\", c ) or b in ( \"a b\", c , x)"
        );
        // An empty list eats a comma.
        assert_eq!(exp("a in (x, l)", "l", &[]), "a in (x  )");
        // Anywhere, not only after `in`.
        assert_eq!(exp("proc.name=l", "l", &["cat"]), "proc.name= cat ");
    }

    #[test]
    fn list_expansion_can_contain_the_name() {
        assert_eq!(exp("x in (l)", "l", &["l", "m"]), "x in ( l, m )");
    }
}
