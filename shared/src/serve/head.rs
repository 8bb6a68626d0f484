//! Limits on a request head, checked on the bytes as they arrive, before hyper parses them.
//!
//! hyper answers a URI over 64 KiB with a bare 414 and a head over its buffer (or over 100
//! headers) with a bare 431, before any router sees the request, so an axum middleware could
//! never turn those into problem+json. `serve` counts the head itself, with limits below hyper's,
//! and answers the over-long ones with a problem body (see [`rejection`]).

use crate::api::problem::{Problem, ProblemKind};

/// The longest request line (method, URI, version) accepted: 8 KiB.
pub const MAX_REQUEST_LINE: usize = 8 * 1024;
/// The largest head (request line and every header) accepted: 64 KiB.
pub const MAX_HEAD: usize = 64 * 1024;
/// The most header lines accepted (hyper's own limit; reaching it here first answers it with
/// problem+json instead of hyper's empty 431).
pub const MAX_HEADERS: usize = 100;

/// Why a head was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadLimit {
    /// 414: the request line is over [`MAX_REQUEST_LINE`].
    RequestLine,
    /// 431: the head is over [`MAX_HEAD`] or has more than [`MAX_HEADERS`] lines.
    Headers,
}

/// What the bytes fed so far amount to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// The head is not complete yet.
    Partial,
    /// The head ended after this many of the bytes just fed (the rest is body).
    Complete(usize),
    Refused(HeadLimit),
}

/// Counts one request head: its size, the length of the current line, the lines so far.
#[derive(Debug, Default, Clone)]
pub struct HeadScanner {
    total: usize,
    line: usize,
    /// Complete lines, the request line included; leading empty lines are not counted
    /// (HTTP/1.1 lets a client send a CRLF before the request line).
    lines: usize,
}

impl HeadScanner {
    /// Feeds the next bytes of the head.
    pub fn feed(&mut self, bytes: &[u8]) -> Scan {
        for (at, &b) in bytes.iter().enumerate() {
            self.total += 1;
            match b {
                b'\n' => {
                    let empty = self.line == 0;
                    self.line = 0;
                    if empty && self.lines > 0 {
                        return Scan::Complete(at + 1);
                    }
                    if !empty {
                        self.lines += 1;
                        if self.lines > MAX_HEADERS + 1 {
                            return Scan::Refused(HeadLimit::Headers);
                        }
                    }
                }
                // A CR only ends a line together with its LF; it is not part of the line's length.
                b'\r' => {}
                _ => self.line += 1,
            }
            if self.lines == 0 && self.line > MAX_REQUEST_LINE {
                return Scan::Refused(HeadLimit::RequestLine);
            }
            if self.total > MAX_HEAD {
                return Scan::Refused(HeadLimit::Headers);
            }
        }
        Scan::Partial
    }
}

/// The whole HTTP/1.1 response for a refused head: problem+json, and `connection: close`
/// because the rest of the head is never read.
pub fn rejection(limit: HeadLimit) -> Vec<u8> {
    let (kind, detail) = match limit {
        HeadLimit::RequestLine => (
            ProblemKind::UriTooLong,
            format!("the request line is longer than {MAX_REQUEST_LINE} bytes"),
        ),
        HeadLimit::Headers => (
            ProblemKind::HeaderFieldsTooLarge,
            format!(
                "the request headers are larger than {MAX_HEAD} bytes or more than {MAX_HEADERS}"
            ),
        ),
    };
    let status = kind.status();
    let body = serde_json::to_vec(&Problem::new(kind, detail)).unwrap_or_default();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_normal_head_completes_where_it_ends() {
        let head = b"GET /health HTTP/1.1\r\nhost: x\r\n\r\nBODY";
        let mut scan = HeadScanner::default();
        assert_eq!(scan.feed(head), Scan::Complete(head.len() - 4));
    }

    #[test]
    fn a_head_split_anywhere_completes() {
        let head = b"\r\nPOST /v1/events HTTP/1.1\nhost: x\r\nx-a: b\r\n\r\n";
        for cut in 0..head.len() {
            let mut scan = HeadScanner::default();
            let first = scan.feed(&head[..cut]);
            let done = match first {
                Scan::Complete(n) => n,
                Scan::Partial => match scan.feed(&head[cut..]) {
                    Scan::Complete(n) => cut + n,
                    other => panic!("cut {cut}: {other:?}"),
                },
                other => panic!("cut {cut}: {other:?}"),
            };
            assert_eq!(done, head.len(), "cut at {cut}");
        }
    }

    #[test]
    fn a_long_request_line_is_refused_before_it_ends() {
        let mut scan = HeadScanner::default();
        assert_eq!(scan.feed(b"GET /"), Scan::Partial);
        assert_eq!(
            scan.feed(&vec![b'a'; MAX_REQUEST_LINE]),
            Scan::Refused(HeadLimit::RequestLine)
        );
    }

    #[test]
    fn large_or_many_headers_are_refused() {
        let mut scan = HeadScanner::default();
        scan.feed(b"GET / HTTP/1.1\r\n");
        let big = format!("x-big: {}\r\n", "v".repeat(MAX_HEAD));
        assert_eq!(scan.feed(big.as_bytes()), Scan::Refused(HeadLimit::Headers));
        let mut scan = HeadScanner::default();
        scan.feed(b"GET / HTTP/1.1\r\n");
        assert_eq!(scan.feed(&b"a: b\r\n".repeat(MAX_HEADERS)), Scan::Partial);
        assert_eq!(scan.feed(b"a: b\r\n"), Scan::Refused(HeadLimit::Headers));
    }

    #[test]
    fn the_rejection_is_problem_json_that_closes() {
        let bytes = rejection(HeadLimit::RequestLine);
        let text = String::from_utf8(bytes).expect("utf8");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{head}");
        assert!(head.contains("content-type: application/problem+json"));
        assert!(head.contains("connection: close"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(json["status"], 414);
    }
}
