//! Outbound webhook endpoints: where a tenant wants its events delivered.

use super::{EndpointId, TenantId};
use crate::crypto::Envelope;
use crate::ssrf::AddressPolicy;
use crate::error::{DomainError, FieldError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub const DEFAULT_TIMEOUT_MS: u32 = 15_000;
pub const MIN_TIMEOUT_MS: u32 = 1_000;
pub const MAX_TIMEOUT_MS: u32 = 30_000;
pub const MAX_ATTEMPTS_LIMIT: u32 = 12;
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
const MAX_URL_LEN: usize = 2048;
const MAX_EVENT_TYPES: usize = 64;
const MAX_HEADERS: usize = 20;
const MAX_HEADER_VALUE: usize = 1024;
const MAX_DESCRIPTION: usize = 512;
const MAX_RATE_LIMIT: u32 = 10_000;
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

/// An endpoint as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: EndpointId,
    pub tenant_id: TenantId,
    pub url: String,
    pub event_types: Vec<String>,
    pub headers: BTreeMap<String, String>,
    pub description: String,
    pub enabled: bool,
    pub timeout_ms: u32,
    pub max_attempts: u32,
    pub rate_limit_per_s: Option<u32>,
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

    /// The secrets that sign now: the current one and those still in their grace period.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> impl Iterator<Item = &StoredSecret> {
        self.secrets
            .iter()
            .filter(move |s| s.expires_at.is_none_or(|t| t > now))
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
    if name.len() > 128 || !name.split('.').all(valid_segment) {
        return Err(FieldError::new(
            field,
            "must be dotted segments of letters, digits, `_` or `-` (e.g. `ticket.created`)",
        ));
    }
    Ok(())
}

fn validate_pattern(field: &str, pattern: &str) -> Result<(), FieldError> {
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

fn validate_url(raw: &str, policy: &AddressPolicy) -> Result<String, FieldError> {
    let err = |m: &str| FieldError::new("url", m);
    if raw.len() > MAX_URL_LEN {
        return Err(err("must be at most 2048 characters"));
    }
    let url = url::Url::parse(raw.trim()).map_err(|e| err(&format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(err("must be an http or https URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err("must not carry credentials; use `headers` instead"));
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
        && !policy.permits(ip)
    {
        return Err(err(
            "points at a private, loopback or otherwise internal address (see SWITCHBOARD_ALLOW_CIDRS)",
        ));
    }
    Ok(url.to_string())
}

fn validate_headers(
    headers: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, FieldError> {
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
        if http::HeaderName::from_bytes(lower.as_bytes()).is_err() {
            return Err(FieldError::new(field, "not a valid header name"));
        }
        if RESERVED_HEADERS.contains(&lower.as_str()) || lower.starts_with("webhook-") {
            return Err(FieldError::new(
                field,
                "is set by Switchboard and cannot be overridden",
            ));
        }
        if value.len() > MAX_HEADER_VALUE || http::HeaderValue::from_str(value).is_err() {
            return Err(FieldError::new(
                field,
                "must be a header value of at most 1024 visible characters",
            ));
        }
        out.insert(lower, value.clone());
    }
    Ok(out)
}

/// `POST /v1/webhooks`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointCreate {
    /// Where to POST events: http(s), not an internal address.
    pub url: String,
    /// Exact names, prefix globs (`ticket.*`) or `*`. Default `["*"]`.
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    /// Extra headers sent with every delivery.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// 1,000–30,000 (default 15,000).
    #[serde(default)]
    pub timeout_ms: Option<u32>,
    /// 1–12 (default 8).
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// Deliveries per second at most (1–10,000); excess deliveries wait, never drop.
    #[serde(default)]
    pub rate_limit_per_s: Option<u32>,
}

/// `PATCH /v1/webhooks/{id}`: every field optional.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointUpdate {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub headers: Option<BTreeMap<String, String>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub timeout_ms: Option<u32>,
    pub max_attempts: Option<u32>,
    /// `null` removes the limit.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<u32>)]
    pub rate_limit_per_s: Option<Option<u32>>,
}

/// The validated settings of an endpoint.
#[derive(Debug, Clone)]
pub struct EndpointSettings {
    pub url: String,
    pub event_types: Vec<String>,
    pub headers: BTreeMap<String, String>,
    pub description: String,
    pub enabled: bool,
    pub timeout_ms: u32,
    pub max_attempts: u32,
    pub rate_limit_per_s: Option<u32>,
}

struct Checker(Vec<FieldError>);

impl Checker {
    fn take<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        r.map_err(|e| self.0.push(e)).ok()
    }
}

fn check_event_types(types: &[String]) -> Result<Vec<String>, FieldError> {
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

fn check_range(field: &str, value: u32, min: u32, max: u32) -> Result<u32, FieldError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(
            field,
            format!("must be between {min} and {max}"),
        ))
    }
}

fn check_description(d: &str) -> Result<String, FieldError> {
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(FieldError::new(
            "description",
            "must be at most 512 characters",
        ));
    }
    Ok(d.to_owned())
}

