//! Messages, per-destination deliveries, attempts and idempotency records, and where each
//! lives in the store: keyed for heat, so that one tenant's traffic spreads over many partitions
//! (a DynamoDB partition takes at most 1,000 write units a second).
//!
//! | record | partition key | sort key | written |
//! |---|---|---|---|
//! | message | `MSG#{message}` | `MSG` | once per event |
//! | delivery state | `MSG#{message}` | `DLV#{endpoint}` | once per attempt |
//! | attempt | `ATM#{endpoint}#{shard}` | `{attempt}` | once per attempt |
//! | idempotency record | `IDEM#{tenant}#{sha256(key)}` | `IDEM` | once per keyed event |
//! | event list entry | GSI1 `EVT#{tenant}#{shard}` | GSI1 `{message}` | with the message |
//!
//! A shard is the low bits of the record's own ULID, so writes spread evenly over
//! [`LIST_SHARDS`] partitions per list, and a list reads them all and merges by id (ids sort by
//! time). Records keyed by message id carry no tenant in their key: the message records its
//! tenant, and every read checks it before answering.

use crate::error::DomainError;
use crate::model::message::{Attempt, AttemptStatus, Delivery, DeliveryStatus, Message};
use crate::model::{AttemptId, Destination, MessageId, TenantId};
use crate::store::{
    Index, Item, ItemKey, Query, SortKeyRange, Store, StoreError, TxOp, from_item,
    query_kept_shards, query_records, query_shards, to_item,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub use crate::store::LIST_SHARDS;

fn shard(ulid: ulid::Ulid) -> u128 {
    ulid.random() % LIST_SHARDS
}

pub fn message_key(id: MessageId) -> ItemKey {
    ItemKey::new(format!("MSG#{id}"), "MSG")
}

/// The message as stored: its record, listed in its tenant's event list (GSI1).
pub fn message_item(message: &Message) -> Result<Item, StoreError> {
    let mut item = to_item(&message_key(message.id), message)?;
    let list = format!("EVT#{}#{:02}", message.tenant_id, shard(message.id.ulid()));
    item.insert("GSI1PK".into(), json!(list));
    item.insert("GSI1SK".into(), json!(message.id.to_string()));
    Ok(item)
}

pub fn delivery_key(message: MessageId, destination: Destination) -> ItemKey {
    ItemKey::new(format!("MSG#{message}"), format!("DLV#{destination}"))
}

fn attempt_partition(destination: Destination, shard: u128) -> String {
    format!("ATM#{destination}#{shard:02}")
}

fn attempt_key(destination: Destination, attempt: AttemptId) -> ItemKey {
    let partition = attempt_partition(destination, shard(attempt.ulid()));
    ItemKey::new(partition, attempt.to_string())
}

/// What an attempt-list cursor's sort key starts with (attempt ids).
pub const ATTEMPT_CURSOR_PREFIX: &str = "atm_";

pub fn idempotency_key(tenant: TenantId, key: &str) -> ItemKey {
    use sha2::Digest;
    let hash = hex::encode(sha2::Sha256::digest(key.as_bytes()));
    ItemKey::new(format!("IDEM#{tenant}#{hash}"), "IDEM")
}

/// What a publish with an idempotency key stored, to answer its repeats.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub request_hash: String,
    pub message_id: MessageId,
    pub matched: usize,
    pub ttl: i64,
}

/// The tenant's message `id`; another tenant's is absent.
pub async fn get_message(
    store: &dyn Store,
    tenant: TenantId,
    id: MessageId,
) -> Result<Option<Message>, DomainError> {
    let message: Option<Message> = store
        .get(&message_key(id))
        .await?
        .map(from_item)
        .transpose()?;
    Ok(message.filter(|m| m.tenant_id == tenant))
}

/// The delivery state of one destination. Callers reach it through a message or a job of the
/// tenant's, which is where ownership is checked.
pub async fn get_delivery(
    store: &dyn Store,
    message: MessageId,
    destination: Destination,
) -> Result<Option<Delivery>, DomainError> {
    Ok(store
        .get(&delivery_key(message, destination))
        .await?
        .map(from_item)
        .transpose()?)
}

/// Every recorded delivery of one message, read page by page: a message may have more
/// destinations than one store page holds, and a delivery missed here would show `pending`.
pub async fn deliveries(
    store: &dyn Store,
    message: MessageId,
) -> Result<Vec<Delivery>, DomainError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let query = Query::prefix(format!("MSG#{message}"), "DLV#")
            .limit(1000)
            .start_after(after);
        let (page, last) = query_records::<Delivery>(store, &query).await?;
        out.extend(page);
        match last {
            Some(sk) => after = Some(sk),
            None => return Ok(out),
        }
    }
}

