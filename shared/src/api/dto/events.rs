//! `/v1/events` wire types.

use crate::api::problem::Problem;
use crate::error::DomainError;
use crate::model::message::{
    Delivery, DeliveryStatus, MAX_IDEMPOTENCY_KEY, Message, NewEvent, Published,
};
use crate::model::{ActionId, Destination, EndpointId, MessageId};
use crate::outbound::messages::EventFilter;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};

/// The pattern of an event type: dotted segments of letters, digits, `_` and `-`.
pub const EVENT_TYPE_PATTERN: &str = r"^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64})*$";

/// `POST /v1/events`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventPublish {
    /// A dotted event type, e.g. `ticket.created` (at most 128 characters). The namespaces
    /// `webhook.`, `integration.`, `api_key.` and `switchboard.` (any case) are reserved for
    /// Switchboard's own events: publishing into them is a 422 naming `type`.
    #[serde(rename = "type")]
    #[schema(
        max_length = 128,
        pattern = r"^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64})*$"
    )]
    pub event_type: String,
    /// Any JSON value, at most 256 KiB, that every JSON reader accepts: arrays and objects
    /// nested at most 64 levels, numbers within the range of a double, strings without lone
    /// surrogate escapes (otherwise 422 naming `data`). Delivered byte for byte.
    #[schema(value_type = serde_json::Value)]
    pub data: Box<RawValue>,
    /// Repeat a publish safely: within 24 h the same key returns the original answer.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub idempotency_key: Option<String>,
}

impl EventPublish {
    pub fn parse(self) -> Result<NewEvent, DomainError> {
        NewEvent::parse(self.event_type, self.data, self.idempotency_key)
    }
}

const _: () = assert!(MAX_IDEMPOTENCY_KEY == 255);

/// The answer to a publish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PublishedView {
    pub id: MessageId,
    /// How many destinations the event fans out to (0 is not an error).
    pub matched: usize,
}

impl From<&Published> for PublishedView {
    fn from(p: &Published) -> Self {
        Self {
            id: p.id,
            matched: p.matched,
        }
    }
}

/// An event's delivery state at one destination, whatever its kind (flattened into
/// [`DeliveryView`] and [`ActionDeliveryView`]).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryFields {
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl From<Delivery> for DeliveryFields {
    fn from(d: Delivery) -> Self {
        Self {
            status: d.status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            next_attempt_at: d.next_attempt_at,
            updated_at: d.updated_at,
        }
    }
}

/// The delivery state of an event at one webhook endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    pub endpoint_id: EndpointId,
    #[serde(flatten)]
    pub state: DeliveryFields,
}

/// The delivery state of an event at one action.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActionDeliveryView {
    pub action_id: ActionId,
    #[serde(flatten)]
    pub state: DeliveryFields,
}

/// One delivery per destination: the recorded one, or `pending` when none is recorded yet.
fn per_destination(message: &Message, recorded: &[Delivery]) -> Vec<(Destination, Delivery)> {
    message
        .destinations
        .iter()
        .map(|dest| {
            let delivery = recorded
                .iter()
                .find(|d| d.destination == *dest)
                .cloned()
                .unwrap_or_else(|| {
                    Delivery::unattempted(*dest, DeliveryStatus::Pending, None, message.created_at)
                });
            (*dest, delivery)
        })
        .collect()
}

/// `GET /v1/events/{id}` and each item of `GET /v1/events`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    pub id: MessageId,
    #[serde(rename = "type")]
    pub event_type: String,
    /// The event's `data` (any JSON value) exactly as published and delivered.
    #[schema(value_type = serde_json::Value)]
    pub data: Box<RawValue>,
    pub created_at: DateTime<Utc>,
    /// One per webhook endpoint the event fans out to.
    pub deliveries: Vec<DeliveryView>,
    /// One per action the event fires.
    pub action_deliveries: Vec<ActionDeliveryView>,
}

impl EventView {
    /// The view of a stored event; a stored body that does not parse is an error, not `null`.
    pub fn new(message: &Message, recorded: &[Delivery]) -> Result<Self, DomainError> {
        let all = per_destination(message, recorded);
        Ok(Self {
            id: message.id,
            event_type: message.event_type.clone(),
            data: message.data()?,
            created_at: message.created_at,
            deliveries: all
                .iter()
                .filter_map(|(dest, d)| {
                    dest.endpoint().map(|endpoint_id| DeliveryView {
                        endpoint_id,
                        state: d.clone().into(),
                    })
                })
                .collect(),
            action_deliveries: all
                .iter()
                .filter_map(|(dest, d)| {
                    dest.action().map(|action_id| ActionDeliveryView {
                        action_id,
                        state: d.clone().into(),
                    })
                })
                .collect(),
        })
    }
}

/// `GET /v1/events` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Items per page, 1–250 (default 50).
    #[param(minimum = 1, maximum = 250)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only events of exactly this type.
    #[serde(rename = "type")]
    #[param(
        rename = "type",
        max_length = 128,
        pattern = r"^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64})*$"
    )]
    pub event_type: Option<String>,
    /// Only events with at least one delivery in this state.
    #[param(value_type = Option<DeliveryStatus>)]
    pub status: Option<DeliveryStatus>,
    /// Only events created at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events created at or before this time.
    pub until: Option<DateTime<Utc>>,
}

impl EventsQuery {
    /// The filter, or a 400 naming the bad parameter.
    pub fn filter(&self) -> Result<EventFilter, Problem> {
        if let Some(t) = &self.event_type {
            crate::model::endpoint::validate_event_type("type", t)
                .map_err(|e| Problem::bad_request(&e.field, e.message))?;
        }
        if let (Some(since), Some(until)) = (self.since, self.until)
            && since > until
        {
            return Err(Problem::bad_request("until", "must not be before `since`"));
        }
        Ok(EventFilter {
            event_type: self.event_type.clone(),
            status: self.status,
            since: self.since,
            until: self.until,
        })
    }
}

/// `POST /v1/events/{id}/resend`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventResend {
    /// One destination; all of the event's destinations when absent.
    pub endpoint_id: Option<EndpointId>,
}
