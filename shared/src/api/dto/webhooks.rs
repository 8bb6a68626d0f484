//! `/v1/webhooks` wire types.

use crate::error::{DomainError, Errors};
use crate::model::endpoint::{
    self, DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT_MS, Endpoint, EndpointChange, EndpointSettings,
    MAX_EVENT_TYPE_LEN, MAX_EVENT_TYPES, MAX_HEADER_NAME, MAX_HEADER_VALUE, MAX_HEADERS,
};
use crate::model::message::{Attempt, AttemptStatus, ErrorCode};
use crate::model::{AttemptId, EndpointId, MessageId};
use crate::ssrf::AddressPolicy;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

/// What `url` must look like; the server checks the same shape (`model::endpoint::parse_url`,
/// kept in step by a test that runs this pattern) before the checks a pattern cannot express.
pub const URL_PATTERN: &str = r"^[Hh][Tt][Tt][Pp][Ss]?://([A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?([/?#][!-~]*)?$";

/// The schema of `url`: [`URL_PATTERN`], at most 2,048 characters.
pub struct DeliveryUrl;

fn string_schema(pattern: &str, max_length: usize) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .max_length(Some(max_length))
        .into()
}

impl PartialSchema for DeliveryUrl {
    fn schema() -> RefOr<Schema> {
        string_schema(URL_PATTERN, endpoint::MAX_URL_LEN)
    }
}
impl ToSchema for DeliveryUrl {}

/// The schema of a string or of `null` when `nullable`.
fn typed(ty: Type, nullable: bool) -> SchemaType {
    if nullable {
        SchemaType::from_iter([ty, Type::Null])
    } else {
        SchemaType::Type(ty)
    }
}

/// `headers` as sent: the limits [`endpoint::parse_headers`] enforces.
fn headers_schema(nullable: bool) -> Schema {
    ObjectBuilder::new()
        .schema_type(typed(Type::Object, nullable))
        .description(Some(format!(
            "Extra headers sent with every delivery: at most {MAX_HEADERS}, names of at most \
             {MAX_HEADER_NAME} and values of at most {MAX_HEADER_VALUE} characters, not the \
             headers Switchboard sets. Values are write-only: they are stored encrypted and \
             shown masked (`***` + the last 4 characters)."
        )))
        .max_properties(Some(MAX_HEADERS))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(MAX_HEADER_NAME))
                .pattern(Some(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")),
        ))
        .additional_properties(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(MAX_HEADER_VALUE))
                .pattern(Some(r"^[\t -~]*$")),
        ))
        .into()
}

fn create_headers_schema() -> Schema {
    headers_schema(false)
}

fn update_headers_schema() -> Schema {
    headers_schema(true)
}

/// `event_types` as sent: the limits [`endpoint::parse_event_types`] enforces.
pub(crate) fn event_types_schema(nullable: bool) -> Schema {
    ArrayBuilder::new()
        .schema_type(typed(Type::Array, nullable))
        .description(Some(
            "Exact names, prefix globs (`ticket.*`) or `*`. Default `[\"*\"]` when creating.",
        ))
        .min_items(Some(1))
        .max_items(Some(MAX_EVENT_TYPES))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(MAX_EVENT_TYPE_LEN))
                .pattern(Some(
                    r"^(\*|[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64})*(\.\*)?)$",
                )),
        )
        .into()
}

fn create_event_types_schema() -> Schema {
    event_types_schema(true)
}

fn update_event_types_schema() -> Schema {
    event_types_schema(true)
}

