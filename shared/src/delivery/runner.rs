//! The worker's job handler: decodes each job, runs it, and makes sure a job that dies never
//! leaves its delivery looking alive. A job that is not JSON, or of a kind this build does not
//! know, can never succeed and is dead-lettered with the reason.

use super::Engine;
use crate::inbound::{Inbound, processing};
use crate::jobs::{self, DeliverJob, InboundJob, Job};
use crate::outbound::recover;
use crate::queue::worker::JobHandler;
use crate::queue::{MAX_RECEIVES, Outcome, ReceivedJob};
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::Arc;
use tracing::Instrument;

/// Routes each job to the code for its kind.
pub struct JobRunner {
    engine: Arc<Engine>,
    inbound: Arc<Inbound>,
}

impl JobRunner {
    pub fn new(engine: Arc<Engine>, inbound: Arc<Inbound>) -> Self {
        Self { engine, inbound }
    }

    /// Processes one received webhook; when its state cannot be read or recorded, the job
    /// comes back after the store-down backoff.
    async fn inbound(&self, job: &InboundJob, received: &ReceivedJob) -> Outcome {
        let delay = |next| self.engine.retry_delay(next);
        match processing::process(&self.inbound, job, received.receive_count, delay).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::warn!(error = %e, "inbound processing could not complete; it will come back");
                Outcome::RetryAfter(super::store_down_backoff(received.receive_count))
            }
        }
    }

    async fn deliver(&self, job: &DeliverJob, received: &ReceivedJob) -> Outcome {
        let outcome = self.engine.deliver(job, received.receive_count).await;
        // On its last receive the queue would dead-letter the job by itself, out of our sight:
        // record the delivery as failed first, so the event does not stay `retrying` forever.
        let outcome = match outcome {
            Outcome::RetryAfter(_) if received.receive_count >= MAX_RECEIVES => {
                Outcome::Dead(format!(
                    "the queue gave up after {} receives",
                    received.receive_count
                ))
            }
            other => other,
        };
        if let Outcome::Dead(reason) = &outcome
            && let Err(e) = self.engine.mark_dead(job, reason).await
        {
            tracing::warn!(error = %e, message_id = %job.message, endpoint_id = %job.destination,
                "could not record a dead delivery; the job will come back");
            return Outcome::RetryAfter(super::store_down_backoff(received.receive_count));
        }
        outcome
    }
}

#[derive(Deserialize)]
struct JobHeader {
    kind: String,
}

#[async_trait]
impl JobHandler for JobRunner {
    async fn handle(&self, job: &ReceivedJob) -> Outcome {
        match serde_json::from_str::<Job>(&job.body) {
            Ok(Job::Deliver(deliver)) => {
                // Every log line of the delivery (engine, client, bookkeeping) carries these.
                let span = tracing::info_span!("delivery", tenant_id = %deliver.tenant,
                    message_id = %deliver.message, endpoint_id = %deliver.destination, job_id = %job.id);
                self.deliver(&deliver, job).instrument(span).await
            }
            Ok(Job::Recover(recovery)) => {
                let span = tracing::info_span!("recovery", tenant_id = %recovery.tenant,
                    endpoint_id = %recovery.endpoint, job_id = %job.id);
                match recover::run(self.engine.outbound(), &recovery)
                    .instrument(span)
                    .await
                {
                    Ok(n) => {
                        tracing::info!(tenant = %recovery.tenant, endpoint_id = %recovery.endpoint,
                            requeued = n, "recovery done");
                        Outcome::Done
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "recovery could not complete; it will come back");
                        Outcome::RetryAfter(super::store_down_backoff(job.receive_count))
                    }
                }
            }
            Ok(Job::Inbound(inbound)) => {
                let span = tracing::info_span!("inbound", tenant_id = %inbound.tenant,
                    integration_id = %inbound.integration, event_id = %inbound.event, job_id = %job.id);
                self.inbound(&inbound, job).instrument(span).await
            }
            Err(e) => {
                let reason = match serde_json::from_str::<JobHeader>(&job.body) {
                    Ok(h) if !jobs::KINDS.contains(&h.kind.as_str()) => {
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
