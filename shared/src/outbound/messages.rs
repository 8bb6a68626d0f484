//! Messages, per-destination deliveries, attempts and idempotency records.

use crate::error::DomainError;
use crate::model::message::{Attempt, AttemptStatus, Delivery, DeliveryStatus, Message};
use crate::model::{EndpointId, MessageId, TenantId};
use crate::store::{ItemKey, Query, Store, TxOp, from_item, query_kept, query_records, to_item};
use crate::tenancy::tenant_pk;
use serde::{Deserialize, Serialize};
use serde_json::json;

pub fn message_key(tenant: TenantId, id: MessageId) -> ItemKey {
    ItemKey::new(tenant_pk(tenant), format!("MSG#{id}"))
}

pub fn delivery_key(tenant: TenantId, message: MessageId, endpoint: EndpointId) -> ItemKey {
    ItemKey::new(tenant_pk(tenant), format!("DLV#{message}#{endpoint}"))
}

/// The attempt-log prefix of one endpoint.
pub fn attempts_prefix(endpoint: EndpointId) -> String {
    format!("ATM#{endpoint}#")
}

pub fn idempotency_key(tenant: TenantId, key: &str) -> ItemKey {
    use sha2::Digest;
    ItemKey::new(
        tenant_pk(tenant),
        format!("IDEM#{}", hex::encode(sha2::Sha256::digest(key.as_bytes()))),
    )
}

/// What a publish with an idempotency key stored, to answer its repeats.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub request_hash: String,
    pub message_id: MessageId,
    pub matched: usize,
    pub ttl: i64,
}

pub async fn get_message(
    store: &dyn Store,
    tenant: TenantId,
    id: MessageId,
) -> Result<Option<Message>, DomainError> {
    Ok(store
        .get(&message_key(tenant, id))
        .await?
        .map(from_item)
        .transpose()?)
}

pub async fn get_delivery(
    store: &dyn Store,
    tenant: TenantId,
    message: MessageId,
    endpoint: EndpointId,
) -> Result<Option<Delivery>, DomainError> {
    Ok(store
        .get(&delivery_key(tenant, message, endpoint))
        .await?
        .map(from_item)
        .transpose()?)
}

/// Every recorded delivery of one message.
pub async fn deliveries(
    store: &dyn Store,
    tenant: TenantId,
    message: MessageId,
) -> Result<Vec<Delivery>, DomainError> {
    let query = Query::prefix(tenant_pk(tenant), format!("DLV#{message}#")).limit(1000);
    Ok(query_records(store, &query).await?.0)
}

/// Records an attempt and the delivery state it leads to, atomically.
pub async fn record_attempt(
    store: &dyn Store,
    tenant: TenantId,
    attempt: &Attempt,
    delivery: &Delivery,
    ttl: i64,
) -> Result<(), DomainError> {
    let mut attempt_item = to_item(
        &ItemKey::new(
            tenant_pk(tenant),
            format!("{}{}", attempts_prefix(attempt.endpoint_id), attempt.id),
        ),
        attempt,
    )?;
    attempt_item.insert("ttl".into(), json!(ttl));
    let mut delivery_item = to_item(
        &delivery_key(tenant, attempt.message_id, delivery.endpoint_id),
        delivery,
    )?;
    delivery_item.insert("ttl".into(), json!(ttl));
    store
        .transact(vec![
            TxOp::Put {
                item: attempt_item,
                condition: None,
            },
            TxOp::Put {
                item: delivery_item,
                condition: None,
            },
        ])
        .await?;
    Ok(())
}

/// Stores a delivery state on its own (skips, resets before a resend).
pub async fn put_delivery(
    store: &dyn Store,
    tenant: TenantId,
    message: MessageId,
    delivery: &Delivery,
    ttl: i64,
) -> Result<(), DomainError> {
    let mut item = to_item(
        &delivery_key(tenant, message, delivery.endpoint_id),
        delivery,
    )?;
    item.insert("ttl".into(), json!(ttl));
    store.put(item, None).await?;
    Ok(())
}

