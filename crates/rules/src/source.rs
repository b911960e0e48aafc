//! Event sources and their field catalogues.
//!
//! A rule names its source (`source: syscall` by default). Its condition and
//! output compile against the field catalogue of that source, which the
//! caller supplies in [`LoadOptions::sources`](crate::LoadOptions::sources):
//! this crate knows only the syscall catalogue; higher layers add others (the
//! guard adds `k8s_audit` from `osprey-audit`). A source may also stand in
//! for Falco plugins (`required_plugin_versions` naming them is satisfied).

use std::fmt;
use std::sync::Arc;

use osprey_filter::fields::catalog::SyscallCatalog;
use osprey_filter::format::JsonFields;
use osprey_filter::{FieldArg, FieldError};

/// The name of the syscall source.
pub const SYSCALL: &str = "syscall";

/// A source's field catalogue: resolves condition fields and output fields.
pub type SourceCatalog = Arc<dyn JsonFields + Send + Sync>;

/// One source: its name, catalogue and the plugins it provides.
#[derive(Clone)]
struct Entry {
    name: String,
    catalog: SourceCatalog,
    plugins: Vec<String>,
}

/// The event sources rules can be compiled for, by name. The default has
/// only `syscall`, with the syscall field catalogue.
#[derive(Clone)]
pub struct SourceCatalogs {
    entries: Vec<Entry>,
}

impl Default for SourceCatalogs {
    fn default() -> Self {
        Self {
            entries: vec![Entry {
                name: SYSCALL.to_string(),
                catalog: Arc::new(SyscallCatalog),
                plugins: Vec::new(),
            }],
        }
    }
}

impl SourceCatalogs {
    /// Only the syscall source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) source `name` with `catalog`; `plugins` are the
    /// Falco plugin names whose `required_plugin_versions` it satisfies.
    #[must_use]
    pub fn with(mut self, name: &str, catalog: SourceCatalog, plugins: &[&str]) -> Self {
        self.entries.retain(|e| e.name != name);
        self.entries.push(Entry {
            name: name.to_string(),
            catalog,
            plugins: plugins.iter().map(ToString::to_string).collect(),
        });
        self
    }

    /// The catalogue of source `name`.
    pub fn get(&self, name: &str) -> Option<&(dyn JsonFields + Send + Sync)> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| &*e.catalog)
    }

    /// The source names, in the order they were added.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.name.as_str())
    }

    /// Whether some source provides Falco plugin `name`.
    pub fn provides_plugin(&self, name: &str) -> bool {
        self.entries
            .iter()
            .any(|e| e.plugins.iter().any(|p| p == name))
    }
}

impl fmt::Debug for SourceCatalogs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl PartialEq for SourceCatalogs {
    /// Same source names and plugins (catalogues are not comparable).
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .zip(&other.entries)
                .all(|(a, b)| a.name == b.name && a.plugins == b.plugins)
    }
}

impl Eq for SourceCatalogs {}

/// Whether `name` (with an optional `[arg]`) resolves in `catalog`.
pub(crate) fn is_known_field(catalog: &dyn JsonFields, name: &str) -> bool {
    let (base, arg) = match name.split_once('[') {
        Some((b, rest)) => {
            let a = rest.strip_suffix(']').unwrap_or(rest);
            let a = a.trim_matches(|c| c == '"' || c == '\'');
            let arg = match a.parse::<i64>() {
                Ok(i) => FieldArg::Index(i),
                Err(_) => FieldArg::Name(a.into()),
            };
            (b, arg)
        }
        None => (name, FieldArg::None),
    };
    if !matches!(catalog.resolve(base, arg), Err(FieldError::Unknown(_))) {
        return true;
    }
    // `evt.arg.name` style: a known prefix with the rest as a name argument.
    let mut cut = base.len();
    while let Some(dot) = base.get(..cut).and_then(|p| p.rfind('.')) {
        let (prefix, rest) = (&base[..dot], &base[dot + 1..]);
        if !prefix.contains('.') {
            break;
        }
        if catalog.resolve(prefix, FieldArg::Name(rest.into())).is_ok() {
            return true;
        }
        cut = dot;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LoadOptions, Matching, RulesFile, Ruleset, WarningCode};
    use osprey_event::ParamType;
    use osprey_filter::{Extract, FieldCatalog, FieldRef, Values};

    /// A source with two fields: `toy.name` and `evt.time`.
    struct Toy;
    impl FieldCatalog for Toy {
        fn resolve(&self, name: &str, arg: FieldArg) -> Result<FieldRef, FieldError> {
            let id = match name {
                "toy.name" => 0,
                "evt.time" | "evt.time.iso8601" => 1,
                _ => return Err(FieldError::Unknown(name.into())),
            };
            Ok(FieldRef {
                id,
                arg,
                ty: ParamType::CharBuf,
                name: name.into(),
            })
        }
    }
    impl JsonFields for Toy {}

    struct Ev(&'static str);
    impl Extract for Ev {
        fn extract(&self, f: &FieldRef, out: &mut Values) -> bool {
            out.push_bytes(if f.id == 0 { self.0.as_bytes() } else { b"t" });
            true
        }
    }

    const RULES: &str = "
- required_plugin_versions:
    - name: toyplugin
      version: 0.1.0
- rule: toy named x
  desc: d
  condition: toy.name = x
  output: name=%toy.name
  priority: WARNING
  source: toy
- rule: open
  desc: d
  condition: evt.type = open
  output: o
  priority: INFO
";

    #[test]
    fn a_given_source_compiles_and_is_evaluated_apart() {
        let opts = LoadOptions {
            sources: SourceCatalogs::new().with("toy", Arc::new(Toy), &["toyplugin"]),
            ..LoadOptions::default()
        };
        let file = RulesFile {
            name: "t.yaml",
            content: RULES,
        };
        let (rules, res) = Ruleset::load(&[file], &opts);
        assert!(res.successful(), "{res}");
        assert!(res.warnings.is_empty(), "{res}");
        let id = rules.find("toy named x").unwrap();
        assert!(rules.rule(id).unwrap().is_compiled());
        assert_eq!(rules.rules_for_source("toy"), [id]);
        // The toy rule is not indexed under syscall event types.
        assert_eq!(rules.event_types().syscall_names(), ["open"]);
        let mut hits = Vec::new();
        rules.evaluate_source("toy", &Ev("x"), Matching::All, &mut hits);
        assert_eq!(hits, [id]);
        hits.clear();
        rules.evaluate_source("toy", &Ev("y"), Matching::All, &mut hits);
        assert!(hits.is_empty());
    }

    #[test]
    fn without_the_catalogue_the_source_and_plugin_are_unknown() {
        let file = RulesFile {
            name: "t.yaml",
            content: RULES,
        };
        let (_, res) = Ruleset::load(&[file], &LoadOptions::default());
        assert!(!res.successful());
        let no_plugin = RULES.replace("toyplugin", "container");
        let file = RulesFile {
            name: "t.yaml",
            content: &no_plugin,
        };
        let (rules, res) = Ruleset::load(&[file], &LoadOptions::default());
        assert!(res.successful(), "{res}");
        assert!(res
            .warnings
            .iter()
            .any(|w| w.code == crate::Code::Warning(WarningCode::UnknownSource)));
        assert!(rules.find("toy named x").is_none());
    }
}
