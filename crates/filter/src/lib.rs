//! Fields, the filter language and output formats.
//!
//! The filter pipeline:
//!
//! 1. **parse** ([`parse`]): the condition text becomes an [`ast::Expr`] with byte
//!    spans (`not` > `and` > `or`, flat n-ary `and`/`or`, macro identifiers,
//!    fields with arguments, all operators, lists, transformers);
//! 2. **compile** ([`Filter::compile`], [`Filter::compile_with`], [`Filter::from_ast`]):
//!    fields are resolved once against a [`FieldCatalog`], literals are parsed into
//!    the field's type, regexes/globs/sets are prepared; macros and lists come from
//!    a [`Resolver`];
//! 3. **evaluate** ([`Filter::matches`]): per event, an [`Extract`] implementation
//!    fills reusable [`Values`] buffers and the compiled tree is tested, without
//!    allocating.
//!
//! Errors are one [`Error`] type carrying the byte offset into the filter text;
//! [`Error::display_with_caret`] renders `filter error at column N: ...`.
//!
//! ```
//! use osprey_event::ParamType;
//! use osprey_filter::{Extract, FieldArg, FieldCatalog, FieldError, FieldRef, Filter, Values};
//!
//! /// A catalogue with one field, `proc.name`.
//! struct Catalog;
//! impl FieldCatalog for Catalog {
//!     fn resolve(&self, name: &str, arg: FieldArg) -> Result<FieldRef, FieldError> {
//!         match name {
//!             "proc.name" => Ok(FieldRef { id: 0, arg, ty: ParamType::CharBuf, name: name.into() }),
//!             _ => Err(FieldError::Unknown(name.to_string())),
//!         }
//!     }
//! }
//!
//! /// One "event": just a process name.
//! struct Event<'a>(&'a str);
//! impl Extract for Event<'_> {
//!     fn extract(&self, _field: &FieldRef, out: &mut Values) -> bool {
//!         out.push_bytes(self.0.as_bytes());
//!         true
//!     }
//! }
//!
//! let f = Filter::compile("proc.name in (cat, bash) and not proc.name glob 'b*'", &Catalog).unwrap();
//! assert!(f.matches(&Event("cat")));
//! assert!(!f.matches(&Event("bash")));
//!
//! let err = Filter::compile("proc.name foo", &Catalog).unwrap_err();
//! assert!(err.display_with_caret("proc.name foo").starts_with("filter error at column 11: expected a valid check operator"));
//! ```

pub mod ast;
mod compile;
mod error;
mod eval;
mod evttypes;
pub mod field;
pub mod fields;
pub mod format;
mod lexer;
mod parser;
pub mod timefmt;

pub use compile::{Filter, NoResolver, Resolver, Scratch};
pub use error::Error;
pub use evttypes::EventTypeSet;
pub use field::{Extract, Fast, FieldArg, FieldCatalog, FieldError, FieldRef, Value, Values};
pub use parser::{parse, parse_with_max_depth, DEFAULT_MAX_DEPTH};
