//! The delivery engine: one attempt of one message to one endpoint, with everything around it:
//! signing, the SSRF-guarded client, the attempt log, retries on the schedule, rate limits, and
//! the endpoint's health (410 and long failure disable it).
//!
//! Per delivery the hot path touches the store a small, fixed number of times: one read of the
//! delivery state, one transaction recording the attempt and the new state (plus one counter
//! update when the endpoint is rate limited). Endpoints, just-published messages and decrypted
//! signing secrets come from memory (see [`crate::outbound`]): no KMS call per delivery.

mod action;
pub mod client;
pub mod provider;
mod runner;
pub mod schedule;

pub use runner::JobRunner;

use crate::error::DomainError;
use crate::jobs::{DeliverJob, Job};
use crate::metrics::DeliveryOutcome;
use crate::model::endpoint::Endpoint;
use crate::model::message::{Attempt, AttemptStatus, Delivery, DeliveryStatus, Message};
use crate::model::{AttemptId, Destination, EndpointId, MessageId, TenantId};
use crate::outbound::{Outbound, endpoints, messages, publish};
use crate::queue::Outcome;
use crate::signing::standard::signature_header;
use crate::ssrf::AddressPolicy;
use crate::store::{ItemKey, TxOp, Update};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use client::{DeliveryClient, SendResult};
use http::{HeaderMap, HeaderName, HeaderValue};
use provider::{ProviderUrls, Verdict};
use schedule::RetrySchedule;
use secrecy::ExposeSecret;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// How a job waits before coming back when recording its outcome failed: doubling from 5 s per
/// receive, capped at 15 minutes, so a long store outage spends few of the queue's receives.
fn store_down_backoff(receive_count: u32) -> Duration {
    let doublings = receive_count.saturating_sub(1).min(8);
    Duration::from_secs(5u64 << doublings).min(Duration::from_secs(900))
}

/// The longest an inline test send waits for the receiver. API Gateway's HTTP API ends every
/// request after 30 s, and the admin Lambda's timeout (29 s in `template.yaml`) sits just under
/// it, so a slow receiver is recorded as a timeout attempt instead of ending the invocation.
pub const TEST_SEND_TIMEOUT: Duration = Duration::from_secs(25);

/// How outbound deliveries behave.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Which addresses deliveries may reach (`SWITCHBOARD_ALLOW_CIDRS`; empty = public only).
    pub policy: AddressPolicy,
    /// Delays between attempts (`SWITCHBOARD_RETRY_SCHEDULE`, seconds; default 0,5,300,…).
    pub schedule: RetrySchedule,
    /// An endpoint failing this long is disabled (`SWITCHBOARD_DISABLE_AFTER_SECONDS`, 5 days).
    pub disable_after: Duration,
    /// How long events, deliveries and attempts are kept (`SWITCHBOARD_RETENTION_DAYS`, 30).
    pub retention: Duration,
    /// Where actions' providers are (`SWITCHBOARD_{TWILIO,SENDGRID,SLACK}_BASE_URL`).
    pub providers: ProviderUrls,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            policy: AddressPolicy::default(),
            schedule: RetrySchedule::default(),
            disable_after: Duration::from_secs(5 * 24 * 3600),
            retention: Duration::from_secs(30 * 24 * 3600),
            providers: ProviderUrls::default(),
        }
    }
}

/// The delivery engine: the outbound context plus the guarded HTTP client and the retry policy.
/// Built once per process; the worker and the inline test send share it.
pub struct Engine {
    outbound: Arc<Outbound>,
    client: DeliveryClient,
    schedule: RetrySchedule,
    disable_after: Duration,
    providers: ProviderUrls,
}

impl Engine {
    pub fn new(
        outbound: Arc<Outbound>,
        settings: &DeliverySettings,
    ) -> Result<Self, client::ClientError> {
        Ok(Self {
            client: DeliveryClient::new(settings.policy.clone())?,
            outbound,
            schedule: settings.schedule.clone(),
            disable_after: settings.disable_after,
            providers: settings.providers.clone(),
        })
    }

    /// The one SSRF policy of this process: endpoint URLs are checked against it when saved.
    pub fn policy(&self) -> &AddressPolicy {
        self.client.policy()
    }

