//! Inbound integrations: a tenant's hook URL for one provider (GitHub, Stripe, Slack, …), with
//! the provider's config sealed at rest, a mapping of the payload into variables, and a route
//! that turns each verified webhook into an event of the tenant's own stream.
//!
//! What the tenant sends is validated here once, when the integration is saved: mapping
//! expressions are compiled (an RFC 9535 JSONPath, or `header:<name>`), the route's event type
//! template is parsed, and a fixed event type is checked like a published one. What can only be
//! known per webhook (a header that is missing, a variable that is null) fails that webhook's
//! processing, with the reason in its status history.

use super::endpoint::{mask, validate_event_type};
use super::message::is_reserved;
use super::{IntegrationId, TenantId};
use crate::crypto::Envelope;
use crate::error::FieldError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use serde_json_path::JsonPath;
use std::collections::BTreeMap;

/// How far a signed timestamp may be from now unless the integration says otherwise.
pub const DEFAULT_TOLERANCE_SECONDS: u32 = 300;
/// The widest tolerance an integration may set (a day).
pub const MAX_TOLERANCE_SECONDS: u32 = 86_400;
/// The most variables one mapping defines.
pub const MAX_MAPPING_VARIABLES: usize = 64;
/// The longest variable name.
pub const MAX_VARIABLE_NAME: usize = 64;
/// The longest mapping expression.
pub const MAX_EXPRESSION_LEN: usize = 1024;
/// The largest static `route.data`, as JSON.
pub const MAX_ROUTE_DATA_BYTES: usize = 16 * 1024;
/// The longest route event type template.
pub const MAX_TEMPLATE_LEN: usize = 256;
/// The longest `public_url`.
pub const MAX_PUBLIC_URL_LEN: usize = 2048;
/// At most this many sealed configs verify at once: the current one and those in rotation grace
/// (the verifiers' own bound, `signing::inbound::MAX_SECRETS`).
pub const MAX_VERIFYING_CONFIGS: usize = 4;

/// One sealing of an integration's config: the JSON object the tenant sent (key material and
/// options), encrypted under the context `{tenant_id, integration_id, purpose: "integration"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SealedConfig {
    /// Distinguishes the sealings of one integration (and keys the verifier cache).
    pub id: String,
    pub sealed: Envelope,
    /// The key material masked (`***` + its last 4 characters), for views that never decrypt.
    pub masked: String,
    pub created_at: DateTime<Utc>,
    /// Set when a newer config replaced this one: its key keeps verifying until then.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Where a verified webhook goes: the event type (fixed, or a template over the request's
/// headers and the mapped variables) and static fields added to its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Map<String, Value>>,
}

/// An integration as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Integration {
    pub id: IntegrationId,
    pub tenant_id: TenantId,
    /// The provider type string (`github`, `stripe`, …).
    pub provider: String,
    pub name: String,
    /// The config field holding the key material (`secret`, `public_key`, `password`).
    pub key_field: String,
    /// The provider's options (everything in `config` but the key material), shown as sent.
    pub options: Map<String, Value>,
    /// Newest first; the first is the current config.
    pub configs: Vec<SealedConfig>,
    pub active: bool,
    /// Variable name → expression, as sent (compiled again where used; compiling cannot fail
    /// since it succeeded when the integration was saved).
    pub mapping: BTreeMap<String, String>,
    pub route: Route,
    pub tolerance_seconds: u32,
    /// The URL the provider calls, when it is not the default one.
    pub public_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl Integration {
    /// The sealed configs that verify at `now`: the current one first, then those still in
    /// their grace period, never more than [`MAX_VERIFYING_CONFIGS`].
    pub fn verifying_configs(&self, now: DateTime<Utc>) -> impl Iterator<Item = &SealedConfig> {
        self.configs
            .iter()
            .enumerate()
            .filter(move |(i, c)| *i == 0 || c.expires_at.is_none_or(|t| t > now))
            .map(|(_, c)| c)
            .take(MAX_VERIFYING_CONFIGS)
    }

    /// The config as shown: the options, and the key material masked.
    pub fn masked_config(&self) -> Map<String, Value> {
        let mut shown = self.options.clone();
        if let Some(current) = self.configs.first() {
            shown.insert(
                self.key_field.clone(),
                Value::String(current.masked.clone()),
            );
        }
        shown
    }
}

