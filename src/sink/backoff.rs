//! Waiting between attempts at a remote write (InfluxDB, DynamoDB):
//! exponential, capped, with jitter so that several writers do not retry
//! in step.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    attempt: u32,
    attempts: u32,
    base: Duration,
    max: Duration,
}

impl Backoff {
    /// At most `attempts` tries in all, the first wait about `base`.
    pub fn new(attempts: u32, base: Duration, max: Duration) -> Backoff {
        Backoff {
            attempt: 0,
            attempts: attempts.max(1),
            base,
            max,
        }
    }

    /// The usual budget for a write: 8 tries, 100 ms doubling to at most 5 s
    /// (about 15 s of waiting in all).
    pub fn for_writes() -> Backoff {
        Backoff::new(8, Duration::from_millis(100), Duration::from_secs(5))
    }

    /// The wait before the next try, or None when the tries are used up.
    pub fn next_delay(&mut self) -> Option<Duration> {
        self.attempt += 1;
        if self.attempt >= self.attempts {
            return None;
        }
        let exp = self
            .base
            .saturating_mul(1u32 << (self.attempt - 1).min(16))
            .min(self.max);
        // Full jitter on the upper half: between half and all of the delay.
        let jitter = 0.5 + fastrand::f64() * 0.5;
        Some(exp.mul_f64(jitter))
    }

    /// Tries made so far (after the first failure: 1).
    pub fn tries(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_up_to_the_cap_and_stop() {
        let mut b = Backoff::new(5, Duration::from_millis(100), Duration::from_millis(300));
        let d: Vec<Duration> = std::iter::from_fn(|| b.next_delay()).collect();
        assert_eq!(d.len(), 4);
        assert!(d[0] >= Duration::from_millis(50) && d[0] <= Duration::from_millis(100));
        assert!(d[1] >= Duration::from_millis(100) && d[1] <= Duration::from_millis(200));
        assert!(d[3] >= Duration::from_millis(150) && d[3] <= Duration::from_millis(300));
        assert_eq!(b.tries(), 5);
    }
}