    pub fn outbound(&self) -> &Outbound {
        &self.outbound
    }

    /// The wait before attempt `next` (1-based) on this process's retry schedule, jittered:
    /// inbound processing retries on the same schedule as deliveries.
    pub fn retry_delay(&self, next: u32) -> Duration {
        self.schedule.delay(next, None)
    }
}

impl Engine {
    /// Runs one delivery job. `receive_count` says how often the queue has handed it out, which
    /// only sets the backoff when the store is down: the delivery record decides when it is dead.
    pub async fn deliver(&self, job: &DeliverJob, receive_count: u32) -> Outcome {
        match self.try_deliver(job).await {
            Ok(outcome) => outcome,
            Err(e) => {
                self.outbound.metrics().delivery(DeliveryOutcome::Error);
                tracing::warn!(error = %e, "delivery could not complete; the job will come back");
                Outcome::RetryAfter(store_down_backoff(receive_count))
            }
        }
    }

    async fn try_deliver(&self, job: &DeliverJob) -> Result<Outcome, DomainError> {
        match job.destination {
            Destination::Webhook(id) => self.deliver_webhook(job, id).await,
            Destination::Action(id) => self.deliver_action(job, id).await,
        }
    }

    async fn deliver_webhook(
        &self,
        job: &DeliverJob,
        endpoint_id: EndpointId,
    ) -> Result<Outcome, DomainError> {
        let ob = self.outbound.as_ref();
        let Some(endpoint) = ob.endpoint(job.tenant, endpoint_id).await? else {
            self.skip(job.message, job.destination, "endpoint deleted")
                .await?;
            return Ok(Outcome::Done);
        };
        if !endpoint.enabled {
            self.skip(job.message, job.destination, "endpoint disabled")
                .await?;
            return Ok(Outcome::Done);
        }
        let limits = Limits {
            max_attempts: endpoint.max_attempts,
            rate_limit_per_s: endpoint.rate_limit_per_s,
            timeout: Duration::from_millis(u64::from(endpoint.timeout_ms)),
        };
        let sent = self
            .attempt(job, &limits, |message, timeout| {
                let endpoint = &endpoint;
                async move {
                    let result = self.send(endpoint, &message, timeout).await?;
                    let verdict = if result.succeeded() {
                        Verdict::Succeeded
                    } else if result.status == Some(410) {
                        Verdict::Disable("the endpoint answered 410 Gone".into())
                    } else {
                        Verdict::Retry
                    };
                    Ok((result, verdict))
                }
            })
            .await?;
        let (outcome, verdict, now) = match sent {
            Attempted::NotSent(outcome) => return Ok(outcome),
            Attempted::Sent(outcome, verdict, now) => (outcome, verdict, now),
        };
        match verdict {
            Verdict::Disable(reason) => self.disable(&endpoint, &reason).await?,
            Verdict::Succeeded => self.note_success(&endpoint).await?,
            Verdict::Retry | Verdict::Final => self.note_failure(&endpoint, now).await?,
        }
        Ok(outcome)
    }

