//! The job kinds the delivery worker runs. Jobs carry ids, not payloads; producers turn them into
//! queue messages here, and the worker's dispatcher (in [`crate::delivery`]) decodes them.

use crate::error::DomainError;
use crate::model::{Destination, EndpointId, InboundEventId, IntegrationId, MessageId, TenantId};
use crate::queue::OutgoingJob;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Deliver one message to one destination (a webhook endpoint or an action). Jobs queued before
/// actions existed name it `endpoint`, which still reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverJob {
    pub tenant: TenantId,
    pub message: MessageId,
    #[serde(rename = "destination", alias = "endpoint")]
    pub destination: Destination,
}

/// Re-send an endpoint's failed deliveries since a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverJob {
    pub tenant: TenantId,
    pub endpoint: EndpointId,
    pub since: DateTime<Utc>,
}

/// Process one received webhook (map, route, publish). `run` is the event's run when the job
/// was queued: a replay starts a new run, and a job of an earlier run does nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundJob {
    pub tenant: TenantId,
    pub integration: IntegrationId,
    pub event: InboundEventId,
    pub run: u32,
}

/// Every job kind, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    Deliver(DeliverJob),
    Recover(RecoverJob),
    Inbound(InboundJob),
}

/// The kinds this build knows, to tell an unknown kind from a malformed job.
pub const KINDS: [&str; 3] = ["deliver", "recover", "inbound"];

impl Job {
    /// The queue message for this job, visible after `delay`.
    pub fn outgoing(&self, delay: Duration) -> Result<OutgoingJob, DomainError> {
        let body = serde_json::to_string(self)
            .map_err(|e| DomainError::Internal(format!("encoding a job: {e}")))?;
        Ok(OutgoingJob { body, delay })
    }
}

/// One delivery job per destination of a message, due now.
pub fn deliveries(
    tenant: TenantId,
    message: MessageId,
    destinations: &[Destination],
) -> Result<Vec<OutgoingJob>, DomainError> {
    destinations
        .iter()
        .map(|&destination| {
            Job::Deliver(DeliverJob {
                tenant,
                message,
                destination,
            })
            .outgoing(Duration::ZERO)
        })
        .collect()
}
