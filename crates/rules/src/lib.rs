//! Falco-compatible rules: the rules-file loader, compiler, event-type index,
//! evaluation and alerts.
//!
//! # Pipeline
//!
//! 1. **Read** ([`Ruleset::load`]): each file is a YAML stream of sequences of
//!    items (`required_engine_version`, `required_plugin_versions`, `list`,
//!    `macro`, `rule`). Redefinition replaces an item in place; legacy
//!    `append: true` and `override: {key: append|replace}` are applied in
//!    file order, with Falco's error and warning codes ([`ErrorCode`],
//!    [`WarningCode`]) and location chains (`file:line:col` of the item, then
//!    of the key). Falco stops at the first error, and so does this loader.
//! 2. **Compile**: lists are flattened (an item naming an earlier list is
//!    replaced by its items) and expanded *textually* into conditions (items
//!    with a space are double-quoted); macros are parsed and substituted *on
//!    the AST* (a macro sees only macros defined before it, a rule sees all);
//!    exceptions become condition text `(<cond>) and not (<clauses>)`; each
//!    `syscall` rule's condition is compiled to an [`osprey_filter::Filter`]
//!    over the syscall field catalogue and its output to formats.
//!    `skip-if-unknown-filter` turns unknown fields and event types into a
//!    `LOAD_UNKNOWN_FILTER` warning that drops the rule.
//! 3. **Index and evaluate**: each rule's event-type set
//!    ([`osprey_filter::EventTypeSet`]) feeds a per-type table of rule ids in
//!    load order ([`Ruleset::rules_for`]); [`Ruleset::evaluate`] runs the
//!    rules of an event's type, stopping at the first match with
//!    [`Matching::First`] (Falco's default `rule_matching`).
//! 4. **Alerts** ([`AlertFormatter`]): Falco's text line and JSON object,
//!    with falco.yaml's `append_output` ([`AppendOutput`], given in
//!    [`LoadOptions::append_output`]) applied when rules are compiled.
//!
//! ```
//! use osprey_rules::{LoadOptions, RulesFile, Ruleset};
//!
//! let yaml = "
//! - list: readers
//!   items: [cat, less]
//! - macro: opened
//!   condition: evt.type in (open, openat)
//! - rule: open_from_reader
//!   desc: a reader opened a file
//!   condition: opened and proc.name in (readers)
//!   output: opened %fd.name (command=%proc.cmdline)
//!   priority: INFO
//!   tags: [filesystem]
//! ";
//! let (rules, result) =
//!     Ruleset::load(&[RulesFile { name: "my_rules.yaml", content: yaml }], &LoadOptions::default());
//! assert!(result.successful(), "{result}");
//! let rule = &rules.rules()[0];
//! assert_eq!(rule.compiled_condition, "(evt.type in (open, openat) and proc.name in (cat, less))");
//! assert_eq!(rule.event_types.syscall_names(), ["open", "openat"]);
//! // PPME_SYSCALL_OPEN_X (3): the rule is indexed under the exit event.
//! assert_eq!(rules.rules_for(3, 0).len(), 1);
//! ```
//!
//! # Sources and plugins
//!
//! A rule compiles against the field catalogue of its source, taken from
//! [`LoadOptions::sources`] ([`SourceCatalogs`]): the default holds only
//! `syscall`; callers add others (osprey-guard adds `k8s_audit` with the
//! `ka.*`/`jevt.*` catalogue of osprey-audit, which this crate does not
//! depend on). `syscall` rules are indexed by event type
//! ([`Ruleset::evaluate`]); other sources' rules see every event of their
//! source ([`Ruleset::evaluate_source`]). Without its catalogue, a
//! `k8s_audit` rule is read, checked and kept ([`Rule::is_compiled`] is
//! false). Other unknown sources give `LOAD_UNKNOWN_SOURCE` and the rule is
//! skipped, as in Falco without the plugin.
//!
//! `required_plugin_versions` naming the `container` plugin (directly or as
//! an alternative) is satisfied natively: the `container.*` fields are part
//! of the syscall field catalogue; so are the plugins a source was added
//! for ([`SourceCatalogs::with`]). Any other required plugin fails the load
//! with `LOAD_ERR_VALIDATE`, as Falco does when the plugin is not loaded.
//!
//! # Enter and exit events
//!
//! Falco 0.44 evaluates rules once per system call, on the exit event, which
//! carries the enter event's parameters. [`Ruleset::evaluate`] therefore
//! ignores enter events of system calls ([`is_evaluated`]); for old captures
//! with enter and exit events, the state engine pairs them, and the field
//! extractor reads enter parameters missing from the exit through the
//! state's record of the enter event.
//!
//! # YAML
//!
//! Positions come from `yaml-rust2`'s marked event parser, folded into a
//! small tree ([`Pos`] per node): it is maintained, pure Rust, and its event
//! API gives the line and column of every scalar and collection, which the
//! usual `serde` route loses.

mod alert;
mod append;
mod compile;
mod diag;
mod priority;
mod reader;
mod ruleset;
mod source;
mod yaml;

pub use alert::{utc_z, Alert, AlertFormatter, AlertOptions};
pub use append::{AppendOutput, ExtraField};
pub use diag::{Code, Diagnostic, ErrorCode, LoadResult, Location, Pos, WarningCode};
pub use priority::Priority;
pub use reader::ENGINE_VERSION;
pub use ruleset::{
    generic_code, is_evaluated, List, LoadOptions, Macro, Matching, Rule, RuleId, RulesFile,
    Ruleset,
};
pub use source::{SourceCatalog, SourceCatalogs, SYSCALL};

#[cfg(test)]
mod tests;
