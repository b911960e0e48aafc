//! Rendering of event timestamps as sysdig prints them, in the local time zone
//! (`TZ` is honoured). The zone offset is looked up once per second of event time
//! and cached, so rendering costs a few integer divisions per event.

use chrono::{Local, Offset, TimeZone};
use std::cell::Cell;

const NS: u64 = 1_000_000_000;

/// Converts event timestamps to local wall-clock text.
#[derive(Debug, Default)]
pub struct LocalClock {
    /// (second since the epoch, UTC offset in seconds) of the last lookup.
    cache: Cell<Option<(i64, i64)>>,
    /// (second since the epoch, its local `HH:MM:SS`) of the last [`LocalClock::time`].
    hms: Cell<Option<(u64, [u8; 8])>>,
}

/// Civil date (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Howard Hinnant's days-to-civil algorithm (public-domain arithmetic).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn push2(out: &mut Vec<u8>, v: u32) {
    out.push(b'0' + u8::try_from(v / 10 % 10).unwrap_or(0));
    out.push(b'0' + u8::try_from(v % 10).unwrap_or(0));
}

/// `"00"` to `"99"`, for writing integers two digits at a time.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// The two digits of `v % 100`.
#[inline]
fn pair(v: u64) -> [u8; 2] {
    let i = usize::from((v % 100) as u8) * 2;
    [DIGIT_PAIRS[i], DIGIT_PAIRS[i + 1]]
}

/// The `len` (at most 16) low decimal digits of `n`, as ASCII in the low
/// `len` bytes of a little-endian `u128`, most significant digit first.
/// Digits are assembled in a register and stored at once: writing them to
/// memory one by one and reading them back stalls on store forwarding.
#[inline]
fn packed_digits(mut n: u64, len: usize) -> u128 {
    let mut acc: u128 = 0;
    let mut k = len;
    while k >= 2 {
        acc = (acc << 16) | u128::from(u16::from_le_bytes(pair(n)));
        n /= 100;
        k -= 2;
    }
    if k == 1 {
        acc = (acc << 8) | u128::from(b'0' + (n % 10) as u8);
    }
    acc
}

/// [`packed_digits`] for at most 8 digits, in a `u64`.
#[inline]
fn packed_digits8(mut n: u64, len: usize) -> u64 {
    let mut acc: u64 = 0;
    let mut k = len;
    while k >= 2 {
        acc = (acc << 16) | u64::from(u16::from_le_bytes(pair(n)));
        n /= 100;
        k -= 2;
    }
    if k == 1 {
        acc = (acc << 8) | u64::from(b'0' + (n % 10) as u8);
    }
    acc
}

/// Appends the `len` (at most 16) low decimal digits of `n`, zero-padded.
#[inline]
fn push_digits(out: &mut Vec<u8>, n: u64, len: usize) {
    let at = out.len();
    if len <= 8 {
        out.extend_from_slice(&packed_digits8(n, len).to_le_bytes());
    } else {
        out.extend_from_slice(&packed_digits(n, len).to_le_bytes());
    }
    out.truncate(at + len);
}

/// Appends `v` (modulo 10^9) zero-padded to 9 digits.
pub fn push_ns9(out: &mut Vec<u8>, v: u64) {
    let n = v % NS;
    out.push(b'0' + (n / 100_000_000) as u8);
    out.extend_from_slice(&packed_digits8(n % 100_000_000, 8).to_le_bytes());
}

/// Number of decimal digits of `n` (1 for 0).
#[inline]
fn digit_count(n: u64) -> usize {
    const POW10: [u64; 20] = {
        let mut p = [1u64; 20];
        let mut i = 1;
        while i < 20 {
            p[i] = p[i - 1] * 10;
            i += 1;
        }
        p
    };
    // An estimate from the bit length, corrected once.
    let bits = 64 - (n | 1).leading_zeros() as usize;
    let t = (bits * 1233) >> 12;
    (t + 1 - usize::from(n < POW10[t])).max(1)
}

/// Appends `n` in decimal, as `itoa` writes it, without a `memcpy` call.
#[inline]
pub fn push_u64(out: &mut Vec<u8>, n: u64) {
    const E16: u64 = 10_000_000_000_000_000;
    if n < E16 {
        push_digits(out, n, digit_count(n));
    } else {
        let hi = n / E16;
        push_digits(out, hi, digit_count(hi));
        push_digits(out, n % E16, 16);
    }
}

/// The decimal text of the last integer written, reused for the same value
/// and updated in place for its successor (event numbers count up by one).
#[derive(Debug, Default)]
pub struct DecimalCache {
    /// (value, its digits as [`packed_digits`] gives them, digit count).
    last: Cell<Option<(u64, u128, usize)>>,
}

impl DecimalCache {
    /// A cache with nothing in it.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `n` in decimal, as [`push_u64`] does.
    #[inline]
    pub fn push(&self, out: &mut Vec<u8>, n: u64) {
        const E16: u64 = 10_000_000_000_000_000;
        if n >= E16 {
            return push_u64(out, n);
        }
        let (acc, len) = match self.last.get() {
            Some((p, acc, len)) if p == n => (acc, len),
            // Only the last digit changes, and it does not wrap.
            Some((p, acc, len)) if p.wrapping_add(1) == n && !n.is_multiple_of(10) => {
                (acc + (1u128 << ((len - 1) * 8)), len)
            }
            _ => {
                let len = digit_count(n);
                (packed_digits(n, len), len)
            }
        };
        self.last.set(Some((n, acc, len)));
        let at = out.len();
        out.extend_from_slice(&acc.to_le_bytes());
        out.truncate(at + len);
    }
}

/// Appends `n` in decimal (see [`push_u64`]).
#[inline]
pub fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_u64(out, n.unsigned_abs());
}

