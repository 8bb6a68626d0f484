//! How long `serve` waits for a client and how many it holds at once. Without these a few
//! thousand connections that never finish their request head keep every socket and task alive
//! forever, and the process stops answering even `/health`.

use crate::delivery::TEST_SEND_TIMEOUT;
use std::time::Duration;

/// Default for `--header-timeout-ms` / `SWITCHBOARD_HEADER_TIMEOUT_MS`.
pub const DEFAULT_HEADER_TIMEOUT_MS: u64 = 10_000;
/// Default for `--idle-timeout-ms` / `SWITCHBOARD_IDLE_TIMEOUT_MS`.
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 60_000;
/// Default for `--request-timeout-ms` / `SWITCHBOARD_REQUEST_TIMEOUT_MS`.
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 30_000;
/// Default for `--max-connections` / `SWITCHBOARD_MAX_CONNECTIONS`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// The shortest request timeout `serve` accepts: `POST /v1/webhooks/{id}/test` sends inline and
/// may wait [`TEST_SEND_TIMEOUT`] (25 s) for the receiver, then records the attempt; 5 s more
/// leaves room for that write, so a slow receiver is answered with its recorded attempt rather
/// than cut off with a 408.
pub const MIN_REQUEST_TIMEOUT: Duration = TEST_SEND_TIMEOUT.saturating_add(Duration::from_secs(5));

/// The most connections `--max-connections` may allow (far beyond any file-descriptor limit).
pub const MAX_MAX_CONNECTIONS: usize = 1_000_000;

/// The limits of `serve`'s HTTP listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// A request head (request line and headers) must arrive within this, counted from the
    /// connection's accept for its first request and from the head's first byte afterwards.
    pub header_timeout: Duration,
    /// A keep-alive connection with no request in progress is closed after this.
    pub idle_timeout: Duration,
    /// A request (reading its body and handling it) is answered 408 after this.
    pub request_timeout: Duration,
    /// Connections held at once; beyond it the listener stops accepting until one closes
    /// (new clients wait in the kernel's backlog).
    pub max_connections: usize,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_millis(DEFAULT_HEADER_TIMEOUT_MS),
            idle_timeout: Duration::from_millis(DEFAULT_IDLE_TIMEOUT_MS),
            request_timeout: Duration::from_millis(DEFAULT_REQUEST_TIMEOUT_MS),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// A limit `serve` refuses to start with, named by its flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--{flag}: {reason}")]
pub struct LimitError {
    pub flag: &'static str,
    pub reason: String,
}

impl ServeLimits {
    /// Checks every limit, naming the first bad one.
    pub fn validate(&self) -> Result<(), LimitError> {
        let positive = [
            ("header-timeout-ms", self.header_timeout),
            ("idle-timeout-ms", self.idle_timeout),
        ];
        for (flag, value) in positive {
            if value.is_zero() {
                return Err(LimitError {
                    flag,
                    reason: "must be at least 1 ms".into(),
                });
            }
        }
        if self.request_timeout < MIN_REQUEST_TIMEOUT {
            return Err(LimitError {
                flag: "request-timeout-ms",
                reason: format!(
                    "must be at least {} ms: a webhook test send may wait {} ms for its receiver",
                    MIN_REQUEST_TIMEOUT.as_millis(),
                    TEST_SEND_TIMEOUT.as_millis()
                ),
            });
        }
        if !(1..=MAX_MAX_CONNECTIONS).contains(&self.max_connections) {
            return Err(LimitError {
                flag: "max-connections",
                reason: format!("must be between 1 and {MAX_MAX_CONNECTIONS}"),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_outlast_the_inline_test_send() {
        let limits = ServeLimits::default();
        assert_eq!(limits.validate(), Ok(()));
        assert!(limits.request_timeout > TEST_SEND_TIMEOUT);
    }

    #[test]
    fn bad_limits_name_their_flag() {
        let short = ServeLimits {
            request_timeout: TEST_SEND_TIMEOUT,
            ..ServeLimits::default()
        };
        assert_eq!(
            short.validate().map_err(|e| e.flag),
            Err("request-timeout-ms")
        );
        let zero = ServeLimits {
            header_timeout: Duration::ZERO,
            ..ServeLimits::default()
        };
        assert_eq!(
            zero.validate().map_err(|e| e.flag),
            Err("header-timeout-ms")
        );
        let none = ServeLimits {
            max_connections: 0,
            ..ServeLimits::default()
        };
        assert_eq!(none.validate().map_err(|e| e.flag), Err("max-connections"));
    }
}
