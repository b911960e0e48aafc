//! The loaded ruleset: compiled rules, the per-event-type index and evaluation.

use std::collections::BTreeSet;
use std::path::Path;

use osprey_event::syscalls::PPM_SC_MAX;
use osprey_event::table::{category, info, Direction, EVENT_COUNT};
use osprey_event::EventRef;
use osprey_filter::format::{Format, FormatError, JsonFields};
use osprey_filter::{EventTypeSet, Extract, Filter};

use crate::append::{AppendOutput, ExtraField};
use crate::compile;
use crate::diag::{ErrorCode, LoadResult, Location, Pos};
use crate::priority::Priority;
use crate::reader::{self, Collector};
use crate::source::{SourceCatalogs, SYSCALL};

/// Identifies a rule of a [`Ruleset`]: its index in load order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(pub u32);

/// The compiled output formats of a rule.
#[derive(Debug)]
pub(crate) struct Formats {
    /// `*<output>`: the rendered message.
    pub(crate) message: Format,
    /// `*%evt.time <output>`: JSON `output_fields` with the local time field.
    pub(crate) json_time: Format,
    /// `*%evt.time.iso8601 <output>`: JSON `output_fields` in ISO mode.
    pub(crate) json_iso: Format,
    /// `append_output`'s `{name: format}` extra fields, sorted by name.
    pub(crate) extra: Vec<(String, Format)>,
}

impl Formats {
    /// Compiles the formats of rule output `output` (Falco always renders
    /// outputs as if they started with `*`: missing values print `<NA>`).
    /// `extra` are `append_output`'s extra fields for the rule: field names
    /// join the JSON formats, `{name: format}` ones get their own format.
    /// Fields resolve in `catalog`, the rule's source's.
    pub(crate) fn new(
        output: &str,
        extra: &[&ExtraField],
        catalog: &dyn JsonFields,
    ) -> Result<Self, FormatError> {
        let body = output.strip_prefix('*').unwrap_or(output);
        let message = Format::parse(&format!("*{body}"), catalog)?;
        let mut fields = String::new();
        let mut formatted: Vec<(String, Format)> = Vec::new();
        for e in extra {
            match e {
                ExtraField::Field(f) => {
                    fields.push_str(" %");
                    fields.push_str(f);
                }
                ExtraField::Formatted { name, format } => {
                    let f = Format::parse(&format!("*{format}"), catalog)?;
                    // A later entry for the same name wins.
                    formatted.retain(|(n, _)| n != name);
                    formatted.push((name.clone(), f));
                }
            }
        }
        formatted.sort_by(|a, b| a.0.cmp(&b.0));
        let json_time = Format::parse(&format!("*%evt.time {body}{fields}"), catalog)?;
        let json_iso = Format::parse(&format!("*%evt.time.iso8601 {body}{fields}"), catalog)?;
        Ok(Self {
            message,
            json_time,
            json_iso,
            extra: formatted,
        })
    }
}

/// A loaded rule.
#[derive(Debug)]
pub struct Rule {
    /// The rule name.
    pub name: String,
    /// `desc`.
    pub desc: String,
    /// The condition as compiled: exceptions appended, lists expanded.
    pub condition: String,
    /// The canonical text of the condition with macros inlined (what Falco's
    /// engine tests compare).
    pub compiled_condition: String,
    /// The output format (trimmed, `%container.info` removed).
    pub output: String,
    /// The priority.
    pub priority: Priority,
    /// The event source (`syscall`, `k8s_audit`...).
    pub source: String,
    /// Tags, sorted.
    pub tags: BTreeSet<String>,
    /// Whether the rule is enabled.
    pub enabled: bool,
    /// `warn_evttypes`.
    pub warn_evttypes: bool,
    /// `skip-if-unknown-filter`.
    pub skip_if_unknown_filter: bool,
    /// `capture`.
    pub capture: bool,
    /// `capture_duration` (ms).
    pub capture_duration: u64,
    /// The event types the condition can match ([`EventTypeSet::all`] for
    /// rules that are not compiled).
    pub event_types: EventTypeSet,
    pub(crate) filter: Option<Filter>,
    pub(crate) formats: Option<Formats>,
}