    /// The part every destination shares: the recorded state read (a finished delivery is not
    /// sent again), the rate limit, one send, the attempt and new state recorded together, the
    /// retry scheduled.
    async fn attempt<F, Fut>(
        &self,
        job: &DeliverJob,
        limits: &Limits,
        send: F,
    ) -> Result<Attempted, DomainError>
    where
        F: FnOnce(Arc<Message>, Duration) -> Fut,
        Fut: std::future::Future<Output = Result<(SendResult, Verdict), DomainError>>,
    {
        let ob = self.outbound.as_ref();
        let store = ob.store();
        let DeliverJob {
            tenant,
            message: message_id,
            destination,
        } = *job;
        let Some(message) = ob.message(tenant, message_id).await? else {
            ob.metrics().delivery(DeliveryOutcome::Expired);
            return Ok(Attempted::NotSent(Outcome::Dead(
                "the event expired before it could be delivered".into(),
            )));
        };
        let previous = messages::get_delivery(store, message_id, destination).await?;
        match previous.as_ref().map(|d| (d.status, d.attempts)) {
            // A redelivered job whose outcome is already recorded.
            Some((DeliveryStatus::Succeeded | DeliveryStatus::Failed, _)) => {
                ob.metrics().delivery(DeliveryOutcome::Duplicate);
                return Ok(Attempted::NotSent(Outcome::Done));
            }
            Some((_, attempts)) if attempts >= limits.max_attempts => {
                ob.metrics().delivery(DeliveryOutcome::Failed);
                return Ok(Attempted::NotSent(Outcome::Dead(format!(
                    "gave up after {attempts} attempts"
                ))));
            }
            _ => {}
        }
        if let Some(wait) = self
            .rate_limited(destination, limits.rate_limit_per_s)
            .await?
        {
            // A fresh job, so waiting does not use up the queue's receive count.
            ob.enqueue(vec![Job::Deliver(*job).outgoing(wait)?]).await?;
            ob.metrics().delivery(DeliveryOutcome::Deferred);
            return Ok(Attempted::NotSent(Outcome::Done));
        }
        let attempt_no = previous.map_or(0, |d| d.attempts) + 1;
        let (result, verdict) = send(Arc::clone(&message), limits.timeout).await?;
        self.meter(tenant, &result, verdict == Verdict::Succeeded);
        let now = Utc::now();
        let (status, outcome, next_at) = match &verdict {
            Verdict::Succeeded => (DeliveryStatus::Succeeded, Outcome::Done, None),
            Verdict::Final | Verdict::Disable(_) => (DeliveryStatus::Failed, Outcome::Done, None),
            Verdict::Retry if attempt_no >= limits.max_attempts => (
                DeliveryStatus::Failed,
                Outcome::Dead(format!("gave up after {attempt_no} attempts")),
                None,
            ),
            Verdict::Retry => {
                let wait = self.schedule.delay(
                    attempt_no + 1,
                    result
                        .retry_after
                        .filter(|_| matches!(result.status, Some(429 | 503))),
                );
                (
                    DeliveryStatus::Retrying,
                    Outcome::RetryAfter(wait),
                    Some(now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX)),
                )
            }
        };
        let succeeded = verdict == Verdict::Succeeded;
        let attempt = attempt_record(
            &message,
            destination,
            attempt_no,
            &result,
            succeeded,
            next_at,
            now,
        );
        let delivery = Delivery {
            destination,
            status,
            attempts: attempt_no,
            last_status_code: result.status,
            last_error: result.error.as_ref().map(|(_, m)| m.clone()),
            next_attempt_at: next_at,
            updated_at: now,
        };
        messages::record_attempt(store, &attempt, &delivery, ob.expiry()).await?;
        ob.metrics().attempt(status.into(), result.duration);
        tracing::info!(%tenant, message_id = %message_id, destination = %destination, attempt = attempt_no,
        status = ?result.status, error = ?result.error.as_ref().map(|(c, _)| c), "delivery attempt");
        Ok(Attempted::Sent(outcome, verdict, now))
    }
}

/// Whether [`Engine::attempt`] sent anything, and the job's outcome.
enum Attempted {
    /// Nothing sent (a duplicate, deferred by the rate limit, expired, given up).
    NotSent(Outcome),
    /// One attempt made and recorded.
    Sent(Outcome, Verdict, DateTime<Utc>),
}

/// What bounds one destination's deliveries.
struct Limits {
    max_attempts: u32,
    rate_limit_per_s: Option<u32>,
    timeout: Duration,
}

fn attempt_record(
    message: &Message,
    destination: Destination,
    attempt_no: u32,
    result: &SendResult,
    succeeded: bool,
    next_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Attempt {
    Attempt {
        id: AttemptId::generate(),
        message_id: message.id,
        destination,
        event_type: message.event_type.clone(),
        attempt: attempt_no,
        status: if succeeded {
            AttemptStatus::Succeeded
        } else {
            AttemptStatus::Failed
        },
        status_code: result.status,
        duration_ms: u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX),
        response_body: result.body.clone(),
        error_code: result.error.as_ref().map(|(c, _)| *c),
        error: result.error.as_ref().map(|(_, m)| m.clone()),
        next_attempt_at: next_at,
        created_at: now,
    }
}