/// A page of an endpoint's attempts, newest first, optionally only those with `status`: full
/// unless it is the last, however many attempts of the other status lie between.
pub async fn attempts(
    store: &dyn Store,
    tenant: TenantId,
    endpoint: EndpointId,
    limit: usize,
    after: Option<String>,
    status: Option<AttemptStatus>,
) -> Result<(Vec<Attempt>, Option<String>), DomainError> {
    let query = Query::prefix(tenant_pk(tenant), attempts_prefix(endpoint))
        .backward()
        .start_after(after);
    Ok(query_kept(store, &query, limit, |a: &Attempt| {
        status.is_none_or(|s| s == a.status)
    })
    .await?)
}

/// Puts the given destinations of a message back to `pending` before it is queued again.
pub async fn reset_deliveries(
    store: &dyn Store,
    tenant: TenantId,
    message: MessageId,
    targets: &[EndpointId],
    ttl: i64,
) -> Result<(), DomainError> {
    let now = chrono::Utc::now();
    for &endpoint in targets {
        let delivery = Delivery::unattempted(endpoint, DeliveryStatus::Pending, None, now);
        put_delivery(store, tenant, message, &delivery, ttl).await?;
    }
    Ok(())
}

/// Which events a listing returns.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Exactly this event type.
    pub event_type: Option<String>,
    /// Events with at least one delivery in this state.
    pub status: Option<DeliveryStatus>,
    /// Created at or after.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Created at or before.
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

/// The most stored events one listing request reads while filtering, so that a rare filter
/// answers a short page with a cursor instead of scanning a tenant's whole history at once.
const MAX_SCANNED: usize = 2_000;

/// The sort key of the first (or last) message id of `at`'s millisecond: message ids are
/// ULIDs, so a time range is a sort-key range.
fn message_sk_at(at: chrono::DateTime<chrono::Utc>, last: bool) -> String {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let random = if last { u128::MAX } else { 0 };
    let ulid = ulid::Ulid::from_parts(ms, random);
    format!("MSG#{}", MessageId::from_ulid(ulid))
}

/// A page of a tenant's events, newest first, each with its recorded deliveries.
pub async fn list_events(
    store: &dyn Store,
    tenant: TenantId,
    filter: &EventFilter,
    limit: usize,
    after: Option<String>,
) -> Result<(Vec<(Message, Vec<Delivery>)>, Option<String>), DomainError> {
    let from = filter
        .since
        .map_or_else(|| "MSG#".to_owned(), |t| message_sk_at(t, false));
    let to = filter
        .until
        .map_or_else(|| "MSG#~".to_owned(), |t| message_sk_at(t, true));
    let mut out = Vec::new();
    let mut cursor = after;
    let mut scanned = 0;
    loop {
        let query = Query {
            pk: tenant_pk(tenant),
            range: crate::store::SortKeyRange::Between(from.clone(), to.clone()),
            forward: false,
            limit: (limit - out.len()).clamp(1, 250),
            start_after: cursor.clone(),
        };
        let (page, last) = query_records::<Message>(store, &query).await?;
        for message in page {
            scanned += 1;
            cursor = Some(message_key(tenant, message.id).sk);
            if filter
                .event_type
                .as_ref()
                .is_some_and(|t| *t != message.event_type)
            {
                continue;
            }
            let recorded = deliveries(store, tenant, message.id).await?;
            // A destination with no record yet is pending, as the event view shows it.
            let unrecorded = message
                .destinations
                .iter()
                .any(|dest| !recorded.iter().any(|d| d.endpoint_id == *dest));
            if filter.status.is_some_and(|s| {
                !(recorded.iter().any(|d| d.status == s)
                    || (s == DeliveryStatus::Pending && unrecorded))
            }) {
                continue;
            }
            out.push((message, recorded));
            if out.len() >= limit {
                return Ok((out, cursor));
            }
        }
        if last.is_none() {
            return Ok((out, None));
        }
        if scanned >= MAX_SCANNED {
            return Ok((out, cursor));
        }
    }
}