impl Rule {
    /// Whether the rule was compiled into a filter: rules of the sources
    /// given in [`LoadOptions::sources`] are; `k8s_audit` rules loaded
    /// without that source's catalogue are validated as text only.
    pub fn is_compiled(&self) -> bool {
        self.filter.is_some()
    }

    /// The compiled condition.
    pub fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    /// The compiled message format (`*<output>`).
    pub fn format(&self) -> Option<&Format> {
        self.formats.as_ref().map(|f| &f.message)
    }
}

/// A list after loading: its name and its flattened items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List {
    /// The name.
    pub name: String,
    /// The items, nested lists flattened.
    pub items: Vec<String>,
}

/// A macro after loading: its name and its condition with macros inlined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Macro {
    /// The name.
    pub name: String,
    /// The canonical text of its condition, lists expanded and macros inlined.
    pub condition: String,
}

/// Options of a load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Rules less severe than this are loaded but never evaluated
    /// (falco.yaml `priority`; default `Debug`: every rule).
    pub min_priority: Priority,
    /// Treat every rule as if it had `skip-if-unknown-filter: true`: a rule
    /// using a field or event type the catalogue lacks is dropped with one
    /// `LOAD_UNKNOWN_FILTER` warning per unknown name instead of failing the
    /// load (not a Falco option: for running upstream rules while the field
    /// catalogue catches up). Default false.
    pub skip_unknown_filters: bool,
    /// falco.yaml's `append_output` entries, applied in order to the rules
    /// they match (default none).
    pub append_output: Vec<AppendOutput>,
    /// The event sources whose rules are compiled, with their field
    /// catalogues (default: `syscall` only).
    pub sources: SourceCatalogs,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            min_priority: Priority::Debug,
            skip_unknown_filters: false,
            append_output: Vec::new(),
            sources: SourceCatalogs::default(),
        }
    }
}

/// Which rules an event is reported for (`rule_matching`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Matching {
    /// Stop at the first matching rule, in load order (Falco's default).
    #[default]
    First,
    /// Every matching rule.
    All,
}

/// One rules file to load: a name (used in diagnostics) and its content.
#[derive(Debug, Clone, Copy)]
pub struct RulesFile<'a> {
    /// File name, as diagnostics show it.
    pub name: &'a str,
    /// YAML content.
    pub content: &'a str,
}

/// The loaded rules, indexed by event type.
#[derive(Debug, Default)]
pub struct Ruleset {
    rules: Vec<Rule>,
    lists: Vec<List>,
    macros: Vec<Macro>,
    min_priority: Option<Priority>,
    /// Per event type (index `etype`), the rules to evaluate, in load order.
    by_type: Vec<Vec<RuleId>>,
    /// Per `PPM_SC_*` code of generic events (plus one for codes past the
    /// table), the rules to evaluate.
    by_generic: Vec<Vec<RuleId>>,
    /// Per source other than `syscall`, the rules to evaluate, in load order.
    by_source: Vec<(String, Vec<RuleId>)>,
}

/// Whether events of type `etype` are given to rules. Falco 0.44 evaluates
/// rules once per system call, on the exit event (which carries the enter
/// parameters); enter events of system calls are not evaluated. Other
/// events (e.g. `procexit`, container and internal events) are.
pub fn is_evaluated(etype: u16) -> bool {
    info(etype).is_none_or(|i| !(i.dir == Direction::Enter && i.category & category::SYSCALL != 0))
}

/// The `PPM_SC_*` code of a generic `syscall` event (types 0 and 1: its `ID`
/// parameter), 0 for other events.
pub fn generic_code(ev: &EventRef<'_>) -> u16 {
    if ev.etype() >= 2 {
        return 0;
    }
    ev.param(0)
        .and_then(|p| p.get(..2))
        .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]))
}