impl Engine {
    /// Counts one attempt in the tenant's usage (an in-memory add): egress is the request body
    /// the receiver got (a webhook's signed payload, an action's rendered provider request).
    fn meter(&self, tenant: TenantId, result: &SendResult, succeeded: bool) {
        self.outbound
            .usage()
            .attempt(tenant, succeeded, result.sent_bytes);
    }

    /// Signs and POSTs a message to an endpoint.
    async fn send(
        &self,
        endpoint: &Endpoint,
        message: &Message,
        timeout: Duration,
    ) -> Result<SendResult, DomainError> {
        let keys = self.outbound.signing_keys(endpoint).await?;
        let timestamp = Utc::now().timestamp();
        let id = message.id.to_string();
        let signature = signature_header(&keys, &id, timestamp, message.body.as_bytes());
        let custom = self.outbound.delivery_headers(endpoint).await?;
        let mut headers = HeaderMap::with_capacity(4 + custom.len());
        for (name, value) in custom.iter() {
            if let (Ok(n), Ok(mut v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value.expose_secret()),
            ) {
                // Kept out of any debug output of the request.
                v.set_sensitive(true);
                headers.insert(n, v);
            }
        }
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let header =
            |v: &str| HeaderValue::from_str(v).map_err(|e| DomainError::Internal(e.to_string()));
        headers.insert("webhook-id", header(&id)?);
        headers.insert("webhook-timestamp", HeaderValue::from(timestamp));
        headers.insert("webhook-signature", header(&signature)?);
        Ok(self
            .client
            .post(
                &endpoint.url,
                headers,
                Bytes::from(message.body.clone()),
                timeout,
            )
            .await)
    }

