//! falco.yaml: reading the file, `${ENV}` expansion, `-o key=value`
//! overrides, and the typed [`Config`] the engine runs with.
//!
//! The YAML is read with `yaml-rust2` and turned into a JSON value tree, on
//! which the overrides act by dotted path (`a.b=1`, `list[0].x=y`,
//! `list[]=v` appends, `a\.b` is a key containing a dot); serde then builds
//! the typed configuration. Keys Osprey does not use are accepted and
//! ignored, as a falco.yaml holds many.

use osprey_rules::{AppendOutput, ExtraField};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::Path;

/// What can go wrong with the configuration. Each message is one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML.
    #[error("{path}:{line}:{column}: invalid YAML: {message}")]
    Yaml {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// An `-o` option is not `key=value` or its path is malformed.
    #[error("invalid -o option '{0}': expected key=value with a dotted key")]
    Override(String),
    /// A key has a value of the wrong type or an unknown enumeration value.
    #[error("{path}: invalid configuration: {message}")]
    Invalid {
        /// The file (or `-o`).
        path: String,
        /// serde's message, naming the key.
        message: String,
    },
}

/// Where events come from (`engine.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    /// The live eBPF driver.
    ModernEbpf,
    /// A capture file (`engine.replay.capture_file`).
    Replay,
    /// No events (rules are loaded and checked).
    Nodriver,
    /// Falco's kernel module: Osprey has none; it is refused at start.
    Kmod,
}

/// `engine.replay`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Replay {
    /// The capture to read.
    pub capture_file: String,
}

/// `engine.modern_ebpf`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ModernEbpf {
    /// How many CPUs share one ring buffer.
    pub cpus_for_each_buffer: u32,
    /// Ring size preset: index into [-, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512] MiB.
    pub buf_size_preset: usize,
}

impl Default for ModernEbpf {
    fn default() -> Self {
        ModernEbpf {
            cpus_for_each_buffer: 2,
            buf_size_preset: 4,
        }
    }
}

impl ModernEbpf {
    /// Ring buffer size in bytes for `buf_size_preset` (8 MiB for preset 4),
    /// or `None` for a preset out of range.
    pub fn ring_size(&self) -> Option<u32> {
        const MIB: [u32; 11] = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
        MIB.get(self.buf_size_preset)
            .filter(|&&m| m > 0)
            .map(|m| m << 20)
    }
}

/// `engine`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Engine {
    /// The source of events.
    pub kind: EngineKind,
    /// Replay settings.
    pub replay: Replay,
    /// Live driver settings.
    pub modern_ebpf: ModernEbpf,
}

impl Default for Engine {
    fn default() -> Self {
        Engine {
            kind: EngineKind::ModernEbpf,
            replay: Replay::default(),
            modern_ebpf: ModernEbpf::default(),
        }
    }
}

/// `rule_matching`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleMatching {
    /// Stop at the first matching rule of an event (Falco's default).
    #[default]
    First,
    /// Evaluate every rule.
    All,
}

/// `base_syscalls`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BaseSyscalls {
    /// Syscalls to capture besides those the rules need; `!name` removes one.
    pub custom_set: Vec<String>,
    /// Add what the state engine needs to `custom_set`.
    pub repair: bool,
    /// Capture every syscall.
    pub all: bool,
}

/// `falco_libs`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct FalcoLibs {
    /// Bytes kept of each I/O buffer.
    pub snaplen: u32,
}

impl Default for FalcoLibs {
    fn default() -> Self {
        FalcoLibs { snaplen: 80 }
    }
}

/// One entry of `rules`: enable or disable rules by name glob or tag.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleToggle {
    /// Enable the rules selected.
    Enable(RuleSelector),
    /// Disable the rules selected.
    Disable(RuleSelector),
}

/// Which rules a [`RuleToggle`] acts on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleSelector {
    /// Rules whose name matches a glob (`*` and `?`).
    Rule(String),
    /// Rules with this tag.
    Tag(String),
}

