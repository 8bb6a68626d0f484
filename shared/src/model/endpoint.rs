//! Outbound webhook endpoints: where a tenant wants its events delivered.

use super::{EndpointId, TenantId};
use crate::crypto::Envelope;
use crate::error::{DomainError, FieldError};
use crate::ssrf::AddressPolicy;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const DEFAULT_TIMEOUT_MS: u32 = 15_000;
pub const MIN_TIMEOUT_MS: u32 = 1_000;
pub const MAX_TIMEOUT_MS: u32 = 30_000;
pub const MAX_ATTEMPTS_LIMIT: u32 = 12;
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
pub const MAX_URL_LEN: usize = 2048;
pub const MAX_EVENT_TYPES: usize = 64;
pub const MAX_HEADERS: usize = 20;
/// Header names are bounded too (the `http` crate alone allows 64 KiB), so that an endpoint record
/// stays far below DynamoDB's 400 KB item limit whatever its headers.
pub const MAX_HEADER_NAME: usize = 256;
pub const MAX_HEADER_VALUE: usize = 1024;
/// The longest event type name; a pattern may add `.*`.
pub const MAX_EVENT_TYPE_LEN: usize = 128;
/// The most secrets that sign at once: the newest plus at most 4 in their grace period. Every
/// valid secret adds a signature to every delivery, so without a bound repeated rotations make
/// a header receivers refuse (431) and an endpoint record over DynamoDB's item limit.
pub const MAX_SIGNING_SECRETS: usize = 5;
/// A header value this short is masked whole: showing its last 4 characters would give most of it away.
pub const MASK_MIN_LEN: usize = 12;
pub const MAX_DESCRIPTION: usize = 512;
pub const MAX_RATE_LIMIT: u32 = 10_000;
/// Headers Switchboard sets itself or that would break the request.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-authorization",
    "proxy-connection",
    "expect",
];

/// One signing secret of an endpoint, sealed with envelope encryption.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSecret {
    /// Distinguishes the secrets of one endpoint (also part of the encryption context).
    pub id: String,
    pub sealed: Envelope,
    pub created_at: DateTime<Utc>,
    /// Set when a rotation retired this secret: it keeps signing until then.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Custom delivery headers as validated: lowercased names, and values kept secret because
/// receivers' credentials (`authorization`, API keys) travel in them.
pub type HeaderValues = BTreeMap<String, SecretString>;

/// An endpoint's custom headers as stored: every value sealed in one envelope (one key-provider
/// call to save them, one per process and cache period to send them), plus a masked hint per
/// name so that views never decrypt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SealedHeaders {
    /// Distinguishes each sealing: part of the encryption context and of the cache key, so a
    /// change of headers takes effect at once.
    pub id: String,
    /// Each header name with its value masked ([`mask`]).
    pub masked: BTreeMap<String, String>,
    /// The JSON object `{name: value}`.
    pub sealed: Envelope,
}

/// Headers of records written before header values were sealed, kept in clear as they were: read
/// so that those endpoints keep working (masked in views), and replaced by [`SealedHeaders`]
/// when the endpoint is next updated or its secret rotated. Debug shows the names only.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LegacyHeaders(pub BTreeMap<String, String>);

impl LegacyHeaders {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for LegacyHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// How a header value is shown: `***` and its last 4 characters, or `***` alone when it is
/// shorter than [`MASK_MIN_LEN`].
pub fn mask(value: &str) -> String {
    let count = value.chars().count();
    if count < MASK_MIN_LEN {
        return "***".to_owned();
    }
    let tail: String = value.chars().skip(count - 4).collect();
    format!("***{tail}")
}

/// An endpoint as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: EndpointId,
    pub tenant_id: TenantId,
    pub url: String,
    pub event_types: Vec<String>,
    /// Custom headers sent with every delivery, sealed; `None` when there are none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_headers: Option<SealedHeaders>,
    /// Custom headers of a record written before headers were sealed (stored as `headers`).
    #[serde(
        default,
        rename = "headers",
        skip_serializing_if = "LegacyHeaders::is_empty"
    )]
    pub legacy_headers: LegacyHeaders,
    pub description: String,
    pub enabled: bool,
    pub timeout_ms: u32,
    pub max_attempts: u32,
    pub rate_limit_per_s: Option<u32>,
    /// Newest first; at most [`MAX_SIGNING_SECRETS`].
    pub secrets: Vec<StoredSecret>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Why the endpoint was disabled by Switchboard (410, failing too long).
    #[serde(default)]
    pub disabled_reason: Option<String>,
    /// Since when every delivery has failed; cleared by a success.
    #[serde(default)]
    pub failing_since: Option<DateTime<Utc>>,
    #[serde(default)]
    pub deleted_at: Option<DateTime<Utc>>,
    pub version: u64,
}

