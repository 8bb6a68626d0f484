//! `/v1/integrations` wire types.

use crate::error::{DomainError, Errors, FieldError};
use crate::inbound::integrations::{
    ConfigInput, IntegrationChange, IntegrationSettings, parse_config,
};
use crate::model::endpoint::rotation_grace;
use crate::model::inbound_event::{BodyEncoding, InboundEvent, InboundStatus, StatusChange};
use crate::model::integration::{
    DEFAULT_TOLERANCE_SECONDS, EventTypeTemplate, Integration, MAX_EXPRESSION_LEN,
    MAX_MAPPING_VARIABLES, MAX_PUBLIC_URL_LEN, MAX_TEMPLATE_LEN, MAX_TOLERANCE_SECONDS,
    MAX_VARIABLE_NAME, Mapping, Route, parse_public_url, parse_route_data, parse_tolerance,
};
use crate::model::tenant::validate_name;
use crate::model::{InboundEventId, IntegrationId, MessageId};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

/// The provider type strings (`type`).
pub struct ProviderType;

impl PartialSchema for ProviderType {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "The provider whose signatures this integration verifies.",
            ))
            .enum_values(Some(crate::signing::inbound::KNOWN.to_vec()))
            .into()
    }
}
impl ToSchema for ProviderType {}

fn nullable(ty: Type, nullable: bool) -> SchemaType {
    if nullable {
        SchemaType::from_iter([ty, Type::Null])
    } else {
        SchemaType::Type(ty)
    }
}

fn config_schema(is_update: bool) -> Schema {
    ObjectBuilder::new()
        .schema_type(nullable(Type::Object, is_update))
        .description(Some(
            "The provider's key material and options (see the README's provider table): the key \
             field (`secret`, or `public_key` for `sendgrid` and `discord`, `password` for \
             `basic_auth`) plus the provider's options. Write-only: stored encrypted, shown as \
             `***` + the last 4 characters of the key. In a `PATCH`, a new config makes its key \
             current and keeps the previous one verifying for `grace_seconds`.",
        ))
        .into()
}

fn create_config_schema() -> Schema {
    config_schema(false)
}

fn update_config_schema() -> Schema {
    config_schema(true)
}

fn mapping_schema(is_update: bool) -> Schema {
    ObjectBuilder::new()
        .schema_type(nullable(Type::Object, is_update))
        .description(Some(format!(
            "Variables of the routed event's data: name → an RFC 9535 JSONPath over the parsed \
             body (`$.repository.full_name`) or `header:<name>`. A path that matches nothing \
             gives `null`; one match its value; several an array of them. At most \
             {MAX_MAPPING_VARIABLES} variables. Headers carrying credentials or signatures are \
             never stored, so they cannot be mapped."
        )))
        .max_properties(Some(MAX_MAPPING_VARIABLES))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(format!(
                    "^[A-Za-z_][A-Za-z0-9_]{{0,{}}}$",
                    MAX_VARIABLE_NAME - 1
                ))),
        ))
        .additional_properties(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_EXPRESSION_LEN)),
        ))
        .into()
}

fn create_mapping_schema() -> Schema {
    mapping_schema(false)
}

fn update_mapping_schema() -> Schema {
    mapping_schema(true)
}

/// Where verified webhooks go.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteInput {
    /// The routed event's type: fixed (`stripe.event`) or a template with
    /// `{{ headers["name"] }}` and `{{ vars.name }}` substitutions
    /// (`github.{{ headers["x-github-event"] }}`). The result must be a valid event type outside
    /// the reserved namespaces, or the webhook's processing fails.
    #[schema(min_length = 1, max_length = 256)]
    pub event_type: String,
    /// Static fields added to the routed event's data (at most 16 KiB of JSON).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Map<String, Value>>,
}

const _: () = assert!(MAX_TEMPLATE_LEN == 256);
const _: () = assert!(MAX_PUBLIC_URL_LEN == 2048);
const _: () = assert!(MAX_TOLERANCE_SECONDS == 86_400);

impl RouteInput {
    fn parse(&self, variables: Option<&[&str]>) -> Result<Route, FieldError> {
        EventTypeTemplate::parse(&self.event_type, variables)?;
        Ok(Route {
            event_type: self.event_type.clone(),
            data: self.data.as_ref().map(parse_route_data).transpose()?,
        })
    }
}