/// The configuration `osprey-guard` runs with (falco.yaml's keys).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Rules files and directories, loaded in order.
    pub rules_files: Vec<String>,
    /// The deprecated singular name of `rules_files`.
    rules_file: Vec<String>,
    /// Rule enable/disable toggles applied after loading, in order.
    pub rules: Vec<RuleToggle>,
    /// Event source.
    pub engine: Engine,
    /// Least severe priority of the rules loaded.
    pub priority: String,
    /// Alerts as JSON.
    pub json_output: bool,
    /// JSON alerts carry `output`.
    pub json_include_output_property: bool,
    /// JSON alerts carry `message`.
    pub json_include_message_property: bool,
    /// JSON alerts carry `output_fields`.
    pub json_include_output_fields_property: bool,
    /// JSON alerts carry `tags`.
    pub json_include_tags_property: bool,
    /// Outputs are flushed only when their buffer fills.
    pub buffered_outputs: bool,
    /// Text alerts start with an ISO 8601 time.
    pub time_format_iso_8601: bool,
    /// First matching rule or all of them.
    pub rule_matching: RuleMatching,
    /// Syscalls captured besides the rules' own.
    pub base_syscalls: BaseSyscalls,
    /// Capture settings.
    pub falco_libs: FalcoLibs,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rules_files: vec![
                "/etc/falco/falco_rules.yaml".into(),
                "/etc/falco/falco_rules.local.yaml".into(),
                "/etc/falco/rules.d".into(),
                "/etc/osprey/rules.d".into(),
            ],
            rules_file: Vec::new(),
            rules: Vec::new(),
            engine: Engine::default(),
            priority: "debug".into(),
            json_output: false,
            json_include_output_property: true,
            json_include_message_property: false,
            json_include_output_fields_property: true,
            json_include_tags_property: true,
            buffered_outputs: false,
            time_format_iso_8601: false,
            rule_matching: RuleMatching::First,
            base_syscalls: BaseSyscalls::default(),
            falco_libs: FalcoLibs::default(),
        }
    }
}

/// A falco.yaml as a JSON value tree, before it is typed.
#[derive(Debug, Clone)]
pub struct Raw {
    /// The file the tree came from, for messages.
    pub path: String,
    /// The tree (an object).
    pub tree: Value,
}

impl Raw {
    /// An empty configuration (all defaults).
    pub fn empty() -> Raw {
        Raw {
            path: "(defaults)".into(),
            tree: Value::Object(Map::new()),
        }
    }

