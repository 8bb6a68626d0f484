//! Publishing: an event is stored (durably) with the destinations it matched, then one delivery
//! job per destination is queued in batches; only then does the publisher get its answer.

use super::Outbound;
use super::messages::{self, IdempotencyRecord, idempotency_key, message_item, message_key};
use crate::audit::snapshot::set;
use crate::audit::{Action, Recorder, Target, TargetType};
use crate::error::DomainError;
use crate::jobs;
use crate::model::message::{Message, NewEvent, Published};
use crate::model::{Destination, EndpointId, MessageId, TenantId};
use crate::store::{Condition, StoreError, TxOp, from_item, to_item};
use serde_json::json;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// Publishes a tenant's event (the `POST /v1/events` path).
pub async fn publish(
    ob: &Outbound,
    tenant: TenantId,
    request: NewEvent,
) -> Result<Published, DomainError> {
    let request_hash = hex::encode(Sha256::digest(
        format!("{}\n{}", request.event_type, request.data.get()).as_bytes(),
    ));
    let idempotency = request
        .idempotency_key
        .as_deref()
        .map(|k| (k, request_hash.as_str()));
    let published =
        publish_raw(ob, tenant, &request.event_type, &request.data, idempotency).await?;
    if !published.replayed {
        ob.usage().published(tenant);
    }
    Ok(published)
}

/// Publishes an operational event (`webhook.disabled`, …) into a tenant's own stream.
pub async fn publish_internal(
    ob: &Outbound,
    tenant: TenantId,
    event_type: &str,
    data: serde_json::Value,
) -> Result<Published, DomainError> {
    let raw = RawValue::from_string(data.to_string())
        .map_err(|e| DomainError::Internal(e.to_string()))?;
    publish_raw(ob, tenant, event_type, &raw, None).await
}

async fn publish_raw(
    ob: &Outbound,
    tenant: TenantId,
    event_type: &str,
    data: &RawValue,
    idempotency: Option<(&str, &str)>,
) -> Result<Published, DomainError> {
    let endpoints = ob.tenant_endpoints(tenant).await?;
    let actions = ob.tenant_actions(tenant).await?;
    // Webhooks and actions alike: one delivery per matching destination, on the same engine.
    let destinations: Vec<Destination> = endpoints
        .iter()
        .filter(|e| e.enabled && e.subscribes_to(event_type))
        .map(|e| Destination::Webhook(e.id))
        .chain(
            actions
                .iter()
                .filter(|a| a.enabled && a.subscribes_to(event_type))
                .map(|a| Destination::Action(a.id)),
        )
        .collect();
    let id = MessageId::generate();
    // The event's time is its id's, so `GET /v1/events?until=<created_at>` finds it.
    let now = id.created_at();
    let body = format!(
        r#"{{"type":{},"timestamp":{},"data":{}}}"#,
        json!(event_type),
        json!(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        data.get()
    );
    let ttl = ob.expiry();
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
        replayed: false,
    };
    let mut ops = vec![TxOp::Put {
        item: message_item(&message)?,
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
    match (ob.store().transact(ops).await, idempotency) {
        (Ok(()), _) => {}
        (Err(StoreError::ConditionFailed), Some((key, hash))) => {
            return replay(ob, tenant, key, hash).await;
        }
        (Err(e), _) => return Err(e.into()),
    }
    let message = Arc::new(message);
    if let Err(e) = ob
        .enqueue(jobs::deliveries(tenant, id, &message.destinations)?)
        .await
    {
        // Not acknowledged, so not accepted: undo, and let the publisher retry.
        let mut undo = vec![TxOp::Delete {
            key: message_key(id),
            condition: None,
        }];
        if let Some((key, _)) = idempotency {
            undo.push(TxOp::Delete {
                key: idempotency_key(tenant, key),
                condition: None,
            });
        }
        if let Err(undo_err) = ob.store().transact(undo).await {
            tracing::error!(message_id = %id, error = %undo_err, "could not undo an unqueued publish");
        }
        return Err(e);
    }
    ob.remember(message);
    ob.metrics().published();
    Ok(published)
}

async fn replay(
    ob: &Outbound,
    tenant: TenantId,
    key: &str,
    hash: &str,
) -> Result<Published, DomainError> {
    let item = ob
        .store()
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
    Ok(Published {
        id: record.message_id,
        matched: record.matched,
        replayed: true,
    })
}

/// Queues the message again for one or all of its destinations, resetting their state; audited
/// (`event.resent`, outcome `accepted`) in the transaction of the first resets.
pub async fn resend(
    ob: &Outbound,
    tenant: TenantId,
    id: MessageId,
    only: Option<EndpointId>,
    audit: &Recorder,
) -> Result<usize, DomainError> {
    let message = messages::get_message(ob.store(), tenant, id)
        .await?
        .ok_or(DomainError::NotFound("event"))?;
    let targets: Vec<Destination> = match only {
        Some(e) if message.destinations.contains(&Destination::Webhook(e)) => {
            vec![Destination::Webhook(e)]
        }
        Some(_) => {
            return Err(DomainError::invalid(
                "endpoint_id",
                "is not a destination of this event",
            ));
        }
        None => message.destinations.clone(),
    };
    let changes = vec![set("destination_ids", &targets)];
    let target = Target::new(TargetType::Event, id);
    let entry = audit.op(tenant, Action::EventResent, target, changes)?;
    messages::reset_deliveries_with(ob.store(), id, &targets, ob.expiry(), entry).await?;
    ob.enqueue(jobs::deliveries(tenant, id, &targets)?).await?;
    Ok(targets.len())
}
