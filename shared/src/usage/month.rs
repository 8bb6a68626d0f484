//! A calendar month in UTC (`2025-01`): the period usage is counted and billed by.

use chrono::{DateTime, Datelike, Utc};

/// One month of one year, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Month {
    year: u16,
    month: u8,
}

/// Why a month did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a month as `YYYY-MM` (`2025-01`)")]
pub struct MonthError;

impl Month {
    /// The month `at` falls in.
    pub fn of(at: DateTime<Utc>) -> Self {
        Self {
            // Years past 9999 do not occur on a running clock; clamp rather than wrap.
            year: u16::try_from(at.year().clamp(0, 9999)).unwrap_or(9999),
            month: u8::try_from(at.month()).unwrap_or(1),
        }
    }

    /// The month it is now.
    pub fn current() -> Self {
        Self::of(Utc::now())
    }
}

impl std::str::FromStr for Month {
    type Err = MonthError;

    /// Exactly `YYYY-MM`: four digits, a dash, `01` to `12` (the pattern the API documents).
    fn from_str(s: &str) -> Result<Self, MonthError> {
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        if b.len() != 7 || b[4] != b'-' || !digits(0..4) || !digits(5..7) {
            return Err(MonthError);
        }
        let year: u16 = s[..4].parse().map_err(|_| MonthError)?;
        let month: u8 = s[5..].parse().map_err(|_| MonthError)?;
        if !(1..=12).contains(&month) {
            return Err(MonthError);
        }
        Ok(Self { year, month })
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_exactly_year_dash_month() {
        for ok in ["2025-01", "1999-12", "0000-06"] {
            assert_eq!(ok.parse::<Month>().unwrap().to_string(), ok);
        }
        for bad in [
            "2025-1",
            "2025-13",
            "2025-00",
            "25-01",
            "2025/01",
            "2025-01-01",
            "",
            "２０２５-01",
            "+025-01",
            "2025-+1",
        ] {
            assert!(bad.parse::<Month>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_time_falls_in_its_utc_month() {
        let at = "2025-03-31T23:59:59Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(Month::of(at).to_string(), "2025-03");
        let at = "2025-04-01T00:00:00+02:00"
            .parse::<DateTime<Utc>>()
            .unwrap();
        assert_eq!(Month::of(at).to_string(), "2025-03");
    }
}
