//! The contract between the filter language and the things it filters.
//!
//! A *catalogue* ([`FieldCatalog`]) turns a field name written by the user
//! (`proc.name`, `evt.arg[1]`, `proc.aname[2]`) into a [`FieldRef`] once, at compile
//! time. Per event, an *extractor* ([`Extract`]), usually a small struct borrowing
//! the event and the state, writes the field's values into a reusable [`Values`]
//! buffer. The language never knows which field classes exist, so syscall fields
//! and Kubernetes audit fields plug in the same way.

use osprey_event::ParamType;

/// The argument written after a field name: `proc.aname[2]`, `evt.arg.name`, `evt.arg[name]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FieldArg {
    /// No argument.
    #[default]
    None,
    /// A numeric argument, `[N]`.
    Index(i64),
    /// A name argument, `.name`, `[name]` or `["name"]`.
    Name(Box<str>),
}

/// A field resolved by a catalogue: which field, with which argument, and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRef {
    /// Catalogue-specific field id (an index into the catalogue's own table).
    pub id: u32,
    /// The argument.
    pub arg: FieldArg,
    /// The type of the field's values; drives how literals are parsed and compared.
    pub ty: ParamType,
    /// The name as the user wrote it, including the argument (`evt.arg.fd`).
    pub name: Box<str>,
}

/// Why a field name could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// No field of that name.
    #[error("unknown field '{0}'")]
    Unknown(String),
    /// The field exists but the argument is wrong or missing.
    #[error("bad argument for field '{field}': {reason}")]
    BadArg {
        /// The field.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

/// Resolves field names at compile time.
pub trait FieldCatalog {
    /// Resolves `name` with its optional argument (already split off by the parser).
    fn resolve(&self, name: &str, arg: FieldArg) -> Result<FieldRef, FieldError>;

    /// Told, while a filter compiles, the literal values `field` is compared
    /// with (`field = v`, `field in (v, ...)`), as written. A catalogue whose
    /// fields need to prepare for their values (the address-name fields
    /// resolve the names) does it here. Default: nothing.
    fn note_literals(&self, _field: &FieldRef, _values: &[&str]) {}

    /// Whether `field in (...)` holds when *any* of the field's values is in
    /// the list, rather than all of them (the default). libsinsp compares the
    /// ancestor fields without an index (`proc.aname`, `proc.apid`) ancestor
    /// by ancestor, so for them one ancestor in the list is enough.
    fn in_matches_any(&self, field: &FieldRef) -> bool {
        let _ = field;
        false
    }
}

/// The outcome of an extractor's fast path ([`Extract::borrow_bytes`],
/// [`Extract::write_text`], [`Extract::write_json`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fast<T> {
    /// The field has this one value (or was written).
    Done(T),
    /// The field has no value for this event (nothing was written).
    Missing,
    /// No fast path for this field: use [`Extract::extract`].
    Unsupported,
}

/// Extracts field values for one event. Implemented by a per-event context.
///
/// Only [`Extract::extract`] is required. The other methods are fast paths for
/// the hottest fields, which must give exactly what `extract` would; their
/// defaults decline ([`Fast::Unsupported`]) or build on [`Extract::borrow_bytes`].
pub trait Extract {
    /// Appends the values of `field` for the current event to `out`.
    /// Returns `false` (and appends nothing) when the field has no value here.
    /// Most fields yield one value; some (`fdlist.*`, `proc.aname` without index)
    /// yield several.
    fn extract(&self, field: &FieldRef, out: &mut Values) -> bool;

    /// What `evt.type` is keyed on for the current event, when this extractor
    /// shows events of the event table: `(type, code)`, where `code` matters
    /// for the generic types 0 and 1 only and is the `PPM_SC_*` code whose
    /// name `evt.type` shows, or `u16::MAX` when it shows `syscall`. `None`
    /// too for types past the event table.
    /// A filter then rejects events whose type it cannot match before
    /// evaluating anything ([`crate::Filter::event_types`]). The default,
    /// `None`, evaluates every event in full.
    fn event_type_key(&self) -> Option<(u16, u16)> {
        None
    }

