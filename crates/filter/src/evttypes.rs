//! Which event types a filter can match: the static analysis that lets a live
//! driver send to userspace only the events a filter may accept.
//!
//! The answer is an [`EventTypeSet`] over the *evt.type keys* of the event
//! table: every event type except the generic `syscall` events (types 0 and
//! 1), plus, for those generic events, one key per `PPM_SC_*` code of their
//! `ID` parameter (their `evt.type` is the system call's name, not
//! `syscall`) and one key for an `ID` outside the code table (shown as
//! `syscall`).
//!
//! Every check gets the pair (keys where it may be true, keys where it may be
//! false): `and` intersects the first and unites the second, `or` the
//! reverse, `not` swaps them. A check reading nothing but `evt.type` (any
//! operator with literal values, through transformers too) is evaluated on
//! every key's name, so it is exact: `evt.type = nosuch` is empty,
//! `evt.type != open` is everything but `open`. So is a check reading only
//! a field that the event type alone decides (`evt.is_io`, `evt.is_io_read`,
//! `evt.is_io_write`: the type's fd flags), evaluated on every type. Any other
//! check may be true or false anywhere.

use osprey_event::render::event_name;
use osprey_event::syscalls::{syscall_name, PPM_SC_MAX};
use osprey_event::table::{category, flags, info, EVENT_COUNT};

use crate::compile::{CheckNode, Filter, Node, Src, Test};
use crate::eval::eval_check;
use crate::field::{Extract, FieldArg, FieldRef, Value, Values};

/// Words of the bitset over event types.
const TYPE_WORDS: usize = EVENT_COUNT.div_ceil(64);
/// Generic keys: one per `PPM_SC_*` code, plus one for codes past the table.
const GENERIC_KEYS: usize = PPM_SC_MAX + 1;
/// Words of the bitset over generic keys.
const GENERIC_WORDS: usize = GENERIC_KEYS.div_ceil(64);
/// The generic event types (`GENERIC_E`, `GENERIC_X`).
const GENERIC_TYPES: u16 = 2;

/// A set of event types a filter may match, with per-system-call precision
/// for the generic `syscall` events. Fixed size, `Copy`, never allocates.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventTypeSet {
    /// Bit `t` for event type `t >= 2`; bits 0 and 1 are always clear.
    types: [u64; TYPE_WORDS],
    /// Bit `c` for generic events whose `ID` is code `c`; bit [`PPM_SC_MAX`]
    /// for an `ID` past the table.
    generic: [u64; GENERIC_WORDS],
}

/// A bitset with the first `n` bits set.
const fn full<const W: usize>(n: usize) -> [u64; W] {
    let mut w = [0u64; W];
    let mut i = 0;
    while i < W {
        let lo = i * 64;
        w[i] = if n >= lo + 64 {
            u64::MAX
        } else if n > lo {
            (1u64 << (n - lo)) - 1
        } else {
            0
        };
        i += 1;
    }
    w
}

/// Valid bits of [`EventTypeSet::types`].
const TYPE_MASK: [u64; TYPE_WORDS] = {
    let mut w = full::<TYPE_WORDS>(EVENT_COUNT);
    w[0] &= !0b11;
    w
};
/// Valid bits of [`EventTypeSet::generic`].
const GENERIC_MASK: [u64; GENERIC_WORDS] = full::<GENERIC_WORDS>(GENERIC_KEYS);

fn get(words: &[u64], i: usize) -> bool {
    words.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
}

fn set(words: &mut [u64], i: usize) {
    if let Some(w) = words.get_mut(i / 64) {
        *w |= 1 << (i % 64);
    }
}

fn bits(words: &[u64]) -> impl Iterator<Item = usize> + '_ {
    words.iter().enumerate().flat_map(|(i, &w)| {
        let mut w = w;
        std::iter::from_fn(move || {
            if w == 0 {
                return None;
            }
            let b = w.trailing_zeros() as usize;
            w &= w - 1;
            Some(i * 64 + b)
        })
    })
}

/// The `evt.type` of generic key `key`.
fn generic_name(key: usize) -> &'static str {
    u16::try_from(key)
        .ok()
        .and_then(syscall_name)
        .unwrap_or("syscall")
}

