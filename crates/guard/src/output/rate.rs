//! The `outputs.rate` / `outputs.max_burst` token bucket.

use std::time::Duration;

/// A token bucket: it holds at most `max_burst` tokens, starts full, gains
/// `rate` tokens per second, and each alert takes one. A `rate` of 0 or less
/// (or not a number) means no limit. Time is passed in by the caller as the
/// time since any fixed origin, so tests drive it with a fake clock.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    max: f64,
    tokens: f64,
    last: Duration,
}

impl TokenBucket {
    /// A full bucket, with its clock at 0.
    pub fn new(rate: f64, max_burst: u64) -> TokenBucket {
        // u64 -> f64 loses precision only beyond 2^53 tokens, far past any burst.
        let max = max_burst as f64;
        TokenBucket {
            rate,
            max,
            tokens: max,
            last: Duration::ZERO,
        }
    }

    /// Whether the limiter is off (`rate` is not positive).
    pub fn is_unlimited(&self) -> bool {
        // NaN also counts as "off".
        self.rate.is_nan() || self.rate <= 0.0
    }

    /// Refills for the time since the last call, then takes one token if
    /// there is one. A clock that goes backwards refills nothing.
    pub fn claim(&mut self, now: Duration) -> bool {
        if self.is_unlimited() {
            return true;
        }
        let elapsed = now.saturating_sub(self.last).as_secs_f64();
        if now > self.last {
            self.last = now;
        }
        self.tokens = (self.tokens + elapsed * self.rate).min(self.max);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// The tokens left (fractional between refills).
    pub fn tokens(&self) -> f64 {
        self.tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn starts_full_then_refuses() {
        let mut b = TokenBucket::new(1.0, 3);
        assert!(b.claim(ms(0)));
        assert!(b.claim(ms(0)));
        assert!(b.claim(ms(0)));
        assert!(!b.claim(ms(0)));
        assert!(!b.claim(ms(999)));
    }

    #[test]
    fn refills_at_rate() {
        let mut b = TokenBucket::new(2.0, 2);
        assert!(b.claim(ms(0)));
        assert!(b.claim(ms(0)));
        assert!(!b.claim(ms(0)));
        // 2 tokens per second: one token after 500 ms.
        assert!(!b.claim(ms(400)));
        assert!(b.claim(ms(500)));
        assert!(!b.claim(ms(500)));
        // A long pause refills only up to max_burst.
        assert!(b.claim(ms(60_000)));
        assert!(b.claim(ms(60_000)));
        assert!(!b.claim(ms(60_000)));
    }

    #[test]
    fn fractional_rate() {
        // One alert every 10 s.
        let mut b = TokenBucket::new(0.1, 1);
        assert!(b.claim(ms(0)));
        assert!(!b.claim(ms(9_999)));
        assert!(b.claim(ms(10_000)));
    }

    #[test]
    fn zero_rate_is_unlimited() {
        let mut b = TokenBucket::new(0.0, 0);
        assert!(b.is_unlimited());
        for _ in 0..10_000 {
            assert!(b.claim(ms(0)));
        }
        assert!(TokenBucket::new(f64::NAN, 1).is_unlimited());
        assert!(TokenBucket::new(-1.0, 1).is_unlimited());
    }

    #[test]
    fn zero_burst_refuses_everything() {
        let mut b = TokenBucket::new(100.0, 0);
        assert!(!b.claim(ms(0)));
        assert!(!b.claim(ms(10_000)));
    }

    #[test]
    fn clock_going_backwards_refills_nothing() {
        let mut b = TokenBucket::new(1.0, 1);
        assert!(b.claim(ms(5_000)));
        assert!(!b.claim(ms(1_000)));
        // Time is measured from the latest instant seen (5 s), not 1 s.
        assert!(!b.claim(ms(5_500)));
        assert!(b.claim(ms(6_000)));
        assert_eq!(b.tokens(), 0.0);
    }
}