    /// The single byte-string value of `field`, borrowed rather than copied,
    /// for fields whose value already exists as bytes.
    fn borrow_bytes(&self, _field: &FieldRef) -> Fast<&[u8]> {
        Fast::Unsupported
    }

    /// Appends `field` as text output shows it (one value, as
    /// [`crate::format::write_values_text`] would write it) straight to `out`.
    /// On [`Fast::Missing`] and [`Fast::Unsupported`] nothing is appended.
    fn write_text(&self, field: &FieldRef, out: &mut Vec<u8>) -> Fast<()> {
        match self.borrow_bytes(field) {
            Fast::Done(b) => {
                out.extend_from_slice(b);
                Fast::Done(())
            }
            Fast::Missing => Fast::Missing,
            Fast::Unsupported => Fast::Unsupported,
        }
    }

    /// Appends `field` as a JSON value (as JSON output shows a single value)
    /// straight to `out`. On [`Fast::Missing`] and [`Fast::Unsupported`]
    /// nothing is appended.
    fn write_json(&self, field: &FieldRef, out: &mut Vec<u8>) -> Fast<()> {
        match self.borrow_bytes(field) {
            Fast::Done(b) => {
                crate::format::write_json_string(out, b);
                Fast::Done(())
            }
            Fast::Missing => Fast::Missing,
            Fast::Unsupported => Fast::Unsupported,
        }
    }
}

/// One extracted value. Strings and buffers live in the owning [`Values`]' byte buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    Uint(u64),
    /// A boolean.
    Bool(bool),
    /// A floating-point number.
    Double(f64),
    /// Bytes (a string, path or buffer): `start..end` in [`Values::bytes`].
    Bytes(u32, u32),
    /// An IPv4 address, network order.
    Ipv4([u8; 4]),
    /// An IPv6 address.
    Ipv6([u8; 16]),
}

/// A reusable buffer of extracted values: cleared, not freed, between events.
#[derive(Debug, Default, Clone)]
pub struct Values {
    pub(crate) items: Vec<Value>,
    pub(crate) bytes: Vec<u8>,
}

impl Values {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets all values, keeping the allocations.
    #[inline]
    pub fn clear(&mut self) {
        self.items.clear();
        self.bytes.clear();
    }

    /// Pushes a non-byte value.
    #[inline]
    pub fn push(&mut self, v: Value) {
        self.items.push(v);
    }

    /// Pushes a byte-string value, copying it into the buffer.
    #[inline]
    pub fn push_bytes(&mut self, b: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(b);
        let (s, e) = Self::range(start, self.bytes.len());
        self.items.push(Value::Bytes(s, e));
    }

    /// Starts a byte-string value written in pieces through [`Values::bytes_mut`];
    /// finish it with [`Values::end_bytes`].
    #[inline]
    pub fn begin_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// The byte buffer, to append a value started with [`Values::begin_bytes`].
    #[inline]
    pub fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// Finishes a byte-string value started at `start`.
    #[inline]
    pub fn end_bytes(&mut self, start: usize) {
        let (s, e) = Self::range(start, self.bytes.len());
        self.items.push(Value::Bytes(s, e));
    }

    #[inline]
    fn range(start: usize, end: usize) -> (u32, u32) {
        // Values hold one event's fields; events are capped far below 4 GiB.
        (
            u32::try_from(start).unwrap_or(u32::MAX),
            u32::try_from(end).unwrap_or(u32::MAX),
        )
    }

    /// Removes the last value (its bytes stay in the buffer until [`Values::clear`]).
    #[inline]
    pub fn pop(&mut self) -> Option<Value> {
        self.items.pop()
    }

    /// The values, in extraction order.
    #[inline]
    pub fn items(&self) -> &[Value] {
        &self.items
    }

    /// Number of values.
    #[inline]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no values.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The bytes of a [`Value::Bytes`] value (`start..end`).
    #[inline]
    pub fn bytes(&self, start: u32, end: u32) -> &[u8] {
        self.bytes
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }
}