/// The generic key of `PPM_SC_*` code `code`.
fn generic_key(code: u16) -> usize {
    usize::from(code).min(PPM_SC_MAX)
}

impl EventTypeSet {
    /// Every event type.
    pub const fn all() -> Self {
        Self {
            types: TYPE_MASK,
            generic: GENERIC_MASK,
        }
    }

    /// No event type.
    pub const fn none() -> Self {
        Self {
            types: [0; TYPE_WORDS],
            generic: [0; GENERIC_WORDS],
        }
    }

    /// The events whose `evt.type` is exactly `name`: every enter/exit
    /// version of that event, and the generic events of the system call of
    /// that name. Empty when no event has that name.
    ///
    /// ```
    /// use osprey_filter::EventTypeSet;
    /// let open = EventTypeSet::from_name("open");
    /// assert!(open.contains(2) && open.contains(3)); // PPME_SYSCALL_OPEN_E/_X
    /// assert!(open.contains_generic(5)); // PPM_SC_OPEN
    /// assert!(EventTypeSet::from_name("nosuch").is_empty());
    /// ```
    pub fn from_name(name: &str) -> Self {
        Self::where_name(|n| n == name)
    }

    /// The keys whose event type satisfies `pred` (given the event type; the
    /// generic keys get the generic types' answer).
    fn where_type(mut pred: impl FnMut(u16) -> bool) -> Self {
        let mut s = Self::none();
        for t in GENERIC_TYPES..EVENT_COUNT as u16 {
            if pred(t) {
                set(&mut s.types, usize::from(t));
            }
        }
        if pred(0) || pred(1) {
            s.generic = GENERIC_MASK;
        }
        s
    }

    /// The keys whose `evt.type` satisfies `pred`.
    fn where_name(mut pred: impl FnMut(&str) -> bool) -> Self {
        let mut s = Self::none();
        for t in GENERIC_TYPES..EVENT_COUNT as u16 {
            if event_name(t).is_some_and(&mut pred) {
                set(&mut s.types, usize::from(t));
            }
        }
        for k in 0..GENERIC_KEYS {
            if pred(generic_name(k)) {
                set(&mut s.generic, k);
            }
        }
        s
    }

    /// Whether events of type `etype` may match. For the generic types 0
    /// and 1 this is true when any system call's generic events may match
    /// (see [`EventTypeSet::contains_generic`]).
    pub fn contains(&self, etype: u16) -> bool {
        if etype < GENERIC_TYPES {
            self.generic.iter().any(|&w| w != 0)
        } else {
            get(&self.types, usize::from(etype))
        }
    }

    /// Whether generic `syscall` events (types 0 and 1) whose `ID` is the
    /// `PPM_SC_*` code `code` may match. Code 0 is the `<unknown>` system
    /// call; codes from [`PPM_SC_MAX`] on share one key (`evt.type` shows
    /// `syscall` for them).
    pub fn contains_generic(&self, code: u16) -> bool {
        get(&self.generic, generic_key(code))
    }

    /// Adds every version of event type `etype`; for a generic type, every
    /// system call's generic events. Types past the table are ignored.
    pub fn insert(&mut self, etype: u16) {
        if etype < GENERIC_TYPES {
            self.generic = GENERIC_MASK;
        } else if usize::from(etype) < EVENT_COUNT {
            set(&mut self.types, usize::from(etype));
        }
    }

    /// Adds the generic events whose `ID` is `code`.
    pub fn insert_generic(&mut self, code: u16) {
        set(&mut self.generic, generic_key(code));
    }

    /// Whether every event type is in the set (the filter cannot be narrowed).
    pub fn is_all(&self) -> bool {
        *self == Self::all()
    }

    /// Whether no event type is in the set (the filter never matches).
    pub fn is_empty(&self) -> bool {
        *self == Self::none()
    }