impl Endpoint {
    /// Whether this endpoint subscribes to `event_type`.
    pub fn subscribes_to(&self, event_type: &str) -> bool {
        self.event_types
            .iter()
            .any(|p| pattern_matches(p, event_type))
    }

    /// The secrets that sign now: the current one and those still in their grace period, newest
    /// first and never more than [`MAX_SIGNING_SECRETS`] (also for records written before the cap).
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> impl Iterator<Item = &StoredSecret> {
        self.secrets
            .iter()
            .filter(move |s| s.expires_at.is_none_or(|t| t > now))
            .take(MAX_SIGNING_SECRETS)
    }

    /// Each custom header name with its value masked, for views.
    pub fn masked_headers(&self) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = self
            .legacy_headers
            .0
            .iter()
            .map(|(name, value)| (name.clone(), mask(value)))
            .collect();
        if let Some(sealed) = &self.sealed_headers {
            out.extend(sealed.masked.clone());
        }
        out
    }
}

/// `*` matches everything; `ticket.*` matches every type that starts with `ticket.` (at any
/// depth: `ticket.created`, `ticket.comment.added`); anything else matches itself exactly.
pub fn pattern_matches(pattern: &str, event_type: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some("") => true,
        Some(prefix) => event_type.starts_with(prefix) && event_type.len() > prefix.len(),
        None => pattern == event_type,
    }
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Checks an event type name: dotted segments of letters, digits, `_` and `-`.
pub fn validate_event_type(field: &str, name: &str) -> Result<(), FieldError> {
    if name.len() > MAX_EVENT_TYPE_LEN || !name.split('.').all(valid_segment) {
        return Err(FieldError::new(
            field,
            "must be dotted segments of letters, digits, `_` or `-` (e.g. `ticket.created`)",
        ));
    }
    Ok(())
}

fn validate_pattern(field: &str, pattern: &str) -> Result<(), FieldError> {
    if pattern.len() > 128 {
        return Err(FieldError::new(field, "must be at most 128 characters"));
    }
    match pattern.strip_suffix(".*") {
        _ if pattern == "*" => Ok(()),
        Some(prefix) => validate_event_type(field, prefix),
        None if pattern.contains('*') => Err(FieldError::new(
            field,
            "a wildcard may only be `*` or end a prefix (`ticket.*`)",
        )),
        None => validate_event_type(field, pattern),
    }
}

/// Checks a delivery URL: http(s), no credentials, a port other than 0, not an internal address
/// literal, and at most [`MAX_URL_LEN`] characters also once normalised (percent-encoding and
/// punycode can make it longer than what was sent).
pub fn parse_url(raw: &str, policy: &AddressPolicy) -> Result<String, FieldError> {
    let err = |m: &str| FieldError::new("url", m);
    if raw.len() > MAX_URL_LEN {
        return Err(err("must be at most 2048 characters"));
    }
    if !has_url_shape(raw) {
        return Err(err(
            "must be http(s)://host[:port][/path] in ASCII: a host of letters, digits, `.`, `_`, `~`, `-` \
             (IDNs in punycode) or a bracketed IPv6 literal, a port 1-65535, no spaces",
        ));
    }
    let url = url::Url::parse(raw).map_err(|e| err(&format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(err("must be an http or https URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err("must not carry credentials; use `headers` instead"));
    }
    if url.port() == Some(0) {
        return Err(err("must not use port 0"));
    }
    let ip = match url.host() {
        None => return Err(err("must have a host")),
        Some(url::Host::Ipv4(v4)) => Some(std::net::IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(std::net::IpAddr::V6(v6)),
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
            Some(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
        }
        Some(url::Host::Domain(_)) => None,
    };
    if let Some(ip) = ip
        && !policy.permits_saving(ip)
    {
        return Err(err(
            "points at a private, loopback or otherwise internal address (see SWITCHBOARD_ALLOW_CIDRS)",
        ));
    }
    let normalised = url.to_string();
    if normalised.len() > MAX_URL_LEN {
        return Err(err("must be at most 2048 characters once percent-encoded"));
    }
    Ok(normalised)
}

/// Whether `raw` has the shape the OpenAPI document's `url` pattern describes (kept in step by
/// a test that runs the pattern): a client validating against the document then refuses what
/// the server refuses, short of address checks a pattern cannot express (IPv4 and IPv6 syntax,
/// IDNA, the SSRF policy).
fn has_url_shape(raw: &str) -> bool {
    let Some((scheme, rest)) = raw.split_once("://") else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return false;
    }
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((literal, after)) => {
                let hex = |b: u8| b.is_ascii_hexdigit() || b == b':' || b == b'.';
                if literal.is_empty() || !literal.bytes().all(hex) {
                    return false;
                }
                match after {
                    "" => ("v6", None),
                    _ => match after.strip_prefix(':') {
                        Some(port) => ("v6", Some(port)),
                        None => return false,
                    },
                }
            }
            None => return false,
        },
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let host_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-');
    let port_ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 5
            && !p.starts_with('0')
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| (1..=65_535).contains(&n))
    };
    !host.is_empty()
        && host.bytes().all(host_byte)
        && port.is_none_or(port_ok)
        && tail.bytes().all(|b| b.is_ascii_graphic())
}

