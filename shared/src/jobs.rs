//! The job kinds the delivery worker runs, and the handler that dispatches them. Jobs carry ids,
//! not payloads. A job that is not JSON, or of a kind this build does not know, can never succeed
//! and is dead-lettered with the reason.

use crate::app::App;
use crate::model::{EndpointId, MessageId, TenantId};
use crate::queue::worker::JobHandler;
use crate::queue::{Outcome, ReceivedJob};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Deliver one message to one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverJob {
    pub tenant: TenantId,
    pub message: MessageId,
    pub endpoint: EndpointId,
}

/// Re-send an endpoint's failed deliveries since a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverJob {
    pub tenant: TenantId,
    pub endpoint: EndpointId,
    pub since: DateTime<Utc>,
}

/// Every job kind, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    Deliver(DeliverJob),
    Recover(RecoverJob),
}

#[derive(Deserialize)]
struct JobHeader {
    kind: String,
}

/// Routes each job to the code for its kind.
pub struct Dispatcher {
    app: Arc<App>,
}

impl Dispatcher {
    pub fn new(app: Arc<App>) -> Self {
        Self { app }
    }
}

#[async_trait]
impl JobHandler for Dispatcher {
    async fn handle(&self, job: &ReceivedJob) -> Outcome {
        match serde_json::from_str::<Job>(&job.body) {
            Ok(Job::Deliver(deliver)) => crate::delivery::deliver(&self.app, &deliver).await,
            Ok(Job::Recover(recover)) => crate::delivery::recover(&self.app, &recover).await,
            Err(e) => {
                let reason = match serde_json::from_str::<JobHeader>(&job.body) {
                    Ok(h) if !["deliver", "recover"].contains(&h.kind.as_str()) => {
                        format!("unknown job kind `{}`", h.kind)
                    }
                    _ => format!("malformed job: {e}"),
                };
                tracing::warn!(job_id = %job.id, %reason, "dead-lettering job");
                Outcome::Dead(reason)
            }
        }
    }
}
