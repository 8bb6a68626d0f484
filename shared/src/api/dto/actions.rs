//! `/v1/actions` wire types.

use super::webhooks::AttemptFields;
use crate::error::{DomainError, Errors};
use crate::model::action::{Action, ActionKind};
use crate::model::endpoint;
use crate::model::message::Attempt;
use crate::model::{ActionId, ConnectionId};
use crate::outbound::actions::{ActionChange, ActionSettings};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

fn template_schema(nullable: bool) -> Schema {
    let ty = if nullable {
        utoipa::openapi::schema::SchemaType::from_iter([Type::Object, Type::Null])
    } else {
        utoipa::openapi::schema::SchemaType::Type(Type::Object)
    };
    ObjectBuilder::new()
        .schema_type(ty)
        .description(Some(
            "Per kind, every value a minijinja template (strict: an undefined variable fails \
             the attempt and nothing is sent) over `event` {id, type, data, occurred_at} and \
             `tenant` {id}. `twilio_sms`: `to`, `from` or `messaging_service_sid`, `body`. \
             `sendgrid_email`: `to`, `from`, `subject`, `text` and/or `html`. `slack_message`: \
             `text`, `blocks` (renders to a JSON array). `http_request`: `method` (GET, POST, \
             PUT, PATCH, DELETE), `path` (starts with `/`, appended to the connection's \
             `base_url`), `body`, `headers` (an object of templates). A field of another kind, a \
             missing field or a template that does not parse is a 422 naming `template.<field>`.",
        ))
        .into()
}

fn create_template_schema() -> Schema {
    template_schema(false)
}

fn update_template_schema() -> Schema {
    template_schema(true)
}

fn create_event_types_schema() -> Schema {
    super::webhooks::event_types_schema(true)
}

fn update_event_types_schema() -> Schema {
    super::webhooks::event_types_schema(true)
}

/// `POST /v1/actions`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionCreate {
    /// A connection of the caller's tenant (another's is a 404), not revoked, of a provider
    /// that serves `kind` (else 422 naming `kind`).
    pub connection_id: ConnectionId,
    pub kind: ActionKind,
    #[serde(default)]
    #[schema(schema_with = create_event_types_schema)]
    pub event_types: Option<Vec<String>>,
    #[schema(schema_with = create_template_schema)]
    pub template: Map<String, Value>,
    /// Default `true`.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Sends per second at most (1–10,000); excess sends wait, never drop.
    #[serde(default, deserialize_with = "super::whole")]
    #[schema(minimum = 1, maximum = 10000)]
    pub rate_limit_per_s: Option<u32>,
}

impl ActionCreate {
    pub fn parse(self) -> Result<ActionSettings, DomainError> {
        let mut errors = Errors::default();
        let all = vec!["*".to_owned()];
        let event_types = errors
            .take(endpoint::parse_event_types(
                self.event_types.as_deref().unwrap_or(&all),
            ))
            .unwrap_or_default();
        let rate_limit_per_s = self
            .rate_limit_per_s
            .and_then(|r| errors.take(endpoint::parse_rate_limit(r)));
        errors.finish()?;
        Ok(ActionSettings {
            connection_id: self.connection_id,
            kind: self.kind,
            event_types,
            template: self.template,
            enabled: self.enabled.unwrap_or(true),
            rate_limit_per_s,
        })
    }
}

/// `PATCH /v1/actions/{id}`: only the fields present change; the kind never does.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionUpdate {
    pub connection_id: Option<ConnectionId>,
    #[schema(schema_with = update_event_types_schema)]
    pub event_types: Option<Vec<String>>,
    /// Replaces the whole template (checked against the action's kind).
    #[schema(schema_with = update_template_schema)]
    pub template: Option<Map<String, Value>>,
    /// `true` also clears a `disabled_reason`.
    pub enabled: Option<bool>,
    /// `null` removes the limit.
    #[serde(default, deserialize_with = "super::present_whole")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    pub rate_limit_per_s: Option<Option<u32>>,
}

impl ActionUpdate {
    pub fn parse(self) -> Result<ActionChange, DomainError> {
        let mut errors = Errors::default();
        let event_types = self
            .event_types
            .as_deref()
            .and_then(|t| errors.take(endpoint::parse_event_types(t)));
        let rate_limit_per_s = match self.rate_limit_per_s {
            Some(Some(r)) => errors.take(endpoint::parse_rate_limit(r)).map(Some),
            Some(None) => Some(None),
            None => None,
        };
        errors.finish()?;
        Ok(ActionChange {
            connection_id: self.connection_id,
            event_types,
            template: self.template,
            enabled: self.enabled,
            rate_limit_per_s,
        })
    }
}

/// An action. Holds no secret: the credentials stay sealed in the connection.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActionView {
    pub id: ActionId,
    pub connection_id: ConnectionId,
    pub kind: ActionKind,
    pub event_types: Vec<String>,
    #[schema(value_type = Object)]
    pub template: Map<String, Value>,
    pub enabled: bool,
    pub rate_limit_per_s: Option<u32>,
    /// Why Switchboard disabled the action (the provider said the destination is gone).
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Action> for ActionView {
    fn from(a: &Action) -> Self {
        Self {
            id: a.id,
            connection_id: a.connection_id,
            kind: a.kind,
            event_types: a.event_types.clone(),
            template: a.template.clone(),
            enabled: a.enabled,
            rate_limit_per_s: a.rate_limit_per_s,
            disabled_reason: a.disabled_reason.clone(),
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// One attempt of an action as returned (the provider's answer excerpt never holds the
/// credential: it was sent in headers or the URL, not echoed).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActionAttemptView {
    pub action_id: ActionId,
    #[serde(flatten)]
    pub detail: AttemptFields,
}

impl ActionAttemptView {
    /// The view of an attempt of action `action_id`'s (the caller listed that action's).
    pub fn new(action_id: ActionId, a: Attempt) -> Self {
        Self {
            action_id,
            detail: a.into(),
        }
    }
}
