//! The checks every scheme is built from: reading headers within bounds, timestamps within
//! tolerance, HMAC keys prepared once and compared in constant time, and the config helpers that
//! name the offending field.

use super::{MAX_HEADER_BYTES, MAX_SIGNATURES, Rejection, Request};
use crate::error::FieldError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

/// The longest shared secret accepted in a config (HMAC keys longer than a block are hashed
/// first anyway; this only stops absurd input).
pub(super) const MAX_SECRET_BYTES: usize = 1024;
/// A delivery id longer than this, or not visible ASCII, is not used as a dedupe key.
const MAX_DEDUPE_KEY_BYTES: usize = 256;

// ---------------------------------------------------------------------------------------------
// Headers

/// A header's value as visible ASCII, `None` when absent. Rejects a repeated header (no
/// provider sends its signature twice; a second copy is an attempt to confuse), an over-long
/// one (unread) and one that is not visible ASCII.
pub(super) fn optional_header<'a>(
    request: &Request<'a>,
    name: &str,
) -> Result<Option<&'a str>, Rejection> {
    let mut values = request.headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Rejection::RepeatedHeader {
            header: name.to_owned(),
        });
    }
    let len = value.as_bytes().len();
    if len > MAX_HEADER_BYTES {
        return Err(Rejection::HeaderTooLong {
            header: name.to_owned(),
            len,
            max: MAX_HEADER_BYTES,
        });
    }
    value
        .to_str()
        .map(|v| Some(v.trim()))
        .map_err(|_| malformed(name, "not visible ASCII"))
}

/// A header that the scheme requires.
pub(super) fn header<'a>(request: &Request<'a>, name: &str) -> Result<&'a str, Rejection> {
    match optional_header(request, name)? {
        Some(value) if !value.is_empty() => Ok(value),
        Some(_) => Err(malformed(name, "empty")),
        None => Err(Rejection::MissingHeader {
            header: name.to_owned(),
        }),
    }
}

pub(super) fn malformed(header: &str, reason: &'static str) -> Rejection {
    Rejection::MalformedHeader {
        header: header.to_owned(),
        reason,
    }
}

/// The provider's delivery id for dedupe: the header's value when it is a sane key, else `None`
/// (the intake then derives its own). Never a rejection: the id is not part of the signature.
pub(super) fn dedupe_key(request: &Request<'_>, name: &str) -> Option<String> {
    let value = request.headers.get(name)?.to_str().ok()?.trim();
    (!value.is_empty() && value.len() <= MAX_DEDUPE_KEY_BYTES).then(|| value.to_owned())
}

/// Splits a list header into its entries, refusing more than [`MAX_SIGNATURES`] of those that
/// `is_signature` picks out, so hostile input costs a bounded scan and no extra MAC.
pub(super) fn bounded_entries<'a>(
    header: &str,
    value: &'a str,
    separators: &[char],
    is_signature: impl Fn(&str) -> bool,
) -> Result<Vec<&'a str>, Rejection> {
    let mut out = Vec::new();
    let mut signatures = 0usize;
    for entry in value
        .split(|c: char| separators.contains(&c))
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        if is_signature(entry) {
            signatures += 1;
            if signatures > MAX_SIGNATURES {
                return Err(Rejection::TooManySignatures {
                    header: header.to_owned(),
                    max: MAX_SIGNATURES,
                });
            }
        }
        out.push(entry);
    }
    Ok(out)
}

/// A top-level string (or integer, as text) field of a JSON object body: read only after the
/// signature passed, for dedupe keys and handshakes. `None` when the body is not a JSON object
/// or the field is absent or too long to be a key.
pub(super) fn body_field(body: &[u8], name: &str) -> Option<String> {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let text = match object.get(name)? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!text.is_empty() && text.len() <= MAX_DEDUPE_KEY_BYTES).then_some(text)
}

/// A body as a JSON object, for the schemes that sign fields inside it (sign side only).
pub(super) fn json_object(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    }
}

