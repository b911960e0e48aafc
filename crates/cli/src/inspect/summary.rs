//! The `-S` summary table: calls per event type, most frequent first.
//!
//! sysdig keeps one counter per event type followed by an enter/exit pair per
//! `PPM_SC_*` system call code (for generic `syscall` events), and orders the
//! whole table with the C++ standard library's unstable sort. Rows with equal
//! counts therefore come out in the order that sort leaves them in, so this
//! module reproduces libstdc++'s introsort step by step to print ties the same
//! way.

use osprey_event::syscalls::{syscall_name, PPM_SC_MAX};
use std::io::{self, Write};

/// Number of event types in sysdig 0.29.3's table: the size of the first part
/// of the summary table.
const EVENT_SLOTS: usize = osprey_state::LEGACY_EVENT_MAX as usize;

/// First slot of the event types newer than sysdig 0.29.3's table (counted in
/// full mode only), after the generic-syscall slots so that the order of ties
/// among the older ones stays sysdig's.
const NEWER_SLOTS: usize = EVENT_SLOTS + 2 * PPM_SC_MAX;

/// How many rows are printed at most.
const MAX_ROWS: usize = 100;

/// libstdc++'s `_S_threshold`: below this size introsort leaves a range to the
/// final insertion sort.
const THRESHOLD: usize = 16;

/// One row of the table: its slot (event type, or `EVENT_SLOTS + 2 * code + exit`
/// for a generic system call) and its count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    slot: usize,
    calls: u64,
}

/// Counts events the way `sysdig -S` does.
#[derive(Debug)]
pub struct Summary {
    table: Vec<Entry>,
}

impl Summary {
    /// An empty table; `full` adds the event types newer than sysdig 0.29.3's
    /// (without them the table has sysdig's size, which its sort's order of
    /// ties depends on).
    pub fn new(full: bool) -> Self {
        let newer = if full {
            osprey_event::table::EVENTS.len() - EVENT_SLOTS
        } else {
            0
        };
        Summary {
            table: (0..NEWER_SLOTS + newer)
                .map(|slot| Entry { slot, calls: 0 })
                .collect(),
        }
    }

    /// Counts one event of type `etype`; `syscall_id` is the `ID` parameter
    /// of a generic `syscall` event (types 0 and 1).
    pub fn count(&mut self, etype: u16, syscall_id: Option<u64>) {
        let slot = if etype < 2 {
            match syscall_id.and_then(|id| usize::try_from(id).ok()) {
                Some(id) if id < PPM_SC_MAX => EVENT_SLOTS + 2 * id + usize::from(etype),
                _ => return,
            }
        } else if usize::from(etype) >= EVENT_SLOTS {
            NEWER_SLOTS + usize::from(etype) - EVENT_SLOTS
        } else {
            usize::from(etype)
        };
        if let Some(e) = self.table.get_mut(slot) {
            e.calls += 1;
        }
    }

    /// Writes the table: a header, then up to 100 rows by descending count.
    pub fn write(mut self, out: &mut impl Write) -> io::Result<()> {
        std_sort(&mut self.table);
        writeln!(out, "----------------------")?;
        writeln!(out, "{:<16}#Calls", "Event")?;
        writeln!(out, "----------------------")?;
        for e in self.table.iter().take(MAX_ROWS) {
            if e.calls == 0 {
                break;
            }
            let etype = if e.slot >= NEWER_SLOTS {
                Some(e.slot - NEWER_SLOTS + EVENT_SLOTS)
            } else if e.slot < EVENT_SLOTS {
                Some(e.slot)
            } else {
                None
            };
            let (dir, name) = if let Some(t) = etype {
                let Some(t) = u16::try_from(t).ok() else {
                    continue;
                };
                match (osprey_event::info(t), osprey_event::render::event_name(t)) {
                    (Some(i), Some(name)) => (i.dir.as_char(), name),
                    _ => continue,
                }
            } else {
                let code = (e.slot - EVENT_SLOTS) / 2;
                let exit = (e.slot - EVENT_SLOTS) % 2 == 1;
                let name = u16::try_from(code)
                    .ok()
                    .and_then(syscall_name)
                    .unwrap_or("<unknown>");
                (if exit { '<' } else { '>' }, name)
            };
            // Names are padded or cut to 16 characters.
            let name = name.get(..16).unwrap_or(name);
            writeln!(out, "{dir} {name:<16}{}", e.calls)?;
        }
        Ok(())
    }
}

/// sysdig's ordering: more calls first.
fn before(a: &Entry, b: &Entry) -> bool {
    a.calls > b.calls
}

/// libstdc++'s `std::sort`: introsort with a median-of-three pivot, heapsort
/// past the depth limit, then one insertion sort over the whole range.
fn std_sort(v: &mut [Entry]) {
    if v.is_empty() {
        return;
    }
    let depth = 2 * v.len().ilog2();
    introsort_loop(v, depth);
    final_insertion_sort(v);
}

fn introsort_loop(v: &mut [Entry], mut depth: u32) {
    let mut last = v.len();
    while last > THRESHOLD {
        if depth == 0 {
            heap_sort(&mut v[..last]);
            return;
        }
        depth -= 1;
        let cut = partition_pivot(&mut v[..last]);
        introsort_loop(&mut v[cut..last], depth);
        last = cut;
    }
}