    /// The event types in the set, ascending; 0 and 1 when any generic key is.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        let generic = if self.contains(0) {
            0..GENERIC_TYPES
        } else {
            0..0
        };
        generic.chain(bits(&self.types).filter_map(|t| u16::try_from(t).ok()))
    }

    /// The `PPM_SC_*` codes (below [`PPM_SC_MAX`]) whose generic events are
    /// in the set, ascending.
    pub fn generic_codes(&self) -> impl Iterator<Item = u16> + '_ {
        bits(&self.generic)
            .filter(|&k| k < PPM_SC_MAX)
            .filter_map(|k| u16::try_from(k).ok())
    }

    /// Events in either set.
    #[must_use]
    pub fn union(&self, other: &Self) -> Self {
        self.zip(other, |a, b| a | b)
    }

    /// Events in both sets.
    #[must_use]
    pub fn intersection(&self, other: &Self) -> Self {
        self.zip(other, |a, b| a & b)
    }

    /// Events not in the set.
    #[must_use]
    pub fn complement(&self) -> Self {
        Self::all().zip(self, |a, b| a & !b)
    }

    fn zip(&self, other: &Self, f: impl Fn(u64, u64) -> u64) -> Self {
        let mut out = *self;
        for (o, b) in out.types.iter_mut().zip(other.types) {
            *o = f(*o, b);
        }
        for (o, b) in out.generic.iter_mut().zip(other.generic) {
            *o = f(*o, b);
        }
        out
    }

    /// The distinct system call names the set covers, sorted: the names of
    /// its syscall-category event types (not the generic `syscall` itself)
    /// and of its generic codes (not `<unknown>`: check
    /// `contains_generic(0)` for system calls without a `PPM_SC_*` code).
    /// Non-syscall events (`procexit`, `switch`, `container`...) are left
    /// out; test them with [`EventTypeSet::contains`].
    pub fn syscall_names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = bits(&self.types)
            .filter_map(|t| u16::try_from(t).ok())
            .filter(|&t| info(t).is_some_and(|i| i.category & category::SYSCALL != 0))
            .filter_map(event_name)
            .chain(
                self.generic_codes()
                    .filter(|&c| c != 0)
                    .filter_map(syscall_name),
            )
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

impl std::fmt::Debug for EventTypeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_all() {
            return f.write_str("EventTypeSet(all)");
        }
        f.debug_struct("EventTypeSet")
            .field("types", &self.iter().collect::<Vec<_>>())
            .field("generic", &bits(&self.generic).collect::<Vec<_>>())
            .finish()
    }
}

impl Default for EventTypeSet {
    /// The empty set.
    fn default() -> Self {
        Self::none()
    }
}

impl Filter {
    /// The event types this filter can possibly match (a superset: it may
    /// hold types the filter rejects, never the reverse); [`EventTypeSet::all`]
    /// when the filter does not constrain `evt.type`.
    ///
    /// ```
    /// use osprey_filter::{fields::catalog::SyscallCatalog, Filter};
    /// let f = Filter::compile("evt.type in (open, openat) and proc.name = cat", &SyscallCatalog).unwrap();
    /// assert_eq!(f.event_types().syscall_names(), ["open", "openat"]);
    /// let f = Filter::compile("not evt.type = open or proc.name = cat", &SyscallCatalog).unwrap();
    /// assert!(f.event_types().is_all());
    /// ```
    pub fn event_types(&self) -> EventTypeSet {
        self.type_gate().copied().unwrap_or(EventTypeSet::all())
    }

    /// Works out [`Filter::event_types`] from the filter's checks.
    pub(crate) fn analyse_event_types(&self) -> EventTypeSet {
        node_pair(&self.root).may_be_true
    }
}

impl EventTypeSet {
    /// Whether an event of type `etype` whose `evt.type` key is `key` (see
    /// [`Extract::event_type_key`]) may match.
    #[inline]
    pub(crate) fn admits(&self, etype: u16, code: u16) -> bool {
        if etype < GENERIC_TYPES {
            self.contains_generic(code)
        } else {
            self.contains(etype)
        }
    }
}

/// Where a node may be true and where it may be false.
struct Pair {
    may_be_true: EventTypeSet,
    may_be_false: EventTypeSet,
}

impl Pair {
    const UNKNOWN: Pair = Pair {
        may_be_true: EventTypeSet::all(),
        may_be_false: EventTypeSet::all(),
    };
}

