//! `GET /v1/usage` wire types.

use crate::api::problem::Problem;
use crate::error::FieldError;
use crate::model::TenantId;
use crate::usage::{Counter, Month, Usage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// The pattern of `month`, as the server parses it.
pub const MONTH_PATTERN: &str = r"^[0-9]{4}-(0[1-9]|1[0-2])$";

/// `GET /v1/usage` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// The month (UTC) as `YYYY-MM`; the current month when left out.
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$", example = "2025-01")]
    pub month: Option<String>,
}

impl UsageQuery {
    /// The month asked for, or a 422 naming `month`.
    pub fn month(&self) -> Result<Month, Problem> {
        match &self.month {
            None => Ok(Month::current()),
            Some(raw) => raw.parse().map_err(|e: crate::usage::MonthError| {
                Problem::validation(vec![FieldError::new("month", e.to_string())])
            }),
        }
    }
}

/// A tenant's usage of one month. Counts reach these totals within about a second of
/// happening (each worker writes what it counted at most once a second).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UsageView {
    pub tenant_id: TenantId,
    /// The month (UTC), `YYYY-MM`.
    #[schema(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$", example = "2025-01")]
    pub month: String,
    /// Events accepted into the stream (by `POST /v1/events` or routed from inbound webhooks;
    /// an idempotent replay is not a new event).
    #[schema(minimum = 0)]
    pub events_published: u64,
    /// Delivery attempts (retries and test sends included): succeeded + failed.
    #[schema(minimum = 0)]
    pub deliveries_attempted: u64,
    #[schema(minimum = 0)]
    pub deliveries_succeeded: u64,
    /// Attempts that failed (a non-2xx answer, a timeout, a connection error, a refused
    /// address).
    #[schema(minimum = 0)]
    pub deliveries_failed: u64,
    /// Request body bytes of the attempts a receiver answered (with any status).
    #[schema(minimum = 0)]
    pub egress_bytes: u64,
    /// Actions fired, by provider (`twilio`, `sendgrid`, `slack`, …); providers with none are
    /// left out.
    pub actions: BTreeMap<String, u64>,
    /// Inbound webhooks accepted and stored (duplicate deliveries not counted).
    #[schema(minimum = 0)]
    pub inbound_received: u64,
    /// Inbound webhooks refused for a missing or wrong signature or a stale timestamp.
    #[schema(minimum = 0)]
    pub inbound_rejected: u64,
}

impl From<Usage> for UsageView {
    fn from(u: Usage) -> Self {
        Self {
            tenant_id: u.tenant_id,
            month: u.month.to_string(),
            events_published: u.get(Counter::EventsPublished),
            deliveries_attempted: u.get(Counter::DeliveriesAttempted),
            deliveries_succeeded: u.get(Counter::DeliveriesSucceeded),
            deliveries_failed: u.get(Counter::DeliveriesFailed),
            egress_bytes: u.get(Counter::EgressBytes),
            actions: u.actions(),
            inbound_received: u.get(Counter::InboundReceived),
            inbound_rejected: u.get(Counter::InboundRejected),
        }
    }
}