/// A `t=…,v1=…,v1=…` style header (Stripe, Paddle): the one timestamp under `ts_key` and every
/// hex signature under `sig_key` (bounded in count); other keys are ignored.
pub(super) fn keyed_hex_signatures<'a>(
    header: &str,
    value: &'a str,
    separator: char,
    ts_key: &str,
    sig_key: &str,
) -> Result<(&'a str, Vec<Tag>), Rejection> {
    let entries = bounded_entries(header, value, &[separator], |e| {
        e.split_once('=').is_some_and(|(k, _)| k == sig_key)
    })?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for entry in entries {
        let Some((key, val)) = entry.split_once('=') else {
            return Err(malformed(header, "an entry is not key=value"));
        };
        if key == ts_key {
            if timestamp.replace(val).is_some() {
                return Err(malformed(header, "the timestamp appears twice"));
            }
        } else if key == sig_key {
            signatures.push(
                Tag::from_hex(val).ok_or_else(|| malformed(header, "a signature is not hex"))?,
            );
        }
    }
    let timestamp = timestamp.ok_or_else(|| malformed(header, "no timestamp"))?;
    if signatures.is_empty() {
        return Err(malformed(header, "no signature"));
    }
    Ok((timestamp, signatures))
}

// ---------------------------------------------------------------------------------------------
// Timestamps

/// A Unix-seconds timestamp as the providers write it: ASCII digits only (no sign, no spaces),
/// at most 12 of them.
pub(super) fn parse_unix_seconds(header: &str, raw: &str) -> Result<i64, Rejection> {
    parse_digits(raw, 12).ok_or_else(|| malformed(header, "timestamp is not Unix seconds"))
}