/// `POST /v1/integrations`. (No `Debug`: `config` holds key material.)
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "type": "github",
    "name": "repository events",
    "config": {"secret": "It's a Secret to Everybody"},
    "mapping": {"repo": "$.repository.full_name", "sender": "$.sender.login"},
    "route": {
        "event_type": "github.{{ headers[\"x-github-event\"] }}",
        "data": {"source": "github"}
    }
}))]
pub struct IntegrationCreate {
    #[serde(rename = "type")]
    #[schema(value_type = ProviderType)]
    pub provider: String,
    /// A display name: 1–128 characters, not only spaces, no control, bidi or other invisible
    /// formatting characters.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]*[^\s\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb][^\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]*$"
    )]
    pub name: String,
    #[schema(schema_with = create_config_schema)]
    pub config: Value,
    /// Default `true`. An inactive integration's hook URL answers 404.
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    #[schema(schema_with = create_mapping_schema)]
    pub mapping: BTreeMap<String, String>,
    pub route: RouteInput,
    /// How far a signed timestamp may be from now, 0-86,400 s (default 300).
    #[serde(default, deserialize_with = "super::whole")]
    #[schema(minimum = 0, maximum = 86400)]
    pub tolerance_seconds: Option<u32>,
    /// The URL the provider calls, for the schemes that sign it (Twilio, Square); default
    /// `SWITCHBOARD_PUBLIC_URL` + `/hooks/{id}`.
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub public_url: Option<String>,
}

impl IntegrationCreate {
    /// The checked settings, every bad field named at once.
    pub fn parse(self) -> Result<IntegrationSettings, DomainError> {
        let mut errors = Errors::default();
        let config = ConfigInput(self.config);
        errors.take(parse_config(&self.provider, &config));
        let name = errors.take(validate_name("name", &self.name));
        errors.take(Mapping::compile(&self.mapping));
        let names: Vec<&str> = self.mapping.keys().map(String::as_str).collect();
        let route = errors.take(self.route.parse(Some(names.as_slice())));
        let tolerance = errors.take(parse_tolerance(
            self.tolerance_seconds.unwrap_or(DEFAULT_TOLERANCE_SECONDS),
        ));
        let public_url = self
            .public_url
            .as_deref()
            .and_then(|u| errors.take(parse_public_url(u)));
        errors.finish()?;
        Ok(IntegrationSettings {
            provider: self.provider,
            name: name.unwrap_or_default(),
            config,
            active: self.active.unwrap_or(true),
            mapping: self.mapping,
            route: route.ok_or_else(|| DomainError::Internal("route not parsed".into()))?,
            tolerance_seconds: tolerance.unwrap_or(DEFAULT_TOLERANCE_SECONDS),
            public_url,
        })
    }
}

/// `PATCH /v1/integrations/{id}`: every field optional. (No `Debug`: `config` holds key
/// material.)
#[derive(Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationUpdate {
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]*[^\s\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb][^\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]*$"
    )]
    pub name: Option<String>,
    #[schema(schema_with = update_config_schema)]
    pub config: Option<Value>,
    /// With a new `config`: how long the previous key keeps verifying, 0-604,800 s (default
    /// 86,400).
    #[serde(default, deserialize_with = "super::whole")]
    #[schema(minimum = 0, maximum = 604_800)]
    pub grace_seconds: Option<i64>,
    pub active: Option<bool>,
    /// Replaces the mapping; `{}` removes it.
    #[schema(schema_with = update_mapping_schema)]
    pub mapping: Option<BTreeMap<String, String>>,
    pub route: Option<RouteInput>,
    #[serde(default, deserialize_with = "super::whole")]
    #[schema(minimum = 0, maximum = 86400)]
    pub tolerance_seconds: Option<u32>,
    /// `null` goes back to the default URL.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>, max_length = 2048)]
    pub public_url: Option<Option<String>>,
}

impl IntegrationUpdate {
    /// The checked change, every bad field named at once. The config is checked against the
    /// integration's provider, and the route against the resulting mapping, when applied.
    pub fn parse(self) -> Result<IntegrationChange, DomainError> {
        let mut errors = Errors::default();
        let name = self
            .name
            .as_deref()
            .and_then(|n| errors.take(validate_name("name", n)));
        if let Some(mapping) = &self.mapping {
            errors.take(Mapping::compile(mapping));
        }
        let names: Option<Vec<&str>> = self
            .mapping
            .as_ref()
            .map(|m| m.keys().map(String::as_str).collect());
        let route = self
            .route
            .as_ref()
            .and_then(|r| errors.take(r.parse(names.as_deref())));
        let tolerance_seconds = self
            .tolerance_seconds
            .and_then(|t| errors.take(parse_tolerance(t)));
        let public_url = match &self.public_url {
            Some(Some(u)) => errors.take(parse_public_url(u)).map(Some),
            Some(None) => Some(None),
            None => None,
        };
        let grace = match rotation_grace(self.grace_seconds) {
            Ok(g) => g,
            Err(DomainError::Invalid(e)) => {
                e.into_iter().for_each(|f| errors.push(f));
                chrono::Duration::zero()
            }
            Err(other) => return Err(other),
        };
        errors.finish()?;
        Ok(IntegrationChange {
            name,
            config: self.config.map(ConfigInput),
            grace,
            active: self.active,
            mapping: self.mapping,
            route,
            tolerance_seconds,
            public_url,
        })
    }
}

/// A route as returned.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RouteView {
    pub event_type: String,
    #[schema(value_type = Option<Object>)]
    pub data: Option<Map<String, Value>>,
}

