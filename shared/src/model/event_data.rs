//! What an event's `data` may be. It arrives as raw JSON that is stored, signed and delivered
//! byte for byte, and the body reader accepts anything that is JSON by grammar. But a common
//! JSON reader (ours included) refuses deep nesting, numbers that overflow a double and strings
//! with lone surrogate escapes, so such data would be signed and sent to receivers that cannot
//! parse it, and could not be shown back either. It is refused at publish instead.

/// How deeply arrays and objects may nest in `data`: well inside what readers accept (serde_json
/// stops at 128, many others near 100–1000), and deeper than real event payloads go.
pub const MAX_DEPTH: usize = 64;

/// Why `data` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    #[error("nests arrays and objects more than {MAX_DEPTH} levels deep")]
    TooDeep,
    /// A number that is no finite double (`1e999999`) or a string with a lone surrogate
    /// (`"\ud800"`); the reader's message says which and where.
    #[error("must be JSON any reader accepts (finite numbers, no lone surrogates): {0}")]
    Unreadable(String),
}

/// Checks raw JSON `data` (already valid by grammar) against what readers accept.
pub fn check(raw: &str) -> Result<(), DataError> {
    // Counted first, without recursion, so that a deep value never reaches the parser below.
    if nests_deeper_than(raw.as_bytes(), MAX_DEPTH) {
        return Err(DataError::TooDeep);
    }
    // Parsing into a value decodes every string and number, which is what fails on lone
    // surrogates and out-of-range numbers.
    serde_json::from_str::<serde_json::Value>(raw)
        .map(drop)
        .map_err(|e| DataError::Unreadable(e.to_string()))
}

/// Whether arrays and objects nest more than `max` levels deep in the JSON text `bytes`. Brackets
/// inside strings do not count; UTF-8 continuation bytes are never ASCII, so a byte scan is exact.
fn nests_deeper_than(bytes: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        format!("{}{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn depth_limit_is_exact() {
        assert_eq!(check(&nested(MAX_DEPTH)), Ok(()));
        assert_eq!(check(&nested(MAX_DEPTH + 1)), Err(DataError::TooDeep));
        assert_eq!(check(&nested(10_000)), Err(DataError::TooDeep));
        let objects = format!(
            "{}1{}",
            r#"{"a":"#.repeat(MAX_DEPTH + 1),
            "}".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(check(&objects), Err(DataError::TooDeep));
    }

    #[test]
    fn brackets_in_strings_do_not_count() {
        let text = format!(
            r#"{{"s":"{}\"{}","t":[1]}}"#,
            "[".repeat(500),
            "{".repeat(500)
        );
        assert_eq!(check(&text), Ok(()));
    }

    #[test]
    fn refuses_what_readers_refuse() {
        for bad in [r#""\ud800""#, r#"{"a":"x\udc00y"}"#, "1e999999", "[-1e400]"] {
            assert!(
                matches!(check(bad), Err(DataError::Unreadable(_))),
                "{bad} must be refused"
            );
        }
        for good in [
            r#""\ud83d\ude00""#,
            "1e308",
            "-0",
            "12345678901234567890123",
            r#"{"a":[true,null,"é"]}"#,
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
    }
}