/// The key material of a config as shown: [`mask`] (`***` + the last 4 characters, `***` alone
/// for short values).
pub fn mask_secret(secret: &str) -> String {
    mask(secret)
}

/// Request headers that carry credentials or signatures. They are never stored with an inbound
/// event, so a mapping may not read them either. Matched on the lower-case name: the well-known
/// ones, and any name that says what it carries.
pub fn is_sensitive_header(name: &str) -> bool {
    const EXACT: [&str; 4] = [
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
    ];
    const PARTS: [&str; 8] = [
        "signature",
        "hmac",
        "token",
        "secret",
        "auth",
        "key",
        "password",
        "credential",
    ];
    let lower = name.to_ascii_lowercase();
    EXACT.contains(&lower.as_str()) || PARTS.iter().any(|p| lower.contains(p))
}

/// Checks `tolerance_seconds`: 0 to a day.
pub fn parse_tolerance(seconds: u32) -> Result<u32, FieldError> {
    if seconds > MAX_TOLERANCE_SECONDS {
        return Err(FieldError::new(
            "tolerance_seconds",
            format!("must be between 0 and {MAX_TOLERANCE_SECONDS}"),
        ));
    }
    Ok(seconds)
}

/// Checks a `public_url`: an absolute http(s) URL of at most 2,048 characters, without
/// credentials or a fragment. It is what providers that sign the URL (Twilio, Square) signed;
/// Switchboard never calls it, so no address policy applies.
pub fn parse_public_url(raw: &str) -> Result<String, FieldError> {
    let err = |m: &str| FieldError::new("public_url", m);
    if raw.len() > MAX_PUBLIC_URL_LEN {
        return Err(err("must be at most 2048 characters"));
    }
    let url = url::Url::parse(raw).map_err(|e| err(&format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(err("must be an http or https URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(err("must not carry credentials or a fragment"));
    }
    let normalised = url.to_string();
    if normalised.len() > MAX_PUBLIC_URL_LEN {
        return Err(err("must be at most 2048 characters once percent-encoded"));
    }
    Ok(normalised)
}

/// One compiled mapping expression.
#[derive(Debug, Clone)]
pub enum Expression {
    /// An RFC 9535 JSONPath over the parsed body.
    Path(JsonPath),
    /// A request header (lower-case name).
    Header(String),
}

impl Expression {
    /// Compiles `raw` (a JSONPath starting with `$`, or `header:<name>`); errors name `field`.
    pub fn compile(field: &str, raw: &str) -> Result<Self, FieldError> {
        if raw.len() > MAX_EXPRESSION_LEN {
            return Err(FieldError::new(
                field,
                format!("must be at most {MAX_EXPRESSION_LEN} characters"),
            ));
        }
        if let Some(name) = raw.strip_prefix("header:") {
            let name = name.trim().to_ascii_lowercase();
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(FieldError::new(field, "`header:` must name a valid header"));
            }
            if is_sensitive_header(&name) {
                return Err(FieldError::new(
                    field,
                    "names a header that carries credentials or signatures; such headers are \
                     never stored, so a mapping cannot read them",
                ));
            }
            return Ok(Self::Header(name));
        }
        JsonPath::parse(raw).map(Self::Path).map_err(|e| {
            FieldError::new(
                field,
                format!(
                    "is not an RFC 9535 JSONPath (e.g. `$.repository.full_name`) or \
                     `header:<name>`: {} at position {}",
                    e.message(),
                    e.position()
                ),
            )
        })
    }

    /// The value this expression selects: `null` when nothing matches (or the body is not
    /// JSON), the value itself for one match, an array of the matches for several.
    pub fn evaluate(&self, body: Option<&Value>, headers: &BTreeMap<String, String>) -> Value {
        match self {
            Self::Header(name) => headers
                .get(name)
                .map_or(Value::Null, |v| Value::String(v.clone())),
            Self::Path(path) => {
                let Some(body) = body else {
                    return Value::Null;
                };
                let nodes = path.query(body).all();
                match nodes.as_slice() {
                    [] => Value::Null,
                    [one] => (*one).clone(),
                    many => Value::Array(many.iter().map(|v| (*v).clone()).collect()),
                }
            }
        }
    }
}

/// A compiled mapping: variable name → expression, in name order.
#[derive(Debug, Clone, Default)]
pub struct Mapping(pub Vec<(String, Expression)>);

impl Mapping {
    /// Compiles every expression; the first bad one is named `mapping.<variable>`.
    pub fn compile(raw: &BTreeMap<String, String>) -> Result<Self, FieldError> {
        if raw.len() > MAX_MAPPING_VARIABLES {
            return Err(FieldError::new(
                "mapping",
                format!("at most {MAX_MAPPING_VARIABLES} variables"),
            ));
        }
        let mut out = Vec::with_capacity(raw.len());
        for (name, expression) in raw {
            let field = format!("mapping.{name}");
            if !valid_variable(name) {
                return Err(FieldError::new(
                    if name.len() <= MAX_VARIABLE_NAME {
                        field
                    } else {
                        "mapping".to_owned()
                    },
                    format!(
                        "variable names are 1-{MAX_VARIABLE_NAME} letters, digits and `_`, not \
                         starting with a digit"
                    ),
                ));
            }
            out.push((name.clone(), Expression::compile(&field, expression)?));
        }
        Ok(Self(out))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every variable's value for one webhook.
    pub fn apply(
        &self,
        body: Option<&Value>,
        headers: &BTreeMap<String, String>,
    ) -> Map<String, Value> {
        self.0
            .iter()
            .map(|(name, e)| (name.clone(), e.evaluate(body, headers)))
            .collect()
    }
}

fn valid_variable(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_VARIABLE_NAME
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// One piece of an event type template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Literal(String),
    /// `{{ headers["x-github-event"] }}`: a request header (lower-case name).
    Header(String),
    /// `{{ vars.name }}`: a mapped variable.
    Var(String),
}

/// A route's event type: literal text with `{{ headers["name"] }}` and `{{ vars.name }}`
/// substitutions. Nothing else is evaluated: no expressions, filters or loops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTypeTemplate(pub Vec<Part>);

/// Why a template could not be rendered for one webhook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the route's event type needs header `{0}`, which the request did not carry")]
    MissingHeader(String),
    #[error("the route's event type needs variable `{0}`, which is null")]
    NullVariable(String),
    #[error("the route's event type needs variable `{0}` as a string, number or boolean")]
    NotScalar(String),
    #[error("the routed event type `{0}` is not valid: {1}")]
    Invalid(String, String),
}

impl EventTypeTemplate {
    /// Parses `raw` (the field `route.event_type`), checking that every `{{ vars.x }}` names a
    /// variable of `variables` (when given: a `PATCH` may change the route without the mapping),
    /// and, for a type without substitutions, that it is a valid event type outside
    /// Switchboard's reserved namespaces.
    pub fn parse(raw: &str, variables: Option<&[&str]>) -> Result<Self, FieldError> {
        const FIELD: &str = "route.event_type";
        let err = |m: String| FieldError::new(FIELD, m);
        if raw.is_empty() || raw.len() > MAX_TEMPLATE_LEN {
            return Err(err(format!("must be 1-{MAX_TEMPLATE_LEN} characters")));
        }
        let mut parts = Vec::new();
        let mut rest = raw;
        while let Some(open) = rest.find("{{") {
            let (literal, after) = rest.split_at(open);
            if !literal.is_empty() {
                parts.push(Part::Literal(literal.to_owned()));
            }
            let after = &after[2..];
            let close = after
                .find("}}")
                .ok_or_else(|| err("a `{{` is not closed by `}}`".into()))?;
            parts.push(placeholder(after[..close].trim(), variables).map_err(err)?);
            rest = &after[close + 2..];
        }
        if rest.contains("}}") {
            return Err(err("a `}}` closes nothing".into()));
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        let template = Self(parts);
        match template.fixed() {
            Some(fixed) => {
                validate_event_type(FIELD, fixed)?;
                if is_reserved(fixed) {
                    return Err(err(reserved_message()));
                }
            }
            None => {
                let shaped = |p: &Part| match p {
                    Part::Literal(l) => l
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')),
                    _ => true,
                };
                if !template.0.iter().all(shaped) {
                    return Err(err(
                        "outside `{{ }}` an event type holds only letters, digits, `.`, `_` and `-`"
                            .into(),
                    ));
                }
            }
        }
        Ok(template)
    }

    /// The event type when the template has no substitutions.
    pub fn fixed(&self) -> Option<&str> {
        match self.0.as_slice() {
            [Part::Literal(l)] => Some(l),
            _ => None,
        }
    }

    /// The event type for one webhook; checked like a published type.
    pub fn render(
        &self,
        headers: &BTreeMap<String, String>,
        vars: &Map<String, Value>,
    ) -> Result<String, RenderError> {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Literal(l) => out.push_str(l),
                Part::Header(name) => out.push_str(
                    headers
                        .get(name)
                        .ok_or_else(|| RenderError::MissingHeader(name.clone()))?,
                ),
                Part::Var(name) => match vars.get(name) {
                    None | Some(Value::Null) => {
                        return Err(RenderError::NullVariable(name.clone()));
                    }
                    Some(Value::String(s)) => out.push_str(s),
                    Some(v @ (Value::Number(_) | Value::Bool(_))) => out.push_str(&v.to_string()),
                    Some(_) => return Err(RenderError::NotScalar(name.clone())),
                },
            }
        }
        let shown: String = out.chars().take(MAX_TEMPLATE_LEN).collect();
        validate_event_type("type", &out)
            .map_err(|e| RenderError::Invalid(shown.clone(), e.message))?;
        if is_reserved(&out) {
            return Err(RenderError::Invalid(shown, reserved_message()));
        }
        Ok(out)
    }
}

fn reserved_message() -> String {
    "the namespaces `webhook.`, `integration.`, `api_key.` and `switchboard.` are reserved for \
     Switchboard's own events"
        .to_owned()
}

/// One `{{ … }}`: `headers["name"]` (or `'name'`) or `vars.name`.
fn placeholder(inner: &str, variables: Option<&[&str]>) -> Result<Part, String> {
    if let Some(quoted) = inner
        .strip_prefix("headers[")
        .and_then(|r| r.strip_suffix(']'))
        .map(str::trim)
    {
        let name = quoted
            .strip_prefix('"')
            .and_then(|q| q.strip_suffix('"'))
            .or_else(|| quoted.strip_prefix('\'').and_then(|q| q.strip_suffix('\'')))
            .ok_or_else(|| "write a header as `headers[\"name\"]`".to_owned())?
            .to_ascii_lowercase();
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(format!("`{name}` is not a valid header name"));
        }
        if is_sensitive_header(&name) {
            return Err(format!(
                "header `{name}` carries credentials or signatures and is never stored"
            ));
        }
        return Ok(Part::Header(name));
    }
    if let Some(name) = inner.strip_prefix("vars.") {
        if !valid_variable(name) || variables.is_some_and(|v| !v.contains(&name)) {
            return Err(format!("`vars.{name}` is not a variable of `mapping`"));
        }
        return Ok(Part::Var(name.to_owned()));
    }
    Err(format!(
        "`{{{{ {inner} }}}}` is not a substitution: use `{{{{ headers[\"name\"] }}}}` or \
         `{{{{ vars.name }}}}`"
    ))
}