    /// `Some(wait)` when the endpoint has used up this second's deliveries. The window counter lives
    /// in the store, so the limit holds across every worker and Lambda instance.
    async fn rate_limited(
        &self,
        destination: Destination,
        limit: Option<u32>,
    ) -> Result<Option<Duration>, DomainError> {
        let Some(limit) = limit else {
            return Ok(None);
        };
        let now_ms = Utc::now().timestamp_millis();
        let second = now_ms.div_euclid(1000);
        let window = self
            .outbound
            .store()
            .update(
                &ItemKey::new(format!("RL#{destination}"), second.to_string()),
                &Update {
                    add: vec![("n".into(), 1)],
                    set: vec![("ttl".into(), json!(second + 120))],
                },
                None,
            )
            .await?;
        let used = window
            .get("n")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0);
        if used <= i64::from(limit) {
            return Ok(None);
        }
        // Spread the overflow over the coming windows so they do not all return at once.
        let windows_ahead = (used - 1) / i64::from(limit);
        let until_next = 1000 - now_ms.rem_euclid(1000);
        let [r] = crate::crypto::random::bytes::<1>();
        let wait_ms = until_next + (windows_ahead - 1).max(0) * 1000 + i64::from(r) * 4;
        Ok(Some(Duration::from_millis(wait_ms.max(1) as u64)))
    }

    async fn skip(
        &self,
        message: MessageId,
        destination: Destination,
        why: &str,
    ) -> Result<(), DomainError> {
        let delivery = Delivery::unattempted(
            destination,
            DeliveryStatus::Skipped,
            Some(why.to_owned()),
            Utc::now(),
        );
        let ob = self.outbound.as_ref();
        messages::put_delivery(ob.store(), message, &delivery, ob.expiry()).await?;
        ob.metrics().delivery(DeliveryOutcome::Skipped);
        Ok(())
    }

    async fn note_success(&self, endpoint: &Endpoint) -> Result<(), DomainError> {
        if endpoint.failing_since.is_some() {
            endpoints::modify(&self.outbound, endpoint.tenant_id, endpoint.id, |e| {
                e.failing_since = None;
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    async fn note_failure(
        &self,
        endpoint: &Endpoint,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        match endpoint.failing_since {
            None => {
                endpoints::modify(&self.outbound, endpoint.tenant_id, endpoint.id, |e| {
                    e.failing_since.get_or_insert(now);
                    Ok(())
                })
                .await?;
            }
            Some(since) if (now - since).to_std().unwrap_or_default() >= self.disable_after => {
                self.disable(
                    endpoint,
                    &format!("no successful delivery since {}", since.to_rfc3339()),
                )
                .await?;
            }
            Some(_) => {}
        }
        Ok(())
    }

    /// Disables an endpoint and tells the tenant with a `webhook.disabled` event.
    /// Audited as `webhook.disabled` by the system actor `delivery`.
    async fn disable(&self, endpoint: &Endpoint, reason: &str) -> Result<(), DomainError> {
        let audit = crate::audit::Recorder::system("delivery");
        let disabled = endpoints::modify_audited(
            &self.outbound,
            endpoint.tenant_id,
            endpoint.id,
            |e| {
                e.enabled = false;
                e.disabled_reason = Some(reason.to_owned());
                Ok(())
            },
            &audit,
            |_| crate::audit::Action::WebhookDisabled,
        )
        .await?;
        tracing::warn!(tenant = %endpoint.tenant_id, endpoint_id = %endpoint.id, reason, "endpoint disabled");
        publish::publish_internal(
            &self.outbound,
            endpoint.tenant_id,
            "webhook.disabled",
            json!({"endpoint_id": disabled.id, "url": disabled.url, "reason": reason}),
        )
        .await?;
        Ok(())
    }

    /// Sends a `webhook.test` event to one endpoint now (one attempt, no retries) and returns it.
    /// Audited (`webhook.tested`, naming the test event) with the test event's record, before
    /// it is sent.
    pub async fn send_test(
        &self,
        tenant: TenantId,
        endpoint_id: EndpointId,
        audit: &crate::audit::Recorder,
    ) -> Result<Attempt, DomainError> {
        let ob = self.outbound.as_ref();
        let endpoint = endpoints::get(ob.store(), tenant, endpoint_id).await?;
        let now = Utc::now();
        let id = MessageId::generate();
        let message = Message {
        id,
        tenant_id: tenant,
        event_type: "webhook.test".into(),
        body: json!({"type": "webhook.test", "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                     "data": {"endpoint_id": endpoint_id}}).to_string(),
        created_at: now,
        destinations: vec![Destination::Webhook(endpoint_id)],
        ttl: ob.expiry(),
    };
        let changes = vec![crate::audit::snapshot::set("event_id", id)];
        let target = endpoints::target(endpoint_id);
        ob.store()
            .transact(vec![
                TxOp::Put {
                    item: messages::message_item(&message)?,
                    condition: None,
                },
                audit.op(tenant, crate::audit::Action::WebhookTested, target, changes)?,
            ])
            .await?;
        let timeout = Duration::from_millis(u64::from(endpoint.timeout_ms)).min(TEST_SEND_TIMEOUT);
        let result = self.send(&endpoint, &message, timeout).await?;
        self.meter(tenant, &result, result.succeeded());
        let attempt = attempt_record(
            &message,
            Destination::Webhook(endpoint_id),
            1,
            &result,
            result.succeeded(),
            None,
            Utc::now(),
        );
        let delivery = Delivery {
            destination: Destination::Webhook(endpoint_id),
            status: if result.succeeded() {
                DeliveryStatus::Succeeded
            } else {
                DeliveryStatus::Failed
            },
            attempts: 1,
            last_status_code: result.status,
            last_error: result.error.as_ref().map(|(_, m)| m.clone()),
            next_attempt_at: None,
            updated_at: Utc::now(),
        };
        messages::record_attempt(ob.store(), &attempt, &delivery, ob.expiry()).await?;
        Ok(attempt)
    }

    /// Marks a delivery `failed` with `reason` when its job dies outside an attempt (the queue
    /// gave up on it, or the event expired), so the event's status tells the truth.
    pub async fn mark_dead(&self, job: &DeliverJob, reason: &str) -> Result<(), DomainError> {
        let ob = self.outbound.as_ref();
        let previous = messages::get_delivery(ob.store(), job.message, job.destination).await?;
        let mut delivery = previous.unwrap_or_else(|| {
            Delivery::unattempted(job.destination, DeliveryStatus::Failed, None, Utc::now())
        });
        delivery.status = DeliveryStatus::Failed;
        delivery.last_error = Some(reason.to_owned());
        delivery.next_attempt_at = None;
        delivery.updated_at = Utc::now();
        messages::put_delivery(ob.store(), job.message, &delivery, ob.expiry()).await
    }
}