    /// Reads and parses `path`, expanding `${VAR}` in string values.
    pub fn load(path: &Path) -> Result<Raw, Error> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: name.clone(),
            source,
        })?;
        Raw::parse(&name, &text)
    }

    /// Parses YAML `text` (named `path` in messages).
    pub fn parse(path: &str, text: &str) -> Result<Raw, Error> {
        let docs = yaml_rust2::YamlLoader::load_from_str(text).map_err(|e| Error::Yaml {
            path: path.into(),
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
        let tree = match docs.into_iter().next() {
            Some(doc) => to_json(&doc),
            None => Value::Object(Map::new()),
        };
        if !tree.is_object() {
            return Err(Error::Invalid {
                path: path.into(),
                message: "the top level is not a mapping".into(),
            });
        }
        Ok(Raw {
            path: path.into(),
            tree,
        })
    }

    /// Applies one `-o key=value` option.
    pub fn set(&mut self, option: &str) -> Result<(), Error> {
        let bad = || Error::Override(option.to_string());
        let (key, value) = option.split_once('=').ok_or_else(bad)?;
        let path = split_key(key).ok_or_else(bad)?;
        let value = scalar(value);
        set_path(&mut self.tree, &path, value).ok_or_else(bad)
    }

    /// The outputs' part of the configuration (`*_output`, `priority`,
    /// `json_output`, `buffered_outputs`, `outputs`), read from the same keys.
    pub fn outputs(&self) -> Result<crate::output::OutputsConfig, Error> {
        serde_json::from_value(self.tree.clone()).map_err(|e| Error::Invalid {
            path: self.path.clone(),
            message: e.to_string(),
        })
    }

    /// `append_output`: a list of entries `{match: {source, tags, rule},
    /// extra_output, extra_fields}` (a single mapping, as `-o
    /// append_output.key=value` makes, counts as one entry). Entries with
    /// neither `extra_output` nor `extra_fields`, such as Falco's default
    /// `{suggested_output: true}`, add nothing: container fields are native
    /// in Osprey and no plugin suggests fields.
    pub fn append_output(&self) -> Result<Vec<AppendOutput>, Error> {
        let bad = |message: String| Error::Invalid {
            path: self.path.clone(),
            message,
        };
        let entries: Vec<&Value> = match self.tree.get("append_output") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.iter().collect(),
            Some(o @ Value::Object(_)) => vec![o],
            Some(_) => return Err(bad("append_output: expected a list of entries".into())),
        };
        let mut out = Vec::new();
        for (i, e) in entries.into_iter().enumerate() {
            let at = |key: &str| format!("append_output[{i}].{key}");
            let Value::Object(e) = e else {
                return Err(bad(format!("append_output[{i}]: expected a mapping")));
            };
            let mut entry = AppendOutput::default();
            if let Some(m) = e.get("match").filter(|m| !m.is_null()) {
                let Value::Object(m) = m else {
                    return Err(bad(format!("{}: expected a mapping", at("match"))));
                };
                let string = |key: &str| match m.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.clone())),
                    Some(_) => Err(bad(format!("{}: expected a string", at(key)))),
                };
                entry.source = string("source")?;
                entry.rule = string("rule")?;
                entry.tags = match m.get("tags") {
                    None | Some(Value::Null) => Default::default(),
                    Some(Value::Array(t)) => t
                        .iter()
                        .map(|t| t.as_str().map(str::to_owned))
                        .collect::<Option<_>>()
                        .ok_or_else(|| bad(format!("{}: expected strings", at("tags"))))?,
                    Some(Value::String(t)) => [t.clone()].into(),
                    Some(_) => return Err(bad(format!("{}: expected a list", at("tags")))),
                };
            }
            match e.get("extra_output") {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) => entry.extra_output = s.clone(),
                Some(_) => return Err(bad(format!("{}: expected a string", at("extra_output")))),
            }
            let fields = match e.get("extra_fields") {
                None | Some(Value::Null) => &[][..],
                Some(Value::Array(a)) => &a[..],
                Some(_) => return Err(bad(format!("{}: expected a list", at("extra_fields")))),
            };
            for f in fields {
                match f {
                    Value::String(name) => entry.extra_fields.push(ExtraField::Field(name.clone())),
                    Value::Object(m) => {
                        for (name, v) in m {
                            let format = match v {
                                Value::String(s) => s.clone(),
                                Value::Number(n) => n.to_string(),
                                Value::Bool(b) => b.to_string(),
                                _ => {
                                    return Err(bad(format!(
                                        "{}: the value of {name} is not a string",
                                        at("extra_fields")
                                    )))
                                }
                            };
                            entry.extra_fields.push(ExtraField::Formatted {
                                name: name.clone(),
                                format,
                            });
                        }
                    }
                    _ => {
                        return Err(bad(format!(
                            "{}: expected field names or name: format pairs",
                            at("extra_fields")
                        )))
                    }
                }
            }
            if !entry.extra_output.is_empty() || !entry.extra_fields.is_empty() {
                out.push(entry);
            }
        }
        Ok(out)
    }

    /// The typed configuration.
    pub fn typed(&self) -> Result<Config, Error> {
        let mut cfg: Config =
            serde_json::from_value(self.tree.clone()).map_err(|e| Error::Invalid {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
        if !cfg.rules_file.is_empty() && self.tree.get("rules_files").is_none() {
            cfg.rules_files = std::mem::take(&mut cfg.rules_file);
        }
        Ok(cfg)
    }
}

/// One YAML node as JSON, with `${VAR}` expanded in strings.
fn to_json(y: &yaml_rust2::Yaml) -> Value {
    use yaml_rust2::Yaml;
    match y {
        Yaml::Real(s) => s
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(s.clone()), Value::Number),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::String(s) => Value::String(expand_env(s)),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Boolean(b) => b.to_string(),
                        other => format!("{other:?}"),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Yaml::Alias(_) | Yaml::Null | Yaml::BadValue => Value::Null,
    }
}

