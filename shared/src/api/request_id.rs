//! `x-request-id`: kept from the client when it is short and plain, made fresh (a ULID)
//! otherwise, echoed on the response and logged on the request's span.
//!
//! A client-chosen id goes into every log line of its request and back into the response, so
//! one with spaces, quotes or `key=value` text could forge log fields; only ids of at most
//! [`MAX_LEN`] characters of `[A-Za-z0-9._-]` are kept, and the span logs the id (and the path)
//! Debug-formatted, quoted and escaped, as a second line of defence.

use axum::body::Body;
use axum::http::{HeaderName, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

/// The header carrying the id.
pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-supplied id kept.
pub const MAX_LEN: usize = 64;

/// Whether a client-supplied id may be kept: 1 to [`MAX_LEN`] characters of `[A-Za-z0-9._-]`.
pub fn acceptable(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Drops every incoming `x-request-id` unless there is exactly one and it is acceptable, so the
/// next layer (`SetRequestIdLayer`) makes a fresh one.
pub fn drop_unacceptable(mut request: Request<Body>) -> Request<Body> {
    let headers = request.headers_mut();
    let mut values = headers.get_all(&HEADER).iter();
    let keep = match (values.next(), values.next()) {
        (None, _) => true,
        (Some(one), None) => acceptable(one.as_bytes()),
        (Some(_), Some(_)) => false,
    };
    if !keep {
        headers.remove(&HEADER);
    }
    request
}

/// Makes ids for requests that came without an acceptable one.
#[derive(Clone, Copy)]
pub struct UlidRequestId;

impl MakeRequestId for UlidRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        ulid::Ulid::new()
            .to_string()
            .parse()
            .ok()
            .map(RequestId::new)
    }
}

/// The span every request's log lines carry; client-supplied values are Debug-formatted.
pub fn span<B>(request: &Request<B>) -> tracing::Span {
    let id = request
        .headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = ?request.uri().path(),
        request_id = ?id
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_acceptable() {
        assert!(acceptable(b"01HZX3Q4-abc_def.9"));
        assert!(acceptable("a".repeat(MAX_LEN).as_bytes()));
        assert!(!acceptable("a".repeat(MAX_LEN + 1).as_bytes()));
        assert!(!acceptable(b""));
        for bad in ["a b", "a\"b", "a=b", "a\tb", "a/b", "é"] {
            assert!(!acceptable(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn duplicate_or_bad_ids_are_dropped_and_good_ones_kept() {
        let with = |ids: &[&str]| {
            let mut builder = Request::builder();
            for id in ids {
                builder = builder.header("x-request-id", *id);
            }
            let request = drop_unacceptable(builder.body(Body::empty()).expect("request"));
            request
                .headers()
                .get_all("x-request-id")
                .iter()
                .map(|v| v.to_str().unwrap_or("?").to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(with(&["good-1"]), vec!["good-1"]);
        assert!(with(&["bad id=1"]).is_empty());
        assert!(with(&["good-1", "good-2"]).is_empty());
        assert!(with(&[]).is_empty());
    }
}