/// Checks `route.data`: a JSON object of at most 16 KiB.
pub fn parse_route_data(data: &Map<String, Value>) -> Result<Map<String, Value>, FieldError> {
    let size = serde_json::to_vec(data)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_ROUTE_DATA_BYTES {
        return Err(FieldError::new(
            "route.data",
            format!("must be at most {MAX_ROUTE_DATA_BYTES} bytes of JSON"),
        ));
    }
    super::event_data::check(&Value::Object(data.clone()).to_string())
        .map_err(|e| FieldError::new("route.data", e.to_string()))?;
    Ok(data.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn mappings_compile_and_select() {
        let raw = BTreeMap::from([
            ("repo".to_owned(), "$.repository.full_name".to_owned()),
            ("ids".to_owned(), "$.items[*].id".to_owned()),
            ("none".to_owned(), "$.nothing.here".to_owned()),
            ("event".to_owned(), "header:X-GitHub-Event".to_owned()),
        ]);
        let mapping = Mapping::compile(&raw).unwrap();
        let body = json!({"repository": {"full_name": "a/b"}, "items": [{"id": 1}, {"id": 2}]});
        let vars = mapping.apply(Some(&body), &headers(&[("x-github-event", "push")]));
        assert_eq!(
            Value::Object(vars),
            json!({"repo": "a/b", "ids": [1, 2], "none": null, "event": "push"})
        );
        let vars = mapping.apply(None, &headers(&[]));
        assert_eq!(vars["repo"], Value::Null);
    }

    #[test]
    fn bad_expressions_name_their_variable() {
        for (name, expr) in [
            ("a", "$.["),
            ("b", "repository.name"),
            ("c", "header:authorization"),
            ("d", "header:x-hub-signature-256"),
            ("e", "header:bad header"),
        ] {
            let raw = BTreeMap::from([(name.to_owned(), expr.to_owned())]);
            let e = Mapping::compile(&raw).unwrap_err();
            assert_eq!(e.field, format!("mapping.{name}"), "{expr}: {e:?}");
        }
        let raw = BTreeMap::from([("1x".to_owned(), "$.a".to_owned())]);
        assert_eq!(Mapping::compile(&raw).unwrap_err().field, "mapping.1x");
    }

    #[test]
    fn templates_substitute_headers_and_variables() {
        let t =
            EventTypeTemplate::parse(r#"github.{{ headers["X-GitHub-Event"] }}"#, Some(&[][..]))
                .unwrap();
        assert_eq!(
            t.render(&headers(&[("x-github-event", "push")]), &Map::new())
                .unwrap(),
            "github.push"
        );
        assert_eq!(
            t.render(&headers(&[]), &Map::new()),
            Err(RenderError::MissingHeader("x-github-event".into()))
        );
        assert!(matches!(
            t.render(&headers(&[("x-github-event", "a b")]), &Map::new()),
            Err(RenderError::Invalid(..))
        ));
        let t = EventTypeTemplate::parse("shop.{{vars.topic}}", Some(&["topic"][..])).unwrap();
        let vars = json!({"topic": "orders"});
        assert_eq!(
            t.render(&headers(&[]), vars.as_object().unwrap()).unwrap(),
            "shop.orders"
        );
        assert_eq!(
            t.render(&headers(&[]), json!({"topic": null}).as_object().unwrap()),
            Err(RenderError::NullVariable("topic".into()))
        );
    }

    #[test]
    fn templates_are_checked_when_saved() {
        for bad in [
            "",
            "a b",
            "integration.x",
            "x.{{ vars.missing }}",
            "x.{{ headers[authorization] }}",
            r#"x.{{ headers["authorization"] }}"#,
            "x.{{ body.id }}",
            "x.{{ headers[\"a\"]",
            "x}}",
            "x y.{{ vars.a }}",
        ] {
            let e = EventTypeTemplate::parse(bad, Some(&["a"][..])).unwrap_err();
            assert_eq!(e.field, "route.event_type", "{bad}");
        }
        assert!(EventTypeTemplate::parse("stripe.event", None).is_ok());
    }

    #[test]
    fn sensitive_headers_are_recognised() {
        for h in [
            "authorization",
            "x-hub-signature-256",
            "stripe-signature",
            "x-gitlab-token",
            "x-api-key",
            "x-shopify-hmac-sha256",
            "cookie",
        ] {
            assert!(is_sensitive_header(h), "{h}");
        }
        for h in [
            "x-github-event",
            "content-type",
            "x-github-delivery",
            "user-agent",
        ] {
            assert!(!is_sensitive_header(h), "{h}");
        }
    }
}