/// Checks custom delivery headers: valid, not reserved, at most 20, names of at most 256 and
/// values of at most 1024 characters; names lowercased, values kept secret.
pub fn parse_headers(headers: &BTreeMap<String, String>) -> Result<HeaderValues, FieldError> {
    if headers.len() > MAX_HEADERS {
        return Err(FieldError::new(
            "headers",
            format!("at most {MAX_HEADERS} headers"),
        ));
    }
    let mut out = BTreeMap::new();
    for (name, value) in headers {
        let field = format!("headers.{name}");
        let lower = name.to_ascii_lowercase();
        if lower.len() > MAX_HEADER_NAME {
            return Err(FieldError::new(
                "headers",
                format!("header names must be at most {MAX_HEADER_NAME} characters"),
            ));
        }
        if http::HeaderName::from_bytes(lower.as_bytes()).is_err() {
            return Err(FieldError::new(field, "not a valid header name"));
        }
        if RESERVED_HEADERS.contains(&lower.as_str()) || lower.starts_with("webhook-") {
            return Err(FieldError::new(
                field,
                "is set by Switchboard and cannot be overridden",
            ));
        }
        let visible = |b: u8| b == b'\t' || (0x20..0x7f).contains(&b);
        if value.len() > MAX_HEADER_VALUE || !value.bytes().all(visible) {
            return Err(FieldError::new(
                field,
                "must be a header value of at most 1024 visible ASCII characters",
            ));
        }
        if out
            .insert(lower, SecretString::from(value.clone()))
            .is_some()
        {
            return Err(FieldError::new(
                field,
                "is given twice (header names are case-insensitive)",
            ));
        }
    }
    Ok(out)
}

/// The validated settings of a new endpoint.
#[derive(Debug, Clone)]
pub struct EndpointSettings {
    pub url: String,
    pub event_types: Vec<String>,
    pub headers: HeaderValues,
    pub description: String,
    pub enabled: bool,
    pub timeout_ms: u32,
    pub max_attempts: u32,
    pub rate_limit_per_s: Option<u32>,
}

/// A validated change to an endpoint (`PATCH`): only the fields present are changed;
/// `rate_limit_per_s: Some(None)` removes the limit.
#[derive(Debug, Clone, Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// New headers in clear: the repository seals them and sets them itself, so
    /// [`EndpointChange::apply`] leaves headers alone.
    pub headers: Option<HeaderValues>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub timeout_ms: Option<u32>,
    pub max_attempts: Option<u32>,
    pub rate_limit_per_s: Option<Option<u32>>,
}

impl EndpointChange {
    /// Applies the change but for `headers` (see the field); re-enabling clears why Switchboard
    /// disabled the endpoint.
    pub fn apply(&self, endpoint: &mut Endpoint) {
        if let Some(url) = &self.url {
            endpoint.url.clone_from(url);
        }
        if let Some(types) = &self.event_types {
            endpoint.event_types.clone_from(types);
        }
        if let Some(d) = &self.description {
            endpoint.description.clone_from(d);
        }
        if let Some(t) = self.timeout_ms {
            endpoint.timeout_ms = t;
        }
        if let Some(m) = self.max_attempts {
            endpoint.max_attempts = m;
        }
        if let Some(rate) = self.rate_limit_per_s {
            endpoint.rate_limit_per_s = rate;
        }
        if let Some(enabled) = self.enabled {
            endpoint.enabled = enabled;
            if enabled {
                endpoint.disabled_reason = None;
                endpoint.failing_since = None;
            }
        }
    }
}