/// Records an attempt and the delivery state it leads to, atomically.
pub async fn record_attempt(
    store: &dyn Store,
    attempt: &Attempt,
    delivery: &Delivery,
    ttl: i64,
) -> Result<(), DomainError> {
    let mut attempt_item = to_item(&attempt_key(attempt.destination, attempt.id), attempt)?;
    attempt_item.insert("ttl".into(), json!(ttl));
    let mut delivery_item = to_item(
        &delivery_key(attempt.message_id, delivery.destination),
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
    message: MessageId,
    delivery: &Delivery,
    ttl: i64,
) -> Result<(), DomainError> {
    let mut item = to_item(&delivery_key(message, delivery.destination), delivery)?;
    item.insert("ttl".into(), json!(ttl));
    store.put(item, None).await?;
    Ok(())
}

/// A page of an endpoint's attempts, newest first, optionally only those with `status`, full
/// unless it is the last (however many attempts of the other status lie between). The
/// caller has checked that the endpoint is the tenant's. `after` is the last attempt id of the
/// previous page.
pub async fn attempts(
    store: &dyn Store,
    endpoint: Destination,
    limit: usize,
    after: Option<String>,
    status: Option<AttemptStatus>,
) -> Result<(Vec<Attempt>, Option<String>), DomainError> {
    let queries = (0..LIST_SHARDS)
        .map(|s| {
            Query::prefix(attempt_partition(endpoint, s), ATTEMPT_CURSOR_PREFIX)
                .backward()
                .start_after(after.clone())
        })
        .collect();
    Ok(query_kept_shards(store, queries, limit, |a: &Attempt| {
        status.is_none_or(|s| s == a.status)
    })
    .await?)
}

/// Puts the given destinations of a message back to `pending` before it is queued again.
pub async fn reset_deliveries(
    store: &dyn Store,
    message: MessageId,
    targets: &[Destination],
    ttl: i64,
) -> Result<(), DomainError> {
    let now = chrono::Utc::now();
    for &endpoint in targets {
        let delivery = Delivery::unattempted(endpoint, DeliveryStatus::Pending, None, now);
        put_delivery(store, message, &delivery, ttl).await?;
    }
    Ok(())
}

/// [`reset_deliveries`] with `first` (the audit entry of the resend) in the transaction of the
/// first resets, so that no reset happens without it. Resets go in transactions of at most
/// [`RESETS_PER_TRANSACTION`] items: a message may have more destinations than one transaction
/// holds.
pub async fn reset_deliveries_with(
    store: &dyn Store,
    message: MessageId,
    targets: &[Destination],
    ttl: i64,
    first: TxOp,
) -> Result<(), DomainError> {
    let now = chrono::Utc::now();
    let mut ops = vec![first];
    for &endpoint in targets {
        let delivery = Delivery::unattempted(endpoint, DeliveryStatus::Pending, None, now);
        let mut item = to_item(&delivery_key(message, endpoint), &delivery)?;
        item.insert("ttl".into(), json!(ttl));
        ops.push(TxOp::Put {
            item,
            condition: None,
        });
        if ops.len() == RESETS_PER_TRANSACTION {
            store.transact(std::mem::take(&mut ops)).await?;
        }
    }
    if !ops.is_empty() {
        store.transact(ops).await?;
    }
    Ok(())
}

/// The most items of one reset transaction (the store port's limit).
const RESETS_PER_TRANSACTION: usize = 25;

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

/// The first (or last) message id of `at`'s millisecond: message ids are ULIDs, so a time
/// range is an id range.
fn message_id_at(at: chrono::DateTime<chrono::Utc>, last: bool) -> String {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let random = if last { u128::MAX } else { 0 };
    MessageId::from_ulid(ulid::Ulid::from_parts(ms, random)).to_string()
}

/// A page of a tenant's events, newest first, each with its recorded deliveries. `after` is the
/// last message id of the previous page.
pub async fn list_events(
    store: &dyn Store,
    tenant: TenantId,
    filter: &EventFilter,
    limit: usize,
    after: Option<String>,
) -> Result<(Vec<(Message, Vec<Delivery>)>, Option<String>), DomainError> {
    let from = filter
        .since
        .map_or_else(|| "msg_".to_owned(), |t| message_id_at(t, false));
    let to = filter
        .until
        .map_or_else(|| "msg_~".to_owned(), |t| message_id_at(t, true));
    let mut out = Vec::new();
    let mut cursor = after;
    let mut scanned = 0;
    loop {
        let want = (limit - out.len()).clamp(1, 250);
        let queries = (0..LIST_SHARDS)
            .map(|s| Query {
                index: Some(Index::Gsi1),
                pk: format!("EVT#{tenant}#{s:02}"),
                range: SortKeyRange::Between(from.clone(), to.clone()),
                forward: false,
                limit: want,
                start_after: cursor.clone(),
            })
            .collect();
        let page = query_shards(store, queries).await?;
        for item in page.items {
            let message: Message = from_item(item)?;
            scanned += 1;
            cursor = Some(message.id.to_string());
            // The id range is whole milliseconds; the times themselves bound exactly.
            if message.tenant_id != tenant
                || filter
                    .event_type
                    .as_ref()
                    .is_some_and(|t| *t != message.event_type)
                || filter.since.is_some_and(|t| message.created_at < t)
                || filter.until.is_some_and(|t| message.created_at > t)
            {
                continue;
            }
            let recorded = deliveries(store, message.id).await?;
            // A destination with no record yet is pending, as the event view shows it.
            let unrecorded = message
                .destinations
                .iter()
                .any(|dest| !recorded.iter().any(|d| d.destination == *dest));
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
        if page.last_sk.is_none() {
            return Ok((out, None));
        }
        if scanned >= MAX_SCANNED {
            return Ok((out, cursor));
        }
    }
}