/// `POST /v1/webhooks`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointCreate {
    /// Where to POST events: http(s), not an internal address.
    #[schema(value_type = DeliveryUrl)]
    pub url: String,
    #[serde(default)]
    #[schema(schema_with = create_event_types_schema)]
    pub event_types: Option<Vec<String>>,
    #[serde(default)]
    #[schema(schema_with = create_headers_schema)]
    pub headers: BTreeMap<String, String>,
    /// At most 512 characters.
    #[serde(default)]
    #[schema(max_length = 512)]
    pub description: String,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// 1,000–30,000 (default 15,000).
    #[serde(default, deserialize_with = "super::whole")]
    #[schema(minimum = 1000, maximum = 30000)]
    pub timeout_ms: Option<u32>,
    /// 1–12 (default 8).
    #[serde(default, deserialize_with = "super::whole")]
    #[schema(minimum = 1, maximum = 12)]
    pub max_attempts: Option<u32>,
    /// Deliveries per second at most (1–10,000); excess deliveries wait, never drop.
    #[serde(default, deserialize_with = "super::whole")]
    #[schema(minimum = 1, maximum = 10000)]
    pub rate_limit_per_s: Option<u32>,
}

impl EndpointCreate {
    /// The validated settings, every bad field named at once.
    pub fn parse(&self, policy: &AddressPolicy) -> Result<EndpointSettings, DomainError> {
        let mut errors = Errors::default();
        let all = ["*".to_owned()];
        let settings = EndpointSettings {
            url: errors
                .take(endpoint::parse_url(&self.url, policy))
                .unwrap_or_default(),
            event_types: errors
                .take(endpoint::parse_event_types(
                    self.event_types.as_deref().unwrap_or(&all),
                ))
                .unwrap_or_default(),
            headers: errors
                .take(endpoint::parse_headers(&self.headers))
                .unwrap_or_default(),
            description: errors
                .take(endpoint::parse_description(&self.description))
                .unwrap_or_default(),
            enabled: self.enabled.unwrap_or(true),
            timeout_ms: errors
                .take(endpoint::parse_timeout(
                    self.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS),
                ))
                .unwrap_or_default(),
            max_attempts: errors
                .take(endpoint::parse_max_attempts(
                    self.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS),
                ))
                .unwrap_or_default(),
            rate_limit_per_s: self
                .rate_limit_per_s
                .and_then(|r| errors.take(endpoint::parse_rate_limit(r))),
        };
        errors.finish()?;
        Ok(settings)
    }
}

/// `PATCH /v1/webhooks/{id}`: every field optional.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointUpdate {
    #[schema(value_type = Option<DeliveryUrl>)]
    pub url: Option<String>,
    #[schema(schema_with = update_event_types_schema)]
    pub event_types: Option<Vec<String>>,
    /// Replaces every header; `{}` removes them.
    #[schema(schema_with = update_headers_schema)]
    pub headers: Option<BTreeMap<String, String>>,
    #[schema(max_length = 512)]
    pub description: Option<String>,
    pub enabled: Option<bool>,
    #[schema(minimum = 1000, maximum = 30000)]
    #[serde(default, deserialize_with = "super::whole")]
    pub timeout_ms: Option<u32>,
    #[schema(minimum = 1, maximum = 12)]
    #[serde(default, deserialize_with = "super::whole")]
    pub max_attempts: Option<u32>,
    /// `null` removes the limit.
    #[serde(default, deserialize_with = "super::present_whole")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    pub rate_limit_per_s: Option<Option<u32>>,
}

impl EndpointUpdate {
    /// The validated change, every bad field named at once.
    pub fn parse(&self, policy: &AddressPolicy) -> Result<EndpointChange, DomainError> {
        let mut errors = Errors::default();
        let change = EndpointChange {
            url: self
                .url
                .as_deref()
                .and_then(|u| errors.take(endpoint::parse_url(u, policy))),
            event_types: self
                .event_types
                .as_deref()
                .and_then(|t| errors.take(endpoint::parse_event_types(t))),
            headers: self
                .headers
                .as_ref()
                .and_then(|h| errors.take(endpoint::parse_headers(h))),
            description: self
                .description
                .as_deref()
                .and_then(|d| errors.take(endpoint::parse_description(d))),
            enabled: self.enabled,
            timeout_ms: self
                .timeout_ms
                .and_then(|t| errors.take(endpoint::parse_timeout(t))),
            max_attempts: self
                .max_attempts
                .and_then(|m| errors.take(endpoint::parse_max_attempts(m))),
            rate_limit_per_s: match self.rate_limit_per_s {
                Some(Some(r)) => errors.take(endpoint::parse_rate_limit(r)).map(Some),
                Some(None) => Some(None),
                None => None,
            },
        };
        errors.finish()?;
        Ok(change)
    }
}

