//! The chisels written in Rust. Each module contributes [`Native`] entries to
//! [`all`]; the registry looks native chisels up before Lua scripts.

mod bottlenecks;
mod echo;
mod fd;
mod fields;
mod http;
mod iobytes;
mod listing;
mod slower;
mod spy;
pub mod table;
mod top;

use crate::{ArgInfo, Chisel, ChiselInfo, Error, Options};

/// Builds a native chisel from its name, argument values and options.
pub type Build = fn(&str, &[String], &Options) -> Result<Box<dyn Chisel>, Error>;

/// One native chisel: its name, description and constructor.
#[derive(Debug)]
pub struct Native {
    /// The name `-c` takes.
    pub name: &'static str,
    /// What `-cl` and `-i` show.
    pub info: ChiselInfo,
    /// Builds the chisel from its name and argument values (already counted
    /// against `info.args`).
    pub build: Build,
}

/// One argument in a chisel's description.
fn arg(name: &str, description: &str, argtype: &str, optional: bool) -> ArgInfo {
    ArgInfo {
        name: name.to_owned(),
        description: description.to_owned(),
        argtype: argtype.to_owned(),
        optional,
    }
}

/// The `-cl`/`-i` description of a native chisel shown to users.
fn info(name: &str, category: &str, short: &str, long: &str, args: Vec<ArgInfo>) -> ChiselInfo {
    ChiselInfo {
        name: name.to_owned(),
        category: category.to_owned(),
        short_description: short.to_owned(),
        description: long.to_owned(),
        args,
        hidden: false,
    }
}

/// Every native chisel.
pub fn all() -> Vec<Native> {
    let mut v: Vec<Native> = top::natives().collect();
    v.extend(fd::natives());
    v.extend(echo::natives());
    v.extend(spy::natives());
    v.extend(http::natives());
    v.extend(listing::natives());
    v.extend(iobytes::natives());
    v.extend(bottlenecks::natives());
    v.extend(slower::natives());
    v
}

/// The native chisel called `name`.
pub fn find(name: &str) -> Option<Native> {
    all().into_iter().find(|n| n.name == name)
}