/// Checks the subscription list: 1–64 exact names, prefix globs or `*`; sorted, deduplicated.
pub fn parse_event_types(types: &[String]) -> Result<Vec<String>, FieldError> {
    if types.is_empty() {
        return Err(FieldError::new(
            "event_types",
            "list at least one pattern (`*` for all)",
        ));
    }
    if types.len() > MAX_EVENT_TYPES {
        return Err(FieldError::new(
            "event_types",
            format!("at most {MAX_EVENT_TYPES} patterns"),
        ));
    }
    for (i, t) in types.iter().enumerate() {
        validate_pattern(&format!("event_types[{i}]"), t)?;
    }
    let mut out = types.to_vec();
    out.sort();
    out.dedup();
    Ok(out)
}

/// Checks that `value` lies in `min..=max`, naming `field` otherwise.
pub fn parse_range(field: &str, value: u32, min: u32, max: u32) -> Result<u32, FieldError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(
            field,
            format!("must be between {min} and {max}"),
        ))
    }
}

/// Checks a description: at most 512 characters.
pub fn parse_description(d: &str) -> Result<String, FieldError> {
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(FieldError::new(
            "description",
            "must be at most 512 characters",
        ));
    }
    Ok(d.to_owned())
}

/// Checks `timeout_ms`.
pub fn parse_timeout(ms: u32) -> Result<u32, FieldError> {
    parse_range("timeout_ms", ms, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS)
}

/// Checks `max_attempts`.
pub fn parse_max_attempts(n: u32) -> Result<u32, FieldError> {
    parse_range("max_attempts", n, 1, MAX_ATTEMPTS_LIMIT)
}

/// Checks `rate_limit_per_s`.
pub fn parse_rate_limit(n: u32) -> Result<u32, FieldError> {
    parse_range("rate_limit_per_s", n, 1, MAX_RATE_LIMIT)
}

/// The default grace period of a rotated signing secret.
pub const DEFAULT_ROTATION_GRACE_SECONDS: i64 = 86_400;
/// The longest grace period of a rotated signing secret.
pub const MAX_ROTATION_GRACE_SECONDS: i64 = 7 * 86_400;

