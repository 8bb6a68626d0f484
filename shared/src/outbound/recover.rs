//! Recovery: re-send every delivery to an endpoint that ended `failed` since a time. A request
//! queues one recover job; the worker walks the endpoint's attempt log and re-queues each failed
//! delivery, so a large recovery never runs inside an HTTP request.

use super::{Outbound, endpoints, messages};
use crate::audit::snapshot::set;
use crate::audit::{Action, Recorder};
use crate::error::DomainError;
use crate::jobs::{self, Job, RecoverJob};
use crate::model::message::{AttemptStatus, DeliveryStatus};
use crate::model::{Destination, EndpointId, TenantId};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::time::Duration;

/// The most failed deliveries one recovery re-sends.
pub const RECOVER_LIMIT: usize = 10_000;

/// Queues a recovery of `endpoint`'s failed deliveries since `since` (not in the future).
/// Audited (`webhook.recovered`, outcome `accepted`) before the job is queued.
pub async fn request(
    ob: &Outbound,
    tenant: TenantId,
    endpoint: EndpointId,
    since: DateTime<Utc>,
    audit: &Recorder,
) -> Result<(), DomainError> {
    if since > Utc::now() {
        return Err(DomainError::invalid("since", "must not be in the future"));
    }
    endpoints::get(ob.store(), tenant, endpoint).await?;
    let target = endpoints::target(endpoint);
    let changes = vec![set("since", since)];
    audit
        .append(
            ob.store(),
            tenant,
            Action::WebhookRecovered,
            target,
            changes,
        )
        .await?;
    let job = Job::Recover(RecoverJob {
        tenant,
        endpoint,
        since,
    });
    ob.enqueue(vec![job.outgoing(Duration::ZERO)?]).await
}

/// Runs a recovery job; returns how many deliveries were queued again.
pub async fn run(ob: &Outbound, job: &RecoverJob) -> Result<usize, DomainError> {
    let store = ob.store();
    let mut seen = HashSet::new();
    let mut requeued = 0;
    let mut after = None;
    'pages: loop {
        let (page, last) =
            messages::attempts(store, Destination::Webhook(job.endpoint), 250, after, None).await?;
        for attempt in page {
            if attempt.created_at < job.since {
                break 'pages;
            }
            if attempt.status != AttemptStatus::Failed || !seen.insert(attempt.message_id) {
                continue;
            }
            let state = messages::get_delivery(
                store,
                attempt.message_id,
                Destination::Webhook(job.endpoint),
            )
            .await?;
            if state.is_some_and(|d| d.status == DeliveryStatus::Failed) {
                let targets = [Destination::Webhook(job.endpoint)];
                messages::reset_deliveries(store, attempt.message_id, &targets, ob.expiry())
                    .await?;
                ob.enqueue(jobs::deliveries(job.tenant, attempt.message_id, &targets)?)
                    .await?;
                requeued += 1;
                if requeued >= RECOVER_LIMIT {
                    break 'pages;
                }
            }
        }
        match last {
            Some(sk) => after = Some(sk),
            None => break,
        }
    }
    Ok(requeued)
}