/// ASCII digits (1 to `max_len`) as an integer; `None` for anything else.
pub(super) fn parse_digits(raw: &str, max_len: usize) -> Option<i64> {
    if raw.is_empty() || raw.len() > max_len || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

/// `timestamp` (Unix seconds) within `tolerance` seconds of `now`, either way.
pub(super) fn check_timestamp(timestamp: i64, now: i64, tolerance: u32) -> Result<(), Rejection> {
    let age = now.saturating_sub(timestamp);
    if age > i64::from(tolerance) {
        return Err(Rejection::Stale {
            seconds: age,
            tolerance,
        });
    }
    if age < -i64::from(tolerance) {
        return Err(Rejection::InTheFuture {
            seconds: age.saturating_neg(),
            tolerance,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// HMAC

/// An HMAC hash function, as `generic_hmac` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "sha1" => Some(Self::Sha1),
            "sha256" => Some(Self::Sha256),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }
}

/// An HMAC keyed once, when the config is built: each request clones the prepared state (the
/// ipad/opad midstates, wiped on drop with the `zeroize` features) and hashes only the message.
#[derive(Clone)]
pub(super) enum MacKey {
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
    Sha512(Hmac<Sha512>),
}

/// A MAC or a presented signature: at most 64 bytes (HMAC-SHA512), on the stack.
#[derive(Clone, Copy)]
pub(super) struct Tag {
    bytes: [u8; 64],
    len: usize,
}

impl Tag {
    fn from_slice(slice: &[u8]) -> Option<Self> {
        let mut bytes = [0u8; 64];
        bytes.get_mut(..slice.len())?.copy_from_slice(slice);
        Some(Self {
            bytes,
            len: slice.len(),
        })
    }

    pub(super) fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// A hex signature (either case); `None` if it is not hex of at most 64 bytes.
    pub(super) fn from_hex(text: &str) -> Option<Self> {
        let mut bytes = [0u8; 64];
        let len = text.len() / 2;
        if !text.len().is_multiple_of(2) || len == 0 {
            return None;
        }
        hex::decode_to_slice(text, bytes.get_mut(..len)?).ok()?;
        Some(Self { bytes, len })
    }

    /// A base64 (standard alphabet, padded) signature of at most 64 bytes.
    pub(super) fn from_base64(text: &str) -> Option<Self> {
        if text.is_empty() || text.len() > 88 {
            return None;
        }
        let mut buf = [0u8; 72];
        let len = STANDARD.decode_slice(text, &mut buf).ok()?;
        Self::from_slice(buf.get(..len)?)
    }

    pub(super) fn to_hex(self) -> String {
        hex::encode(self.as_slice())
    }

    pub(super) fn to_base64(self) -> String {
        STANDARD.encode(self.as_slice())
    }

    /// Constant-time equality (lengths are public: they follow from the algorithm).
    pub(super) fn ct_eq(&self, other: &Tag) -> bool {
        bool::from(self.as_slice().ct_eq(other.as_slice()))
    }
}

fn mac_of<M: Mac + Clone>(mac: &M, parts: &[&[u8]]) -> Option<Tag> {
    let mut mac = mac.clone();
    for part in parts {
        mac.update(part);
    }
    Tag::from_slice(&mac.finalize().into_bytes())
}

impl MacKey {
    /// Keys an HMAC. HMAC takes keys of any length, so the `Err` the generic `KeyInit` API
    /// declares never happens; it is still mapped to a field error rather than unwrapped.
    pub(super) fn new(algorithm: Algorithm, key: &[u8], field: &str) -> Result<Self, FieldError> {
        let bad = |_| FieldError::new(field, "not usable as an HMAC key");
        Ok(match algorithm {
            Algorithm::Sha1 => Self::Sha1(Hmac::new_from_slice(key).map_err(bad)?),
            Algorithm::Sha256 => Self::Sha256(Hmac::new_from_slice(key).map_err(bad)?),
            Algorithm::Sha512 => Self::Sha512(Hmac::new_from_slice(key).map_err(bad)?),
        })
    }

    /// The MAC of the concatenation of `parts`.
    pub(super) fn tag(&self, parts: &[&[u8]]) -> Tag {
        let tag = match self {
            Self::Sha1(m) => mac_of(m, parts),
            Self::Sha256(m) => mac_of(m, parts),
            Self::Sha512(m) => mac_of(m, parts),
        };
        // Every digest here is at most 64 bytes, so `from_slice` cannot fail; an empty tag
        // would match no presented signature if it ever did.
        tag.unwrap_or(Tag {
            bytes: [0; 64],
            len: 0,
        })
    }
}

/// The HMAC keys of one integration: the current secret first, then those in rotation grace.
#[derive(Clone)]
pub(super) struct MacKeys(Vec<MacKey>);

impl MacKeys {
    /// Keys each secret's UTF-8 bytes verbatim (what most providers do).
    pub(super) fn from_secrets(
        algorithm: Algorithm,
        secrets: &[SecretString],
        field: &str,
    ) -> Result<Self, FieldError> {
        secrets
            .iter()
            .map(|s| MacKey::new(algorithm, shared_secret(field, s)?, field))
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub(super) fn from_keys(keys: Vec<MacKey>) -> Self {
        Self(keys)
    }

    /// Whether any key's MAC over `parts` equals any of `presented`: one MAC per key, each
    /// compared in constant time with every presented signature.
    pub(super) fn any_matches(&self, parts: &[&[u8]], presented: &[Tag]) -> bool {
        let mut matched = false;
        for key in &self.0 {
            let expected = key.tag(parts);
            for sig in presented {
                matched |= expected.ct_eq(sig);
            }
        }
        matched
    }

    /// The current key's MAC, for signing.
    pub(super) fn current(&self, parts: &[&[u8]]) -> Option<Tag> {
        self.0.first().map(|k| k.tag(parts))
    }
}

// ---------------------------------------------------------------------------------------------
// Static credentials

/// A static token kept as its SHA-256, so comparing a presented token costs the same whatever
/// its length or content (comparing the raw strings would leak the length).
pub(super) struct TokenDigest([u8; 32]);

impl TokenDigest {
    pub(super) fn of(token: &[u8]) -> Self {
        Self(Sha256::digest(token).into())
    }

    pub(super) fn matches(&self, presented: &[u8]) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented).into();
        bool::from(self.0.ct_eq(&presented))
    }
}

/// Whether any of `digests` matches `presented` (every one is compared).
pub(super) fn any_token_matches(digests: &[TokenDigest], presented: &[u8]) -> bool {
    digests
        .iter()
        .fold(false, |acc, d| acc | d.matches(presented))
}

// ---------------------------------------------------------------------------------------------
// Config helpers

/// A shared secret's bytes: non-empty, at most [`MAX_SECRET_BYTES`], and without surrounding
/// whitespace (a pasted trailing newline would otherwise fail every request silently).
pub(super) fn shared_secret<'a>(
    field: &str,
    secret: &'a SecretString,
) -> Result<&'a [u8], FieldError> {
    let text = secret.expose_secret();
    if text.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if text.len() > MAX_SECRET_BYTES {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_SECRET_BYTES} bytes"),
        ));
    }
    if text.trim() != text {
        return Err(FieldError::new(
            field,
            "must not start or end with whitespace",
        ));
    }
    Ok(text.as_bytes())
}