impl EndpointCreate {
    pub fn validate(&self, policy: &AddressPolicy) -> Result<EndpointSettings, DomainError> {
        let mut c = Checker(Vec::new());
        let url = c.take(validate_url(&self.url, policy));
        let event_types = c.take(check_event_types(
            self.event_types.as_deref().unwrap_or(&["*".to_owned()]),
        ));
        let headers = c.take(validate_headers(&self.headers));
        let description = c.take(check_description(&self.description));
        let timeout_ms = c.take(check_range(
            "timeout_ms",
            self.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS),
            MIN_TIMEOUT_MS,
            MAX_TIMEOUT_MS,
        ));
        let max_attempts = c.take(check_range(
            "max_attempts",
            self.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS),
            1,
            MAX_ATTEMPTS_LIMIT,
        ));
        let rate = match self.rate_limit_per_s {
            Some(r) => c
                .take(check_range("rate_limit_per_s", r, 1, MAX_RATE_LIMIT))
                .map(Some),
            None => Some(None),
        };
        match (
            url,
            event_types,
            headers,
            description,
            timeout_ms,
            max_attempts,
            rate,
        ) {
            (
                Some(url),
                Some(event_types),
                Some(headers),
                Some(description),
                Some(timeout_ms),
                Some(max_attempts),
                Some(rate_limit_per_s),
            ) if c.0.is_empty() => Ok(EndpointSettings {
                url,
                event_types,
                headers,
                description,
                enabled: self.enabled.unwrap_or(true),
                timeout_ms,
                max_attempts,
                rate_limit_per_s,
            }),
            _ => Err(DomainError::Invalid(c.0)),
        }
    }
}

impl EndpointUpdate {
    /// Checks the fields and applies them to `endpoint`.
    pub fn apply(
        &self,
        endpoint: &mut Endpoint,
        policy: &AddressPolicy,
    ) -> Result<(), DomainError> {
        let mut c = Checker(Vec::new());
        if let Some(url) = &self.url
            && let Some(url) = c.take(validate_url(url, policy))
        {
            endpoint.url = url;
        }
        if let Some(types) = &self.event_types
            && let Some(types) = c.take(check_event_types(types))
        {
            endpoint.event_types = types;
        }
        if let Some(headers) = &self.headers
            && let Some(headers) = c.take(validate_headers(headers))
        {
            endpoint.headers = headers;
        }
        if let Some(d) = &self.description
            && let Some(d) = c.take(check_description(d))
        {
            endpoint.description = d;
        }
        if let Some(t) = self.timeout_ms
            && let Some(t) = c.take(check_range("timeout_ms", t, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS))
        {
            endpoint.timeout_ms = t;
        }
        if let Some(m) = self.max_attempts
            && let Some(m) = c.take(check_range("max_attempts", m, 1, MAX_ATTEMPTS_LIMIT))
        {
            endpoint.max_attempts = m;
        }
        match self.rate_limit_per_s {
            Some(Some(r)) => {
                if let Some(r) = c.take(check_range("rate_limit_per_s", r, 1, MAX_RATE_LIMIT)) {
                    endpoint.rate_limit_per_s = Some(r);
                }
            }
            Some(None) => endpoint.rate_limit_per_s = None,
            None => {}
        }
        if let Some(enabled) = self.enabled {
            endpoint.enabled = enabled;
            if enabled {
                endpoint.disabled_reason = None;
                endpoint.failing_since = None;
            }
        }
        if c.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(c.0))
        }
    }
}

/// An endpoint as returned: never a secret.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EndpointView {
    pub id: EndpointId,
    pub url: String,
    pub event_types: Vec<String>,
    pub headers: BTreeMap<String, String>,
    pub description: String,
    pub enabled: bool,
    pub timeout_ms: u32,
    pub max_attempts: u32,
    pub rate_limit_per_s: Option<u32>,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Endpoint> for EndpointView {
    fn from(e: &Endpoint) -> Self {
        Self {
            id: e.id,
            url: e.url.clone(),
            event_types: e.event_types.clone(),
            headers: e.headers.clone(),
            description: e.description.clone(),
            enabled: e.enabled,
            timeout_ms: e.timeout_ms,
            max_attempts: e.max_attempts,
            rate_limit_per_s: e.rate_limit_per_s,
            disabled_reason: e.disabled_reason.clone(),
            failing_since: e.failing_since,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// An endpoint just created: the view plus its signing secret, returned this once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EndpointCreated {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    /// The `whsec_` signing secret. It cannot be shown again.
    pub secret: String,
}

/// `POST /v1/webhooks/{id}/secret/rotate`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRotate {
    /// How long the previous secret keeps signing, 0–604,800 s (default 86,400).
    pub grace_seconds: Option<i64>,
}

/// The answer to a rotation: the new secret, shown once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SecretRotated {
    pub secret: String,
    /// When the previous secret stops signing.
    pub previous_expires_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(check_event_types(&["ticket.*".into(), "*".into(), "a.b_c-d".into()]).is_ok());
        for bad in ["ti*cket", "ticket.", ".x", "a..b", "a.*.b", "sp ace", "*.x"] {
            assert!(check_event_types(&[bad.into()]).is_err(), "{bad}");
        }
        assert!(check_event_types(&[]).is_err());
    }

    #[test]
    fn urls_are_checked() {
        let strict = AddressPolicy::default();
        assert!(validate_url("https://example.com/hook", &strict).is_ok());
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
            assert!(validate_url(bad, &strict).is_err(), "{bad}");
        }
        let local = AddressPolicy::from_allow_list("127.0.0.1/32").expect("cidr");
        assert!(validate_url("http://127.0.0.1:9000/hook", &local).is_ok());
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
            assert!(validate_headers(&h).is_err(), "{name}");
        }
        let ok = BTreeMap::from([("X-Tenant".to_owned(), "acme".to_owned())]);
        assert_eq!(
            validate_headers(&ok)
                .ok()
                .and_then(|h| h.get("x-tenant").cloned())
                .as_deref(),
            Some("acme")
        );
        let bad_value = BTreeMap::from([("x-a".to_owned(), "line\nbreak".to_owned())]);
        assert!(validate_headers(&bad_value).is_err());
    }
}
