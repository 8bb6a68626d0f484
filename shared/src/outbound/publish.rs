//! Publishing: an event is stored (durably) with the destinations it matched, then one delivery
//! job per destination is queued in batches; only then does the publisher get its answer.

use super::messages::{self, IdempotencyRecord, idempotency_key, message_key};
use crate::app::App;
use crate::error::DomainError;
use crate::jobs::{DeliverJob, Job};
use crate::model::message::{EventPublish, Message, Published};
use crate::model::{EndpointId, MessageId, TenantId};
use crate::queue::OutgoingJob;
use crate::store::{Condition, StoreError, TxOp, from_item, to_item};
use chrono::Utc;
use serde_json::json;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// The outcome of a publish: its answer, and whether it replays an earlier publish.
pub struct PublishOutcome {
    pub published: Published,
    pub replayed: bool,
}

/// Publishes a tenant's event (the `POST /v1/events` path).
pub async fn publish(
    app: &App,
    tenant: TenantId,
    request: EventPublish,
) -> Result<PublishOutcome, DomainError> {
    request.validate()?;
    let request_hash = hex::encode(Sha256::digest(
        format!("{}\n{}", request.event_type, request.data.get()).as_bytes(),
    ));
    let idempotency = request
        .idempotency_key
        .as_deref()
        .map(|k| (k, request_hash.as_str()));
    publish_raw(app, tenant, &request.event_type, &request.data, idempotency).await
}

/// Publishes an operational event (`webhook.disabled`, …) into a tenant's own stream.
pub async fn publish_internal(
    app: &App,
    tenant: TenantId,
    event_type: &str,
    data: serde_json::Value,
) -> Result<Published, DomainError> {
    let raw = RawValue::from_string(data.to_string())
        .map_err(|e| DomainError::Internal(e.to_string()))?;
    Ok(publish_raw(app, tenant, event_type, &raw, None)
        .await?
        .published)
}

async fn publish_raw(
    app: &App,
    tenant: TenantId,
    event_type: &str,
    data: &RawValue,
    idempotency: Option<(&str, &str)>,
) -> Result<PublishOutcome, DomainError> {
    let endpoints = app
        .outbound
        .tenant_endpoints(app.store.as_ref(), tenant)
        .await?;
    let destinations: Vec<EndpointId> = endpoints
        .iter()
        .filter(|e| e.enabled && e.subscribes_to(event_type))
        .map(|e| e.id)
        .collect();
    let now = Utc::now();
    let id = MessageId::generate();
    let body = format!(
        r#"{{"type":{},"timestamp":{},"data":{}}}"#,
        json!(event_type),
        json!(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        data.get()
    );
    let ttl = now.timestamp() + app.outbound.settings.retention.as_secs() as i64;
    let message = Message {
        id,
        tenant_id: tenant,
        event_type: event_type.to_owned(),
        body,
        created_at: now,
        destinations,
        ttl,
    };
    let published = Published {
        id,
        matched: message.destinations.len(),
    };
    let mut ops = vec![TxOp::Put {
        item: to_item(&message_key(tenant, id), &message)?,
        condition: Some(Condition::Absent),
    }];
    if let Some((key, hash)) = idempotency {
        let record = IdempotencyRecord {
            request_hash: hash.to_owned(),
            message_id: id,
            matched: published.matched,
            ttl: (now + IDEMPOTENCY_WINDOW).timestamp(),
        };
        ops.push(TxOp::Put {
            item: to_item(&idempotency_key(tenant, key), &record)?,
            condition: Some(Condition::Absent),
        });
    }
    match app.store.transact(ops).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed) if idempotency.is_some() => {
            let (key, hash) = idempotency.unwrap_or_default();
            return replay(app, tenant, key, hash).await;
        }
        Err(e) => return Err(e.into()),
    }
    let message = Arc::new(message);
    if let Err(e) = enqueue(app, tenant, id, &message.destinations).await {
        // Not acknowledged, so not accepted: undo, and let the publisher retry.
        let mut undo = vec![TxOp::Delete {
            key: message_key(tenant, id),
            condition: None,
        }];
        if let Some((key, _)) = idempotency {
            undo.push(TxOp::Delete {
                key: idempotency_key(tenant, key),
                condition: None,
            });
        }
        if let Err(undo_err) = app.store.transact(undo).await {
            tracing::error!(message_id = %id, error = %undo_err, "could not undo an unqueued publish");
        }
        return Err(e);
    }
    app.outbound.remember(message);
    Ok(PublishOutcome {
        published,
        replayed: false,
    })
}

async fn replay(
    app: &App,
    tenant: TenantId,
    key: &str,
    hash: &str,
) -> Result<PublishOutcome, DomainError> {
    let item = app
        .store
        .get(&idempotency_key(tenant, key))
        .await?
        .ok_or_else(|| {
            DomainError::Conflict(
                "a publish with this idempotency key is in progress; retry".into(),
            )
        })?;
    let record: IdempotencyRecord = from_item(item)?;
    if record.request_hash != hash {
        return Err(DomainError::Conflict(
            "this idempotency_key was used with a different event in the last 24 h".into(),
        ));
    }
    Ok(PublishOutcome {
        published: Published {
            id: record.message_id,
            matched: record.matched,
        },
        replayed: true,
    })
}

/// Queues one delivery job per destination, in batches.
pub async fn enqueue(
    app: &App,
    tenant: TenantId,
    message: MessageId,
    destinations: &[EndpointId],
) -> Result<(), DomainError> {
    let jobs = destinations
        .iter()
        .map(|&endpoint| {
            serde_json::to_string(&Job::Deliver(DeliverJob {
                tenant,
                message,
                endpoint,
            }))
            .map(OutgoingJob::now)
            .map_err(|e| DomainError::Internal(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    app.queue.send_batch(jobs).await?;
    Ok(())
}

/// Queues the message again for one or all of its destinations, resetting their state.
pub async fn resend(
    app: &App,
    tenant: TenantId,
    id: MessageId,
    only: Option<EndpointId>,
) -> Result<usize, DomainError> {
    let message = messages::get_message(app.store.as_ref(), tenant, id)
        .await?
        .ok_or(DomainError::NotFound("event"))?;
    let targets: Vec<EndpointId> = match only {
        Some(e) if message.destinations.contains(&e) => vec![e],
        Some(_) => {
            return Err(DomainError::invalid(
                "endpoint_id",
                "is not a destination of this event",
            ));
        }
        None => message.destinations.clone(),
    };
    crate::delivery::reset_deliveries(app, tenant, &message, &targets).await?;
    enqueue(app, tenant, id, &targets).await?;
    Ok(targets.len())
}