impl Ruleset {
    /// Loads rules files, in order. Returns the ruleset (empty when the load
    /// failed) and the diagnostics; the load failed when
    /// [`LoadResult::successful`] is false. Falco stops at the first error.
    pub fn load(files: &[RulesFile<'_>], opts: &LoadOptions) -> (Ruleset, LoadResult) {
        let mut res = LoadResult::default();
        let mut col = Collector::default();
        for f in files {
            if reader::read(f.name, f.content, &mut col, &mut res, &opts.sources).is_err() {
                return (Ruleset::default(), res);
            }
        }
        let Some(c) = compile::compile(&col, opts, &mut res) else {
            return (Ruleset::default(), res);
        };
        let mut rs = Ruleset {
            rules: c.rules,
            lists: c
                .lists
                .into_iter()
                .map(|l| List {
                    name: l.name,
                    items: l.items,
                })
                .collect(),
            macros: c
                .macros
                .into_iter()
                .map(|m| Macro {
                    name: m.name,
                    condition: m.ast.to_string(),
                })
                .collect(),
            min_priority: Some(opts.min_priority),
            by_type: Vec::new(),
            by_generic: Vec::new(),
            by_source: Vec::new(),
        };
        rs.reindex();
        (rs, res)
    }

    /// Reads and loads rules files from disk; unreadable files are
    /// `LOAD_ERR_FILE_READ` errors.
    pub fn load_paths(paths: &[&Path], opts: &LoadOptions) -> (Ruleset, LoadResult) {
        let mut contents = Vec::with_capacity(paths.len());
        for p in paths {
            let name = p.display().to_string();
            match std::fs::read_to_string(p) {
                Ok(c) => contents.push((name, c)),
                Err(e) => {
                    let mut res = LoadResult::default();
                    let at = [Location {
                        item_type: "rules content",
                        item_name: String::new(),
                        file: name,
                        pos: Pos::default(),
                    }];
                    res.error(
                        ErrorCode::FileRead,
                        format!("Could not read file: {e}"),
                        &at,
                    );
                    return (Ruleset::default(), res);
                }
            }
        }
        let files: Vec<RulesFile<'_>> = contents
            .iter()
            .map(|(name, content)| RulesFile { name, content })
            .collect();
        Self::load(&files, opts)
    }

    /// Rebuilds the event-type index from the rules' `enabled` flags and the
    /// priority threshold.
    fn reindex(&mut self) {
        let min = self.min_priority.unwrap_or(Priority::Debug);
        self.by_type = vec![Vec::new(); EVENT_COUNT];
        self.by_generic = vec![Vec::new(); PPM_SC_MAX + 1];
        self.by_source.clear();
        for (i, r) in self.rules.iter().enumerate() {
            if !r.enabled || r.priority > min || r.filter.is_none() {
                continue;
            }
            let id = RuleId(u32::try_from(i).unwrap_or(u32::MAX));
            if r.source != SYSCALL {
                match self.by_source.iter_mut().find(|(s, _)| *s == r.source) {
                    Some((_, v)) => v.push(id),
                    None => self.by_source.push((r.source.clone(), vec![id])),
                }
                continue;
            }
            for t in r.event_types.iter().filter(|&t| t >= 2) {
                if let Some(v) = self.by_type.get_mut(usize::from(t)) {
                    v.push(id);
                }
            }
            for (code, v) in self.by_generic.iter_mut().enumerate() {
                if r.event_types
                    .contains_generic(u16::try_from(code).unwrap_or(u16::MAX))
                {
                    v.push(id);
                }
            }
        }
    }

    /// All loaded rules (every source, enabled or not, below the priority
    /// threshold or not), in load order; [`RuleId`] indexes this.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// A rule by id.
    pub fn rule(&self, id: RuleId) -> Option<&Rule> {
        self.rules.get(usize::try_from(id.0).ok()?)
    }

    /// A rule by name.
    pub fn find(&self, name: &str) -> Option<RuleId> {
        self.rules
            .iter()
            .position(|r| r.name == name)
            .and_then(|i| u32::try_from(i).ok())
            .map(RuleId)
    }

    /// The lists, in definition order.
    pub fn lists(&self) -> &[List] {
        &self.lists
    }

    /// The macros, in definition order.
    pub fn macros(&self) -> &[Macro] {
        &self.macros
    }

    /// Enables or disables every rule `pick` selects (falco.yaml `rules:`
    /// selection), then rebuilds the index.
    pub fn set_enabled(&mut self, mut pick: impl FnMut(&Rule) -> bool, enabled: bool) {
        for r in &mut self.rules {
            if pick(r) {
                r.enabled = enabled;
            }
        }
        self.reindex();
    }

    /// The union of the event types of the `syscall` rules that are
    /// evaluated: what a live capture must deliver (plus the state engine's
    /// own needs).
    pub fn event_types(&self) -> EventTypeSet {
        let mut set = EventTypeSet::none();
        for r in self.active().filter(|r| r.source == SYSCALL) {
            set = set.union(&r.event_types);
        }
        set
    }

    /// The rules that are evaluated: compiled, enabled, severe enough.
    pub fn active(&self) -> impl Iterator<Item = &Rule> {
        let min = self.min_priority.unwrap_or(Priority::Debug);
        self.rules
            .iter()
            .filter(move |r| r.enabled && r.priority <= min && r.filter.is_some())
    }

    /// The rules to evaluate for events of type `etype` (for the generic
    /// types 0 and 1, of system call code `generic_code`), in load order.
    pub fn rules_for(&self, etype: u16, generic_code: u16) -> &[RuleId] {
        let v = if etype < 2 {
            self.by_generic
                .get(usize::from(generic_code).min(PPM_SC_MAX))
        } else {
            self.by_type.get(usize::from(etype))
        };
        v.map_or(&[], Vec::as_slice)
    }

    /// The rules to evaluate for every event of `source` (a source other
    /// than `syscall`), in load order.
    pub fn rules_for_source(&self, source: &str) -> &[RuleId] {
        self.by_source
            .iter()
            .find(|(s, _)| s == source)
            .map_or(&[], |(_, v)| v.as_slice())
    }

    /// Evaluates the rules of `source` (other than `syscall`, whose rules
    /// [`Ruleset::evaluate`] runs by event type) on `ev`, appending the ids
    /// of the matching rules to `out` (at most one with [`Matching::First`]).
    pub fn evaluate_source<E: Extract + ?Sized>(
        &self,
        source: &str,
        ev: &E,
        mode: Matching,
        out: &mut Vec<RuleId>,
    ) {
        for &id in self.rules_for_source(source) {
            let Some(f) = self.rule(id).and_then(|r| r.filter.as_ref()) else {
                continue;
            };
            if f.matches(ev) {
                out.push(id);
                if mode == Matching::First {
                    return;
                }
            }
        }
    }

    /// Evaluates the rules of the event's type on `ev`, appending the ids of
    /// the matching rules to `out` (at most one with [`Matching::First`]).
    /// Enter events of system calls match nothing (see [`is_evaluated`]).
    pub fn evaluate<E: Extract + ?Sized>(
        &self,
        ev: &E,
        etype: u16,
        generic_code: u16,
        mode: Matching,
        out: &mut Vec<RuleId>,
    ) {
        if !is_evaluated(etype) {
            return;
        }
        for &id in self.rules_for(etype, generic_code) {
            let Some(f) = self.rule(id).and_then(|r| r.filter.as_ref()) else {
                continue;
            };
            if f.matches(ev) {
                out.push(id);
                if mode == Matching::First {
                    return;
                }
            }
        }
    }
}