/// `${VAR}` replaced by the variable's value (empty when unset).
fn expand_env(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("${") {
        let Some(end) = rest[at + 2..].find('}') else {
            break;
        };
        out.push_str(&rest[..at]);
        let name = &rest[at + 2..at + 2 + end];
        out.push_str(&std::env::var(name).unwrap_or_default());
        rest = &rest[at + 3 + end..];
    }
    out.push_str(rest);
    out
}

/// A `-o` value: a YAML scalar (so `true`, `3` and `x` get their types).
fn scalar(v: &str) -> Value {
    match yaml_rust2::YamlLoader::load_from_str(v) {
        Ok(docs) if docs.len() == 1 && !matches!(docs[0], yaml_rust2::Yaml::Hash(_)) => {
            to_json(&docs[0])
        }
        _ => Value::String(v.to_string()),
    }
}

/// One step of an override path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// A mapping key.
    Key(String),
    /// A list index.
    Index(usize),
    /// Append to a list.
    Push,
}

/// `a.b[1].c\.d[]` as steps; `None` when malformed.
fn split_key(key: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let mut cur = String::new();
    let mut chars = key.chars().peekable();
    let flush = |cur: &mut String, steps: &mut Vec<Step>| {
        if !cur.is_empty() {
            steps.push(Step::Key(std::mem::take(cur)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                chars.next();
                cur.push('.');
            }
            '.' => {
                if cur.is_empty() && !matches!(steps.last(), Some(Step::Index(_) | Step::Push)) {
                    return None;
                }
                flush(&mut cur, &mut steps);
            }
            '[' => {
                flush(&mut cur, &mut steps);
                let mut idx = String::new();
                loop {
                    match chars.next()? {
                        ']' => break,
                        d => idx.push(d),
                    }
                }
                if idx.is_empty() {
                    steps.push(Step::Push);
                } else {
                    steps.push(Step::Index(idx.parse().ok()?));
                }
            }
            c => cur.push(c),
        }
    }
    flush(&mut cur, &mut steps);
    (!steps.is_empty() && matches!(steps[0], Step::Key(_))).then_some(steps)
}

/// Sets `value` at `path` in `tree`, creating mappings and lists on the way.
fn set_path(tree: &mut Value, path: &[Step], value: Value) -> Option<()> {
    let Some((step, rest)) = path.split_first() else {
        *tree = value;
        return Some(());
    };
    let next_is_list = matches!(rest.first(), Some(Step::Index(_) | Step::Push));
    let fresh = || {
        if next_is_list {
            Value::Array(Vec::new())
        } else {
            Value::Object(Map::new())
        }
    };
    match step {
        Step::Key(k) => {
            if !tree.is_object() {
                *tree = Value::Object(Map::new());
            }
            let obj = tree.as_object_mut()?;
            let child = obj.entry(k.clone()).or_insert_with(fresh);
            if child.is_null() {
                *child = fresh();
            }
            set_path(child, rest, value)
        }
        Step::Index(i) => {
            let list = tree.as_array_mut()?;
            let child = list.get_mut(*i)?;
            set_path(child, rest, value)
        }
        Step::Push => {
            let list = tree.as_array_mut()?;
            list.push(fresh());
            let child = list.last_mut()?;
            set_path(child, rest, value)
        }
    }
}

/// The rules files of `paths`: files as given, directories' `.yaml` and
/// `.yml` files in name order (as Falco reads `rules_files`).
pub fn rules_files(paths: &[std::path::PathBuf]) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(p)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|f| f.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests;
