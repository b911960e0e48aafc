//! Fields, the filter language and output formats.
//!
//! - [`field`]: the contract between the language and field providers
//!   ([`FieldCatalog`], [`Extract`], [`Values`]).

pub mod field;
pub mod fields;

pub use field::{Extract, FieldArg, FieldCatalog, FieldError, FieldRef, Value, Values};