/// An endpoint as returned: never a secret.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EndpointView {
    pub id: EndpointId,
    pub url: String,
    pub event_types: Vec<String>,
    /// Each custom header with its value masked: `***` and its last 4 characters (`***` alone
    /// for values under 12 characters). Deliveries carry the real values.
    pub headers: BTreeMap<String, String>,
    pub description: String,
    pub enabled: bool,
    pub timeout_ms: u32,
    pub max_attempts: u32,
    pub rate_limit_per_s: Option<u32>,
    /// Why Switchboard disabled the endpoint (410, failing too long).
    pub disabled_reason: Option<String>,
    /// Since when every delivery has failed.
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
            headers: e.masked_headers(),
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

impl EndpointCreated {
    pub fn new(endpoint: &Endpoint, secret: &SecretString) -> Self {
        Self {
            endpoint: EndpointView::from(endpoint),
            secret: secret.expose_secret().to_owned(),
        }
    }
}

/// `POST /v1/webhooks/{id}/secret/rotate`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRotate {
    /// How long the previous secret keeps signing, 0–604,800 s (default 86,400).
    #[schema(minimum = 0, maximum = 604_800)]
    #[serde(default, deserialize_with = "super::whole")]
    pub grace_seconds: Option<i64>,
}

/// The answer to a rotation: the new secret, shown once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SecretRotated {
    pub secret: String,
    /// When the previous secret stops signing.
    pub previous_expires_at: DateTime<Utc>,
}

/// `POST /v1/webhooks/{id}/test` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TestQuery {
    /// Send even though the endpoint is disabled (otherwise 409).
    pub force: Option<bool>,
}

/// `POST /v1/webhooks/{id}/recover`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointRecover {
    /// Re-send every delivery to this endpoint that failed since then (not in the future).
    pub since: DateTime<Utc>,
}

/// The answer to resend and recover: how many jobs were queued.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Requeued {
    pub queued: usize,
}

/// `GET /v1/webhooks/{id}/attempts` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttemptsQuery {
    /// Items per page, 1–250 (default 50).
    #[param(minimum = 1, maximum = 250)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only attempts with this outcome.
    #[param(value_type = Option<AttemptStatus>)]
    pub status: Option<AttemptStatus>,
}

/// What every attempt shows, whatever its destination (flattened into [`AttemptView`] and the
/// action attempt view).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AttemptFields {
    pub id: AttemptId,
    pub message_id: MessageId,
    pub event_type: String,
    /// 1 for the first attempt of this message to this destination.
    pub attempt: u32,
    pub status: AttemptStatus,
    pub status_code: Option<u16>,
    pub duration_ms: u64,
    /// The first 4 KiB of the receiver's answer.
    pub response_body: Option<String>,
    pub error_code: Option<ErrorCode>,
    pub error: Option<String>,
    /// When the next attempt is due, if one is scheduled.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<Attempt> for AttemptFields {
    fn from(a: Attempt) -> Self {
        Self {
            id: a.id,
            message_id: a.message_id,
            event_type: a.event_type,
            attempt: a.attempt,
            status: a.status,
            status_code: a.status_code,
            duration_ms: a.duration_ms,
            response_body: a.response_body,
            error_code: a.error_code,
            error: a.error,
            next_attempt_at: a.next_attempt_at,
            created_at: a.created_at,
        }
    }
}

/// One delivery attempt to a webhook endpoint as returned.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AttemptView {
    pub endpoint_id: EndpointId,
    #[serde(flatten)]
    pub detail: AttemptFields,
}

impl AttemptView {
    /// The view of an attempt of endpoint `endpoint_id`'s (the caller listed that endpoint's).
    pub fn new(endpoint_id: EndpointId, a: Attempt) -> Self {
        Self {
            endpoint_id,
            detail: a.into(),
        }
    }
}