fn node_pair(n: &Node) -> Pair {
    match n {
        Node::And(c) => c.iter().map(node_pair).fold(
            Pair {
                may_be_true: EventTypeSet::all(),
                may_be_false: EventTypeSet::none(),
            },
            |acc, p| Pair {
                may_be_true: acc.may_be_true.intersection(&p.may_be_true),
                may_be_false: acc.may_be_false.union(&p.may_be_false),
            },
        ),
        Node::Or(c) => c.iter().map(node_pair).fold(
            Pair {
                may_be_true: EventTypeSet::none(),
                may_be_false: EventTypeSet::all(),
            },
            |acc, p| Pair {
                may_be_true: acc.may_be_true.union(&p.may_be_true),
                may_be_false: acc.may_be_false.intersection(&p.may_be_false),
            },
        ),
        Node::Not(x) => {
            let p = node_pair(x);
            Pair {
                may_be_true: p.may_be_false,
                may_be_false: p.may_be_true,
            }
        }
        Node::Check(c) => check_pair(c),
    }
}

/// Whether `f` is the `evt.type` field.
fn is_evt_type(f: &FieldRef) -> bool {
    &*f.name == "evt.type" && f.arg == FieldArg::None
}

/// Whether a source reads only `evt.type`.
fn reads_only_evt_type(src: &Src) -> bool {
    match src {
        Src::Field(f) => is_evt_type(f),
        Src::Tr { inner, .. } => reads_only_evt_type(inner),
    }
}

/// An extractor that knows one field, `evt.type`.
struct TypeName<'a>(&'a str);

impl Extract for TypeName<'_> {
    fn extract(&self, field: &FieldRef, out: &mut Values) -> bool {
        if !is_evt_type(field) {
            return false;
        }
        out.push_bytes(self.0.as_bytes());
        true
    }
}

/// The event-table flags a boolean field reports, for the fields the event
/// type alone decides.
fn type_flag_mask(src: &Src) -> Option<u32> {
    let Src::Field(f) = src else {
        return None;
    };
    if f.arg != FieldArg::None {
        return None;
    }
    match &*f.name {
        "evt.is_io" => Some(flags::READS_FROM_FD | flags::WRITES_TO_FD),
        "evt.is_io_read" => Some(flags::READS_FROM_FD),
        "evt.is_io_write" => Some(flags::WRITES_TO_FD),
        _ => None,
    }
}

/// An extractor that knows one boolean field: whether the event type has
/// one of the flags of `mask`.
struct TypeFlag {
    field: u32,
    set: bool,
}

impl Extract for TypeFlag {
    fn extract(&self, field: &FieldRef, out: &mut Values) -> bool {
        if field.id != self.field {
            return false;
        }
        out.push(Value::Bool(self.set));
        true
    }
}

fn check_pair(c: &CheckNode) -> Pair {
    if matches!(c.test, Test::Field { .. }) {
        return Pair::UNKNOWN;
    }
    if let (Some(mask), Src::Field(f)) = (type_flag_mask(&c.lhs), &c.lhs) {
        let mut slots = vec![Values::new(); c.lhs_slots];
        let mut answer = |set: bool| eval_check(c, &TypeFlag { field: f.id, set }, &mut slots);
        let (when_set, when_clear) = (answer(true), answer(false));
        let t = EventTypeSet::where_type(|t| {
            if info(t).is_some_and(|i| i.flags & mask != 0) {
                when_set
            } else {
                when_clear
            }
        });
        return Pair {
            may_be_true: t,
            may_be_false: t.complement(),
        };
    }
    if !reads_only_evt_type(&c.lhs) {
        return Pair::UNKNOWN;
    }
    // `evt.type` always has exactly one value, so the check is a function of
    // the name: evaluate it on every name.
    let mut slots = vec![Values::new(); c.lhs_slots];
    let t = EventTypeSet::where_name(|name| eval_check(c, &TypeName(name), &mut slots));
    Pair {
        may_be_true: t,
        may_be_false: t.complement(),
    }
}

#[cfg(test)]
mod tests;