/// How long the previous secret keeps signing after a rotation.
pub fn rotation_grace(seconds: Option<i64>) -> Result<chrono::Duration, DomainError> {
    let grace = seconds.unwrap_or(DEFAULT_ROTATION_GRACE_SECONDS);
    if !(0..=MAX_ROTATION_GRACE_SECONDS).contains(&grace) {
        return Err(DomainError::invalid(
            "grace_seconds",
            format!("must be between 0 and {MAX_ROTATION_GRACE_SECONDS}"),
        ));
    }
    Ok(chrono::Duration::seconds(grace))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn globs_match_as_documented() {
        assert!(pattern_matches("*", "anything.at.all"));
        assert!(pattern_matches("ticket.*", "ticket.created"));
        assert!(pattern_matches("ticket.*", "ticket.comment.added"));
        assert!(!pattern_matches("ticket.*", "ticket"));
        assert!(!pattern_matches("ticket.*", "tickets.created"));
        assert!(pattern_matches("ticket.created", "ticket.created"));
        assert!(!pattern_matches("ticket.created", "ticket.created.v2"));
    }

    #[test]
    fn patterns_are_checked() {
        assert!(parse_event_types(&["ticket.*".into(), "*".into(), "a.b_c-d".into()]).is_ok());
        for bad in ["ti*cket", "ticket.", ".x", "a..b", "a.*.b", "sp ace", "*.x"] {
            assert!(parse_event_types(&[bad.into()]).is_err(), "{bad}");
        }
        assert!(parse_event_types(&[]).is_err());
    }

    #[test]
    fn urls_are_checked() {
        let strict = AddressPolicy::default();
        assert!(parse_url("https://example.com/hook", &strict).is_ok());
        for bad in [
            "ftp://example.com",
            "not a url",
            "http://127.0.0.1/x",
            "http://[::1]/",
            "http://169.254.169.254/latest",
            "http://user:pw@example.com/",
            "http://localhost:8080/",
            "http://10.0.0.1/",
            "http://[::ffff:10.0.0.1]/",
        ] {
            assert!(parse_url(bad, &strict).is_err(), "{bad}");
        }
        let local = AddressPolicy::from_allow_list("127.0.0.1/32").expect("cidr");
        assert!(parse_url("http://127.0.0.1:9000/hook", &local).is_ok());
    }

    #[test]
    fn reserved_headers_are_refused() {
        for name in [
            "webhook-id",
            "Webhook-Signature",
            "host",
            "content-length",
            "Content-Type",
        ] {
            let h = BTreeMap::from([(name.to_owned(), "x".to_owned())]);
            assert!(parse_headers(&h).is_err(), "{name}");
        }
        let ok = BTreeMap::from([("X-Tenant".to_owned(), "acme".to_owned())]);
        assert_eq!(
            parse_headers(&ok)
                .ok()
                .and_then(|h| h.get("x-tenant").map(|v| v.expose_secret().to_owned()))
                .as_deref(),
            Some("acme")
        );
        let bad_value = BTreeMap::from([("x-a".to_owned(), "line\nbreak".to_owned())]);
        assert!(parse_headers(&bad_value).is_err());
    }

    #[test]
    fn header_names_are_bounded_and_unique() {
        let long = BTreeMap::from([("x".repeat(MAX_HEADER_NAME + 1), "v".to_owned())]);
        assert_eq!(
            parse_headers(&long).err().map(|e| e.field),
            Some("headers".to_owned())
        );
        let longest = BTreeMap::from([("x".repeat(MAX_HEADER_NAME), "v".to_owned())]);
        assert!(parse_headers(&longest).is_ok());
        let twice = BTreeMap::from([
            ("X-A".to_owned(), "1".to_owned()),
            ("x-a".to_owned(), "2".to_owned()),
        ]);
        assert!(parse_headers(&twice).is_err());
    }

    #[test]
    fn masks_show_at_most_the_last_four_characters() {
        assert_eq!(mask("Bearer sk_live_abcd1234"), "***1234");
        assert_eq!(mask("short"), "***");
        assert_eq!(mask(&"x".repeat(MASK_MIN_LEN - 1)), "***");
    }

    #[test]
    fn port_zero_and_long_normalised_urls_are_refused() {
        let strict = AddressPolicy::default();
        for bad in ["https://example.com:0/hook", "http://example.com:00/"] {
            assert_eq!(
                parse_url(bad, &strict).err().map(|e| e.field),
                Some("url".to_owned()),
                "{bad}"
            );
        }
        // 700 characters that percent-encode to 2,100.
        let long = format!("https://example.com/{}", "<".repeat(700));
        assert!(long.len() <= MAX_URL_LEN);
        assert!(parse_url(&long, &strict).is_err());
        assert!(parse_url("https://example.com:8443/", &strict).is_ok());
    }

    #[test]
    fn at_most_five_secrets_sign() {
        let now = Utc::now();
        let secret = |n: i64| StoredSecret {
            id: n.to_string(),
            sealed: Envelope {
                v: 1,
                alg: "AES-256-GCM".into(),
                key_id: "k".into(),
                wrapped_key: String::new(),
                nonce: String::new(),
                ciphertext: String::new(),
            },
            created_at: now,
            expires_at: (n > 0).then(|| now + chrono::Duration::hours(n)),
        };
        let endpoint = Endpoint {
            id: EndpointId::generate(),
            tenant_id: TenantId::generate(),
            url: "https://example.com/".into(),
            event_types: vec!["*".into()],
            sealed_headers: None,
            legacy_headers: LegacyHeaders::default(),
            description: String::new(),
            enabled: true,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            rate_limit_per_s: None,
            secrets: (0..9).map(secret).collect(),
            created_at: now,
            updated_at: now,
            disabled_reason: None,
            failing_since: None,
            deleted_at: None,
            version: 1,
        };
        let ids: Vec<&str> = endpoint
            .signing_secrets(now)
            .map(|s| s.id.as_str())
            .collect();
        assert_eq!(ids, ["0", "1", "2", "3", "4"]);
    }

    #[test]
    fn legacy_clear_headers_are_read_and_masked() {
        let stored = serde_json::json!({
            "id": EndpointId::generate(), "tenant_id": TenantId::generate(),
            "url": "https://example.com/", "event_types": ["*"],
            "headers": {"authorization": "Bearer 0123456789abcdef"},
            "description": "", "enabled": true, "timeout_ms": 15000, "max_attempts": 8,
            "rate_limit_per_s": null, "secrets": [],
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "version": 1
        });
        let endpoint: Endpoint = serde_json::from_value(stored).expect("legacy record");
        assert_eq!(
            endpoint
                .masked_headers()
                .get("authorization")
                .map(String::as_str),
            Some("***cdef")
        );
        assert!(!format!("{endpoint:?}").contains("0123456789abcdef"));
    }
}