/// `config.<name>`: the field path the API reports.
pub(super) fn field(name: &str) -> String {
    format!("config.{name}")
}

/// Rejects options a provider does not take, naming the first unknown one.
pub(super) fn only_options(
    options: &Map<String, Value>,
    allowed: &[&str],
) -> Result<(), FieldError> {
    match options.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(FieldError::new(
            field(unknown),
            if allowed.is_empty() {
                "unknown field: this provider takes no options".to_owned()
            } else {
                format!("unknown field (allowed: {})", allowed.join(", "))
            },
        )),
        None => Ok(()),
    }
}

/// An optional string option.
pub(super) fn string_option<'a>(
    options: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, FieldError> {
    match options.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(FieldError::new(field(name), "must be a string")),
    }
}

/// An optional header-name option, lower-cased; `default` when absent.
pub(super) fn header_option(
    options: &Map<String, Value>,
    name: &str,
    default: Option<&str>,
) -> Result<Option<String>, FieldError> {
    let Some(value) = string_option(options, name)?.or(default) else {
        return Ok(None);
    };
    http::HeaderName::from_bytes(value.as_bytes())
        .map(|h| Some(h.as_str().to_owned()))
        .map_err(|_| FieldError::new(field(name), "must be an HTTP header name"))
}

/// A fresh random id (32 hex characters) for the delivery-id header of a signed test request.
pub(super) fn random_id() -> String {
    hex::encode(crate::crypto::random::bytes::<16>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_checked_both_ways_without_overflow() {
        assert_eq!(check_timestamp(1000, 1300, 300), Ok(()));
        assert_eq!(check_timestamp(1000, 700, 300), Ok(()));
        assert_eq!(
            check_timestamp(1000, 1301, 300),
            Err(Rejection::Stale {
                seconds: 301,
                tolerance: 300
            })
        );
        assert_eq!(
            check_timestamp(1000, 699, 300),
            Err(Rejection::InTheFuture {
                seconds: 301,
                tolerance: 300
            })
        );
        assert!(check_timestamp(i64::MIN, i64::MAX, 300).is_err());
        assert!(check_timestamp(i64::MAX, i64::MIN, 300).is_err());
    }

    #[test]
    fn timestamps_are_digits_only() {
        for bad in ["", "+5", "-5", " 5", "5.0", "1e9", "1234567890123"] {
            assert!(parse_unix_seconds("t", bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_unix_seconds("t", "1614265330"), Ok(1614265330));
    }

    #[test]
    fn tags_decode_within_bounds() {
        assert!(Tag::from_hex("zz").is_none());
        assert!(Tag::from_hex("abc").is_none());
        assert!(Tag::from_hex(&"ab".repeat(65)).is_none());
        assert_eq!(
            Tag::from_hex("ABcd").map(|t| t.to_hex()),
            Some("abcd".into())
        );
        assert!(Tag::from_base64(&"A".repeat(200)).is_none());
        let long = STANDARD.encode([7u8; 64]);
        assert_eq!(
            Tag::from_base64(&long).map(|t| t.as_slice().len()),
            Some(64)
        );
        assert!(Tag::from_base64(&STANDARD.encode([7u8; 65])).is_none());
    }

    #[test]
    fn many_signatures_are_refused_before_any_mac() {
        let value = vec!["v1=aa"; MAX_SIGNATURES + 1].join(",");
        assert_eq!(
            bounded_entries("h", &value, &[','], |e| e.starts_with("v1=")),
            Err(Rejection::TooManySignatures {
                header: "h".into(),
                max: MAX_SIGNATURES
            })
        );
        let ok = vec!["v1=aa"; MAX_SIGNATURES].join(",");
        assert_eq!(
            bounded_entries("h", &ok, &[','], |e| e.starts_with("v1=")).map(|v| v.len()),
            Ok(MAX_SIGNATURES)
        );
    }

    #[test]
    fn tokens_compare_by_digest() {
        let d = [TokenDigest::of(b"old"), TokenDigest::of(b"new")];
        assert!(any_token_matches(&d, b"new"));
        assert!(any_token_matches(&d, b"old"));
        assert!(!any_token_matches(&d, b"ne"));
        assert!(!any_token_matches(&d, b""));
    }
}
