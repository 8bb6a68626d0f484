//! When a failed delivery is tried again.

use std::time::Duration;

/// The default schedule: the delay before attempt 1, 2, … (immediately, 5 s, 5 min, 30 min,
/// 2 h, 5 h, 10 h, 10 h); past its end the last delay repeats.
pub const DEFAULT_SCHEDULE: [Duration; 8] = [
    Duration::ZERO,
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// A retry schedule with ±20 % jitter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self {
            delays: DEFAULT_SCHEDULE.to_vec(),
        }
    }
}

/// Why a schedule could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a retry schedule is comma-separated seconds, e.g. `0,5,300`")]
pub struct BadSchedule;

impl RetrySchedule {
    /// Parses comma-separated seconds (`SWITCHBOARD_RETRY_SCHEDULE`, for tests and tuning).
    pub fn parse(text: &str) -> Result<Self, BadSchedule> {
        let delays = text
            .split(',')
            .map(|s| s.trim().parse::<f64>().map_err(|_| BadSchedule))
            .map(|r| {
                r.and_then(|s| {
                    if s >= 0.0 && s.is_finite() {
                        Ok(Duration::from_secs_f64(s))
                    } else {
                        Err(BadSchedule)
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if delays.is_empty() {
            return Err(BadSchedule);
        }
        Ok(Self { delays })
    }

    /// The nominal delay before attempt `next` (1-based), without jitter.
    pub fn nominal(&self, next: u32) -> Duration {
        let i = (next.max(1) - 1) as usize;
        self.delays
            .get(i)
            .or(self.delays.last())
            .copied()
            .unwrap_or_default()
    }

    /// The delay before attempt `next`: the nominal delay ±20 %, or the receiver's `Retry-After`
    /// when it asked for one, kept within [nominal, 2 × nominal].
    pub fn delay(&self, next: u32, retry_after: Option<Duration>) -> Duration {
        let nominal = self.nominal(next);
        match retry_after {
            Some(asked) => asked.clamp(nominal, nominal * 2),
            None => jitter(nominal),
        }
    }
}

fn jitter(d: Duration) -> Duration {
    let [r] = crate::crypto::random::bytes::<1>();
    // A factor in [0.8, 1.2].
    let factor = 0.8 + 0.4 * (f64::from(r) / 255.0);
    d.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_documented_schedule_with_jitter() {
        let s = RetrySchedule::default();
        assert_eq!(s.nominal(1), Duration::ZERO);
        assert_eq!(s.nominal(2), Duration::from_secs(5));
        assert_eq!(s.nominal(8), Duration::from_secs(36_000));
        assert_eq!(
            s.nominal(12),
            Duration::from_secs(36_000),
            "the last delay repeats"
        );
        for _ in 0..100 {
            let d = s.delay(3, None);
            assert!(
                d >= Duration::from_secs(240) && d <= Duration::from_secs(360),
                "{d:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_within_bounds() {
        let s = RetrySchedule::default();
        assert_eq!(
            s.delay(2, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            s.delay(2, Some(Duration::from_secs(1))),
            Duration::from_secs(5)
        );
        assert_eq!(
            s.delay(2, Some(Duration::from_secs(3600))),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn parses_custom_schedules() {
        let s = RetrySchedule::parse("0, 0.5, 1").expect("schedule");
        assert_eq!(s.nominal(2), Duration::from_millis(500));
        assert!(RetrySchedule::parse("x").is_err());
        assert!(RetrySchedule::parse("-1").is_err());
    }
}