fn partition_pivot(v: &mut [Entry]) -> usize {
    let last = v.len();
    let mid = last / 2;
    move_median_to_first(v, 1, mid, last - 1);
    // Unguarded partition of [1, last) around v[0].
    let (mut first, mut last) = (1, last);
    loop {
        while before(&v[first], &v[0]) {
            first += 1;
        }
        last -= 1;
        while before(&v[0], &v[last]) {
            last -= 1;
        }
        if first >= last {
            return first;
        }
        v.swap(first, last);
        first += 1;
    }
}

fn move_median_to_first(v: &mut [Entry], a: usize, b: usize, c: usize) {
    let pick = if before(&v[a], &v[b]) {
        if before(&v[b], &v[c]) {
            b
        } else if before(&v[a], &v[c]) {
            c
        } else {
            a
        }
    } else if before(&v[a], &v[c]) {
        a
    } else if before(&v[b], &v[c]) {
        c
    } else {
        b
    };
    v.swap(0, pick);
}

fn final_insertion_sort(v: &mut [Entry]) {
    if v.len() > THRESHOLD {
        insertion_sort(&mut v[..THRESHOLD]);
        for i in THRESHOLD..v.len() {
            linear_insert(v, i);
        }
    } else {
        insertion_sort(v);
    }
}

fn insertion_sort(v: &mut [Entry]) {
    for i in 1..v.len() {
        if before(&v[i], &v[0]) {
            v[..=i].rotate_right(1);
        } else {
            linear_insert(v, i);
        }
    }
}

/// Moves `v[i]` left past every element it sorts before (something at or
/// before the start is known to stop it).
fn linear_insert(v: &mut [Entry], mut i: usize) {
    let val = v[i];
    while i > 0 && before(&val, &v[i - 1]) {
        v[i] = v[i - 1];
        i -= 1;
    }
    v[i] = val;
}

/// libstdc++'s `make_heap` then `sort_heap` (what `partial_sort` does over
/// the whole range).
fn heap_sort(v: &mut [Entry]) {
    let len = v.len();
    if len < 2 {
        return;
    }
    let mut parent = (len - 2) / 2;
    loop {
        let val = v[parent];
        adjust_heap(v, parent, len, val);
        if parent == 0 {
            break;
        }
        parent -= 1;
    }
    let mut last = len;
    while last > 1 {
        last -= 1;
        let val = v[last];
        v[last] = v[0];
        adjust_heap(v, 0, last, val);
    }
}

fn adjust_heap(v: &mut [Entry], mut hole: usize, len: usize, val: Entry) {
    let top = hole;
    let mut child = hole;
    while child < (len - 1) / 2 {
        child = 2 * (child + 1);
        if before(&v[child], &v[child - 1]) {
            child -= 1;
        }
        v[hole] = v[child];
        hole = child;
    }
    if len.is_multiple_of(2) && child == (len - 2) / 2 {
        child = 2 * (child + 1);
        v[hole] = v[child - 1];
        hole = child - 1;
    }
    let mut parent = hole.saturating_sub(1) / 2;
    while hole > top && before(&v[parent], &val) {
        v[hole] = v[parent];
        hole = parent;
        parent = hole.saturating_sub(1) / 2;
    }
    v[hole] = val;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(counts: &[u64]) -> Vec<Entry> {
        counts
            .iter()
            .enumerate()
            .map(|(slot, &calls)| Entry { slot, calls })
            .collect()
    }

    #[test]
    fn sorts_descending_like_std_sort() {
        let counts: Vec<u64> = (0..1000u64).map(|i| (i * 7919) % 13).collect();
        let mut v = entries(&counts);
        std_sort(&mut v);
        assert!(v.windows(2).all(|w| w[0].calls >= w[1].calls));
        let mut slots: Vec<usize> = v.iter().map(|e| e.slot).collect();
        slots.sort_unstable();
        assert_eq!(slots, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn small_ranges_are_stable() {
        // Up to 16 entries only the insertion sort runs, which keeps ties in order.
        let mut v = entries(&[1, 3, 1, 3, 2]);
        std_sort(&mut v);
        let slots: Vec<usize> = v.iter().map(|e| e.slot).collect();
        assert_eq!(slots, [1, 3, 4, 0, 2]);
    }

    #[test]
    fn heap_sort_orders() {
        let mut v = entries(&[5, 1, 4, 4, 9, 0, 2]);
        heap_sort(&mut v);
        let calls: Vec<u64> = v.iter().map(|e| e.calls).collect();
        assert_eq!(calls, [9, 5, 4, 4, 2, 1, 0]);
    }

    #[test]
    fn generic_syscalls_count_by_code() {
        let mut s = Summary::new(false);
        s.count(0, Some(3));
        s.count(1, Some(3));
        s.count(1, Some(3));
        s.count(0, None);
        let mut out = Vec::new();
        s.write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.ends_with("< read            2\n> read            1\n"),
            "{text}"
        );
        let mut s = Summary::new(false);
        // PPM_SC 195 is inotify_add_watch: 17 characters, cut to 16.
        assert_eq!(syscall_name(195), Some("inotify_add_watch"));
        s.count(1, Some(195));
        let mut out = Vec::new();
        s.write(&mut out).unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .ends_with("< inotify_add_watc1\n"));
    }
}