/// An integration as returned: never key material.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IntegrationView {
    pub id: IntegrationId,
    #[serde(rename = "type")]
    #[schema(value_type = ProviderType)]
    pub provider: String,
    pub name: String,
    /// The options as sent, and the key field masked (`***` + its last 4 characters; `***`
    /// alone for keys under 12 characters).
    #[schema(value_type = Object)]
    pub config: Map<String, Value>,
    pub active: bool,
    pub mapping: BTreeMap<String, String>,
    pub route: RouteView,
    pub tolerance_seconds: u32,
    /// The URL configured for the provider to call, if not the default.
    pub public_url: Option<String>,
    /// Where the provider sends webhooks: `public_url`, else `SWITCHBOARD_PUBLIC_URL` +
    /// `/hooks/{id}` (the path alone when that is not configured).
    pub hook_url: String,
    /// Until when a previous key still verifies, during a rotation.
    pub previous_config_expires_at: Option<DateTime<Utc>>,
    /// Webhooks refused (signature, timestamp, credential), counted per process and written at
    /// most once a second. Only in the single view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_count: Option<u64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl IntegrationView {
    /// The view of `integration`, whose default hook URL is `hook_url`.
    pub fn new(integration: &Integration, hook_url: String, rejected: Option<u64>) -> Self {
        let now = Utc::now();
        Self {
            id: integration.id,
            provider: integration.provider.clone(),
            name: integration.name.clone(),
            config: integration.masked_config(),
            active: integration.active,
            mapping: integration.mapping.clone(),
            route: RouteView {
                event_type: integration.route.event_type.clone(),
                data: integration.route.data.clone(),
            },
            tolerance_seconds: integration.tolerance_seconds,
            public_url: integration.public_url.clone(),
            hook_url: integration.public_url.clone().unwrap_or(hook_url),
            previous_config_expires_at: integration
                .verifying_configs(now)
                .skip(1)
                .filter_map(|c| c.expires_at)
                .max(),
            rejected_count: rejected,
            created_at: integration.created_at,
            updated_at: integration.updated_at,
        }
    }
}

/// `GET /v1/integrations/{id}/events` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboundEventsQuery {
    /// Items per page, 1–250 (default 50).
    #[param(minimum = 1, maximum = 250)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only events in this state.
    #[param(value_type = Option<InboundStatus>)]
    pub status: Option<InboundStatus>,
}

/// A received webhook as listed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InboundEventSummary {
    pub id: InboundEventId,
    pub integration_id: IntegrationId,
    pub status: InboundStatus,
    pub received_at: DateTime<Utc>,
    /// Processing attempts of the current run.
    pub attempts: u32,
    /// Why the last processing failed.
    pub error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The event it was routed as, once processed.
    pub produced_event_id: Option<MessageId>,
    /// The raw body's length.
    pub body_bytes: usize,
    pub updated_at: DateTime<Utc>,
}

impl From<&InboundEvent> for InboundEventSummary {
    fn from(e: &InboundEvent) -> Self {
        Self {
            id: e.id,
            integration_id: e.integration_id,
            status: e.status,
            received_at: e.received_at,
            attempts: e.attempts,
            error: e.error.clone(),
            next_attempt_at: e.next_attempt_at,
            produced_event_id: e.produced_event_id,
            body_bytes: e.body_bytes,
            updated_at: e.updated_at,
        }
    }
}

/// One status change of a received webhook.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusChangeView {
    pub status: InboundStatus,
    pub at: DateTime<Utc>,
    pub error: Option<String>,
}

impl From<&StatusChange> for StatusChangeView {
    fn from(c: &StatusChange) -> Self {
        Self {
            status: c.status,
            at: c.at,
            error: c.error.clone(),
        }
    }
}

/// How `body` is given.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BodyEncodingView {
    /// The body as received (it is UTF-8 text).
    Utf8,
    /// The body's bytes in base64 (it is not UTF-8).
    Base64,
}

/// A received webhook with its headers, raw body and status history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InboundEventView {
    #[serde(flatten)]
    pub summary: InboundEventSummary,
    /// The headers a mapping may read (never those carrying credentials or signatures).
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub body_encoding: BodyEncodingView,
    pub history: Vec<StatusChangeView>,
    /// The produced event's type, when it still exists.
    pub produced_event_type: Option<String>,
}

impl InboundEventView {
    pub fn new(event: &InboundEvent, body: &[u8], produced_event_type: Option<String>) -> Self {
        let (body, body_encoding) = match event.body_encoding {
            BodyEncoding::Utf8 => (
                String::from_utf8_lossy(body).into_owned(),
                BodyEncodingView::Utf8,
            ),
            BodyEncoding::Base64 => (
                base64::engine::general_purpose::STANDARD.encode(body),
                BodyEncodingView::Base64,
            ),
        };
        Self {
            summary: InboundEventSummary::from(event),
            headers: event.headers.clone(),
            body,
            body_encoding,
            history: event.history.iter().map(StatusChangeView::from).collect(),
            produced_event_type,
        }
    }
}

/// The answer to an accepted webhook (202), or to a duplicate (200, `duplicate: true`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IntakeAccepted {
    pub id: InboundEventId,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
}