/// Appends `secs.nnnnnnnnn` for a duration in nanoseconds.
pub fn push_secs_ns(out: &mut Vec<u8>, ns: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(ns / NS).as_bytes());
    out.push(b'.');
    push_ns9(out, ns);
}

impl LocalClock {
    /// A clock with an empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn offset(&self, sec: i64) -> i64 {
        if let Some((s, off)) = self.cache.get() {
            if s == sec {
                return off;
            }
        }
        let off = Local
            .timestamp_opt(sec, 0)
            .single()
            .map_or(0, |dt| i64::from(dt.offset().fix().local_minus_utc()));
        self.cache.set(Some((sec, off)));
        off
    }

    fn local_secs(&self, ts: u64) -> i64 {
        let sec = i64::try_from(ts / NS).unwrap_or(i64::MAX / 2);
        sec + self.offset(sec)
    }

    /// `HH:MM:SS` of a local time in seconds.
    fn hms(local: i64) -> [u8; 8] {
        let tod = u32::try_from(local.rem_euclid(86_400)).unwrap_or(0);
        let d = |v: u32| b'0' + u8::try_from(v % 10).unwrap_or(0);
        let (h, m, s) = (tod / 3600, tod / 60 % 60, tod % 60);
        [
            d(h / 10),
            d(h),
            b':',
            d(m / 10),
            d(m),
            b':',
            d(s / 10),
            d(s),
        ]
    }

    fn push_hms(out: &mut Vec<u8>, local: i64) {
        out.extend_from_slice(&Self::hms(local));
    }

    fn push_date(out: &mut Vec<u8>, days: i64) {
        let (y, m, d) = civil_from_days(days);
        out.extend_from_slice(itoa::Buffer::new().format(y).as_bytes());
        out.push(b'-');
        push2(out, m);
        out.push(b'-');
        push2(out, d);
    }

    /// `HH:MM:SS.nnnnnnnnn` (evt.time, and evt.outputtime in `-t h` mode).
    /// Consecutive events mostly share their second, so its text is cached.
    pub fn time(&self, out: &mut Vec<u8>, ts: u64) {
        let sec = ts / NS;
        let hms = match self.hms.get() {
            Some((s, hms)) if s == sec => hms,
            _ => {
                let hms = Self::hms(self.local_secs(ts));
                self.hms.set(Some((sec, hms)));
                hms
            }
        };
        out.extend_from_slice(&hms);
        out.push(b'.');
        push_ns9(out, ts);
    }

    /// `HH:MM:SS` (evt.time.s).
    pub fn time_s(&self, out: &mut Vec<u8>, ts: u64) {
        Self::push_hms(out, self.local_secs(ts));
    }

    /// `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` (evt.datetime).
    pub fn datetime(&self, out: &mut Vec<u8>, ts: u64) {
        self.datetime_s(out, ts);
        out.push(b'.');
        push_ns9(out, ts);
    }

    /// `YYYY-MM-DD HH:MM:SS` (evt.datetime.s).
    pub fn datetime_s(&self, out: &mut Vec<u8>, ts: u64) {
        let local = self.local_secs(ts);
        Self::push_date(out, local.div_euclid(86_400));
        out.push(b' ');
        Self::push_hms(out, local);
    }
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+0000`, always in UTC (evt.time.iso8601).
pub fn iso8601(out: &mut Vec<u8>, ts: u64) {
    let sec = i64::try_from(ts / NS).unwrap_or(0);
    LocalClock::push_date(out, sec.div_euclid(86_400));
    out.push(b'T');
    LocalClock::push_hms(out, sec);
    out.push(b'.');
    push_ns9(out, ts);
    out.extend_from_slice(b"+0000");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_match_itoa() {
        let mut cases: Vec<u64> =
            vec![0, 1, 9, 10, 99, 100, 101, 999, 1000, u64::MAX, u64::MAX - 1];
        for k in 0..20 {
            let p = 10u64.pow(k);
            cases.extend([p - 1, p, p + 1, p.wrapping_mul(7) / 3]);
        }
        for n in cases {
            let mut o = b"x".to_vec();
            push_u64(&mut o, n);
            assert_eq!(&o[1..], itoa::Buffer::new().format(n).as_bytes());
        }
        let cache = DecimalCache::new();
        let mut seq: Vec<u64> = (0..2_000).chain(99_990..100_020).collect();
        seq.extend([7, 7, 6, 10_000_000_000_000_000, 9_999_999_999_999_999, 5]);
        for n in seq {
            let mut o = b"x".to_vec();
            cache.push(&mut o, n);
            assert_eq!(&o[1..], itoa::Buffer::new().format(n).as_bytes());
        }
        for n in [0i64, -1, 42, -987_654_321, i64::MIN, i64::MAX] {
            let mut o = Vec::new();
            push_i64(&mut o, n);
            assert_eq!(o, itoa::Buffer::new().format(n).as_bytes());
        }
    }

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn formats() {
        let ts = 1_470_327_477_881_788_861;
        assert_eq!(s(|o| iso8601(o, ts)), "2016-08-04T16:17:57.881788861+0000");
        assert_eq!(s(|o| push_secs_ns(o, 1_000_000_320)), "1.000000320");
        // The cached second is reused only within that second.
        let c = LocalClock::new();
        let a = s(|o| c.time(o, ts));
        let b = s(|o| c.time(o, ts + 1));
        let d = s(|o| c.time(o, ts + 1_000_000_000));
        assert_eq!(&a[..8], &b[..8]);
        assert_eq!(a.len(), 18);
        assert_ne!(&a[..8], &d[..8]);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(s(|o| push_ns9(o, 1_000_000_320)), "000000320");
        assert_eq!(s(|o| push_ns9(o, 987_654_321)), "987654321");
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
