//! The inbound event repository: an event is stored with its raw body (in parts, so a 1 MiB
//! body fits DynamoDB's 400 KB items), its dedupe record and its list entry in one
//! transaction; its status changes are optimistic writes of the record alone. The list entry
//! is a small item of its own, written once, in one of [`LIST_SHARDS`] partitions per
//! integration: an index over the record would be rewritten with each of its three or four
//! status changes, and a list partition would take four writes per webhook instead of one.

use crate::error::DomainError;
use crate::model::inbound_event::{BodyEncoding, InboundEvent, InboundStatus};
use crate::model::{InboundEventId, IntegrationId, TenantId};
use crate::store::{
    Condition, Item, ItemKey, Query, SortKeyRange, Store, StoreError, TxOp, from_item,
    query_shards, to_item,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Partitions of one integration's event list. At 10,000 webhooks a second to one integration,
/// each takes ~156 writes a second (one per webhook, never rewritten).
pub const LIST_SHARDS: u128 = 64;
/// The most events one listing request reads while filtering by status, so that a rare status
/// answers a short page with a cursor instead of reading an integration's whole history.
const MAX_SCANNED: usize = 1_000;
/// The most body bytes (as stored: text, or base64) in one part item.
pub const PART_BYTES: usize = 256 * 1024;
/// What an event-list cursor's sort key starts with (event ids).
pub const CURSOR_PREFIX: &str = "evt_";

fn partition(id: InboundEventId) -> String {
    format!("IEV#{id}")
}

pub fn event_key(id: InboundEventId) -> ItemKey {
    ItemKey::new(partition(id), "IEV")
}

fn part_key(id: InboundEventId, n: usize) -> ItemKey {
    ItemKey::new(partition(id), format!("BODY#{n:02}"))
}

fn list_partition(integration: IntegrationId, shard: u128) -> String {
    format!("IEVL#{integration}#{shard:02}")
}

/// The list entry of an event: in its integration's list, in the shard its id's random bits pick.
fn list_key(integration: IntegrationId, id: InboundEventId) -> ItemKey {
    ItemKey::new(
        list_partition(integration, id.ulid().random() % LIST_SHARDS),
        id.to_string(),
    )
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ListEntry {
    ttl: i64,
}

/// The dedupe record of one delivery: the provider's delivery id (or the intake's fallback key)
/// hashed, per integration.
pub fn dedupe_key(integration: IntegrationId, key: &str) -> ItemKey {
    use sha2::Digest;
    let hash = hex::encode(sha2::Sha256::digest(key.as_bytes()));
    ItemKey::new(format!("IDD#{integration}#{hash}"), "IDD")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DedupeRecord {
    event_id: InboundEventId,
    ttl: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct BodyPart {
    data: String,
    ttl: i64,
}

/// The event's record as stored.
fn event_item(event: &InboundEvent) -> Result<Item, StoreError> {
    to_item(&event_key(event.id), event)
}

/// The body as stored: its encoding and its parts.
fn encode_body(body: &[u8]) -> (BodyEncoding, Vec<String>) {
    match std::str::from_utf8(body) {
        Ok(text) => (BodyEncoding::Utf8, split(text)),
        Err(_) => (BodyEncoding::Base64, split(&STANDARD.encode(body))),
    }
}

/// `text` in pieces of at most [`PART_BYTES`], cut on character boundaries.
fn split(mut text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    while !text.is_empty() {
        let mut end = text.len().min(PART_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let (head, tail) = text.split_at(end);
        parts.push(head.to_owned());
        text = tail;
    }
    parts
}

/// The raw body from its stored parts.
fn decode_body(encoding: BodyEncoding, parts: &[String]) -> Result<Vec<u8>, DomainError> {
    let joined = parts.concat();
    match encoding {
        BodyEncoding::Utf8 => Ok(joined.into_bytes()),
        BodyEncoding::Base64 => STANDARD
            .decode(joined)
            .map_err(|e| DomainError::Internal(format!("a stored body: {e}"))),
    }
}

/// A verified webhook to store.
#[derive(Debug)]
pub struct Received<'a> {
    /// The new event's id (fresh, but for the demo data's fixed one).
    pub id: InboundEventId,
    pub tenant: TenantId,
    pub integration: IntegrationId,
    pub headers: BTreeMap<String, String>,
    pub body: &'a [u8],
    /// The provider's delivery id, or the intake's fallback key.
    pub dedupe: String,
    pub ttl: i64,
}

/// What storing a webhook came to.
#[derive(Debug)]
pub enum Stored {
    New(Box<InboundEvent>),
    /// Its delivery was stored before, as this event.
    Duplicate(InboundEventId),
}

/// Stores a verified webhook as a `received` event with its body and its dedupe record, all or
/// nothing; a delivery seen before (its dedupe record exists) is a duplicate of the event it
/// names.
pub async fn store_received(
    store: &dyn Store,
    received: Received<'_>,
) -> Result<Stored, DomainError> {
    let now = Utc::now();
    let id = received.id;
    let (encoding, parts) = encode_body(received.body);
    let mut event = InboundEvent {
        id,
        tenant_id: received.tenant,
        integration_id: received.integration,
        status: InboundStatus::Received,
        received_at: now,
        headers: received.headers,
        body_bytes: received.body.len(),
        body_encoding: encoding,
        body_parts: u32::try_from(parts.len()).unwrap_or(u32::MAX),
        attempts: 0,
        run: 0,
        error: None,
        next_attempt_at: None,
        produced_event_id: None,
        history: Vec::new(),
        updated_at: now,
        version: 1,
        ttl: received.ttl,
    };
    event.set_status(InboundStatus::Received, now, None);
    let dedupe = dedupe_key(received.integration, &received.dedupe);
    let mut ops = vec![
        TxOp::Put {
            item: to_item(
                &dedupe,
                &DedupeRecord {
                    event_id: id,
                    ttl: received.ttl,
                },
            )?,
            condition: Some(Condition::Absent),
        },
        TxOp::Put {
            item: event_item(&event)?,
            condition: Some(Condition::Absent),
        },
        TxOp::Put {
            item: to_item(
                &list_key(received.integration, id),
                &ListEntry { ttl: received.ttl },
            )?,
            condition: None,
        },
    ];
    for (n, data) in parts.into_iter().enumerate() {
        ops.push(TxOp::Put {
            item: to_item(
                &part_key(id, n),
                &BodyPart {
                    data,
                    ttl: received.ttl,
                },
            )?,
            condition: None,
        });
    }
    match store.transact(ops).await {
        Ok(()) => Ok(Stored::New(Box::new(event))),
        Err(StoreError::ConditionFailed) => {
            let record: DedupeRecord = from_item(store.get(&dedupe).await?.ok_or_else(|| {
                // Its first delivery was undone in between: the sender's retry will store it.
                DomainError::Unavailable("a duplicate's first delivery was just withdrawn".into())
            })?)?;
            Ok(Stored::Duplicate(record.event_id))
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes a stored webhook whose job could not be queued (it was not acknowledged, so the
/// sender will send it again).
pub async fn withdraw(
    store: &dyn Store,
    event: &InboundEvent,
    dedupe: &str,
) -> Result<(), DomainError> {
    let mut ops = vec![
        TxOp::Delete {
            key: dedupe_key(event.integration_id, dedupe),
            condition: None,
        },
        TxOp::Delete {
            key: event_key(event.id),
            condition: None,
        },
        TxOp::Delete {
            key: list_key(event.integration_id, event.id),
            condition: None,
        },
    ];
    for n in 0..event.body_parts as usize {
        ops.push(TxOp::Delete {
            key: part_key(event.id, n),
            condition: None,
        });
    }
    store.transact(ops).await?;
    Ok(())
}

/// The tenant's event `id` of `integration` with its raw body, or `None`.
pub async fn load(
    store: &dyn Store,
    tenant: TenantId,
    integration: IntegrationId,
    id: InboundEventId,
) -> Result<Option<(InboundEvent, Vec<u8>)>, DomainError> {
    let query = Query {
        index: None,
        pk: partition(id),
        range: SortKeyRange::All,
        forward: true,
        limit: 100,
        start_after: None,
    };
    let page = store.query(&query).await?;
    let mut record: Option<InboundEvent> = None;
    let mut parts: Vec<(String, String)> = Vec::new();
    for item in page.items {
        let sk = item
            .get("SK")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if sk == "IEV" {
            record = Some(from_item(item)?);
        } else if sk.starts_with("BODY#") {
            let part: BodyPart = from_item(item)?;
            parts.push((sk, part.data));
        }
    }
    let Some(event) = record.filter(|e| e.tenant_id == tenant && e.integration_id == integration)
    else {
        return Ok(None);
    };
    parts.sort();
    if parts.len() != event.body_parts as usize {
        return Err(DomainError::Internal(format!(
            "{}: {} of {} body parts",
            event.id,
            parts.len(),
            event.body_parts
        )));
    }
    let texts: Vec<String> = parts.into_iter().map(|(_, d)| d).collect();
    let body = decode_body(event.body_encoding, &texts)?;
    Ok(Some((event, body)))
}

/// How often a status change is retried when a concurrent write won the race.
const MAX_RETRIES: usize = 5;

/// Changes the event with `change` (conditional on the version it read, retried on a race)
/// and returns it as written.
pub async fn modify(
    store: &dyn Store,
    id: InboundEventId,
    change: impl Fn(&mut InboundEvent) -> Result<(), DomainError>,
) -> Result<InboundEvent, DomainError> {
    modify_from(store, None, id, change).await
}

/// [`modify`] starting from `known`, the record as the caller last read or wrote it (saving a
/// read when nobody wrote since); re-read only when the write loses a race. One conditional
/// put, not a transaction (which DynamoDB bills twice).
pub async fn modify_from(
    store: &dyn Store,
    known: Option<InboundEvent>,
    id: InboundEventId,
    change: impl Fn(&mut InboundEvent) -> Result<(), DomainError>,
) -> Result<InboundEvent, DomainError> {
    modify_inner(store, known, id, change, None::<fn(&InboundEvent) -> _>).await
}

/// [`modify`] for a change someone asked for (a replay): written in one transaction with
/// `companion(changed event)`, its audit entry.
pub async fn modify_with(
    store: &dyn Store,
    id: InboundEventId,
    change: impl Fn(&mut InboundEvent) -> Result<(), DomainError>,
    companion: impl Fn(&InboundEvent) -> Result<TxOp, StoreError>,
) -> Result<InboundEvent, DomainError> {
    modify_inner(store, None, id, change, Some(companion)).await
}

async fn modify_inner(
    store: &dyn Store,
    known: Option<InboundEvent>,
    id: InboundEventId,
    change: impl Fn(&mut InboundEvent) -> Result<(), DomainError>,
    companion: Option<impl Fn(&InboundEvent) -> Result<TxOp, StoreError>>,
) -> Result<InboundEvent, DomainError> {
    let key = event_key(id);
    let mut known = known;
    for _ in 0..MAX_RETRIES {
        let mut event = match known.take() {
            Some(event) => event,
            None => from_item(
                store
                    .get(&key)
                    .await?
                    .ok_or(DomainError::NotFound("inbound event"))?,
            )?,
        };
        let expected = event.version;
        change(&mut event)?;
        event.version = expected + 1;
        event.updated_at = Utc::now();
        let item = event_item(&event)?;
        let condition = Some(Condition::VersionEquals(expected));
        let written = match &companion {
            None => store.put(item, condition).await,
            Some(companion) => {
                let op = companion(&event)?;
                store
                    .transact(vec![TxOp::Put { item, condition }, op])
                    .await
            }
        };
        match written {
            Ok(()) => return Ok(event),
            Err(StoreError::ConditionFailed | StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(DomainError::Conflict(
        "the inbound event kept changing concurrently; retry".into(),
    ))
}

/// A page of an integration's events, newest first, optionally only those in `status`. The
/// caller has checked that the integration is the tenant's. `after` is the last event id of
/// the previous page. The list entries are merged from every shard, and each entry's record
/// is read (concurrently) for its status; a filter that skips more than [`MAX_SCANNED`]
/// events answers what it has with a cursor to go on.
pub async fn list(
    store: &dyn Store,
    integration: IntegrationId,
    status: Option<InboundStatus>,
    limit: usize,
    after: Option<String>,
) -> Result<(Vec<InboundEvent>, Option<String>), DomainError> {
    let mut out = Vec::new();
    let mut cursor = after;
    let mut scanned = 0;
    loop {
        let want = (limit - out.len()).clamp(1, 250);
        let queries = (0..LIST_SHARDS)
            .map(|s| Query {
                index: None,
                pk: list_partition(integration, s),
                range: SortKeyRange::Prefix(CURSOR_PREFIX.into()),
                forward: false,
                limit: want,
                start_after: cursor.clone(),
            })
            .collect();
        let page = query_shards(store, queries).await?;
        let ids: Vec<InboundEventId> = page
            .items
            .iter()
            .filter_map(|item| item.get("SK").and_then(serde_json::Value::as_str))
            .filter_map(|sk| sk.parse().ok())
            .collect();
        let records = futures::future::try_join_all(ids.iter().map(|&id| async move {
            store
                .get(&event_key(id))
                .await?
                .map(from_item::<InboundEvent>)
                .transpose()
        }))
        .await?;
        for (id, record) in ids.into_iter().zip(records) {
            scanned += 1;
            cursor = Some(id.to_string());
            // An entry whose record expired first is skipped like a filtered one.
            let Some(event) = record.filter(|e| {
                e.integration_id == integration && status.is_none_or(|s| s == e.status)
            }) else {
                continue;
            };
            out.push(event);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_through_parts() {
        let text = "é".repeat(PART_BYTES); // 2 bytes a character: parts cut between them
        let (enc, parts) = encode_body(text.as_bytes());
        assert_eq!(enc, BodyEncoding::Utf8);
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.len() <= PART_BYTES));
        assert_eq!(decode_body(enc, &parts).unwrap(), text.as_bytes());
        let binary: Vec<u8> = (0..=255u8).cycle().take(700_000).collect();
        let (enc, parts) = encode_body(&binary);
        assert_eq!(enc, BodyEncoding::Base64);
        assert_eq!(decode_body(enc, &parts).unwrap(), binary);
        let (_, none) = encode_body(b"");
        assert!(none.is_empty());
    }
}
