//! The audit log's layout over the store port, checked on every adapter (the `tests` crate runs
//! each case against the embedded SQLite file and DynamoDB on moto): entries are append-only,
//! listed newest first across the list shards, page by page without gaps or repeats, filtered
//! by time and tenant, and hidden once expired.

// A test suite (compiled only with the `conformance` feature): a failed step panics the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::log::{self, AuditFilter};
use super::{Action, Actor, Origin, Recorder, Target, TargetType};
use crate::model::TenantId;
use crate::store::{Store, StoreError, TxOp};
use std::time::Duration;

/// Names every case, so test crates can generate one test per case and adapter.
pub const CASES: &[&str] = &[
    "append_only",
    "newest_first_in_pages",
    "scoped_and_expiring",
];

/// Runs one case by name.
pub async fn run(store: &dyn Store, case: &str) {
    match case {
        "append_only" => append_only(store).await,
        "newest_first_in_pages" => newest_first_in_pages(store).await,
        "scoped_and_expiring" => scoped_and_expiring(store).await,
        other => panic!("unknown audit conformance case {other}"),
    }
}

fn recorder(retention: Duration) -> Recorder {
    let origin = Origin {
        actor: Actor::root(),
        request_id: Some("conformance".into()),
        source_ip: None,
        user_agent: None,
    };
    Recorder::new(origin, retention)
}

fn target(n: usize) -> Target {
    Target::new(TargetType::Tenant, format!("t{n}"))
}

/// Writes `n` entries for `tenant`, each in its own transaction; returns their ids, oldest
/// first.
async fn write(store: &dyn Store, tenant: TenantId, n: usize, retention: Duration) -> Vec<String> {
    let recorder = recorder(retention);
    let mut ids = Vec::new();
    for i in 0..n {
        let entry = recorder.entry(tenant, Action::TenantCreated, target(i), Vec::new());
        ids.push(entry.id.to_string());
        let ttl = entry.occurred_at.timestamp() + i64::try_from(retention.as_secs()).unwrap();
        store
            .transact(vec![log::append_op(&entry, ttl).unwrap()])
            .await
            .expect("append");
    }
    ids
}

/// Every entry `list` gives for `filter`, page by page; the ids, in order.
async fn walk(
    store: &dyn Store,
    tenant: TenantId,
    filter: &AuditFilter,
    page: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let (entries, last) = log::list(store, tenant, filter, page, after)
            .await
            .expect("list");
        assert!(entries.len() <= page);
        out.extend(entries.into_iter().map(|e| e.id.to_string()));
        match last {
            Some(sk) => after = Some(sk),
            None => return out,
        }
    }
}

/// An entry is never overwritten: a second append of the same entry fails and changes nothing.
async fn append_only(store: &dyn Store) {
    let tenant = TenantId::generate();
    let recorder = recorder(super::DEFAULT_RETENTION);
    let entry = recorder.entry(tenant, Action::ApiKeyCreated, target(1), Vec::new());
    let ttl = entry.occurred_at.timestamp() + 3600;
    store
        .transact(vec![log::append_op(&entry, ttl).unwrap()])
        .await
        .expect("first append");
    let mut forged = entry.clone();
    forged.action = Action::ApiKeyDeleted;
    let again: Vec<TxOp> = vec![log::append_op(&forged, ttl).unwrap()];
    match store.transact(again).await {
        Err(StoreError::ConditionFailed) => {}
        other => panic!("an entry was overwritten: {other:?}"),
    }
    let stored = log::get(store, tenant, entry.id).await.expect("get");
    assert_eq!(stored, Some(entry.clone()));
    // Another tenant cannot read it.
    let other = log::get(store, TenantId::generate(), entry.id)
        .await
        .expect("get");
    assert_eq!(other, None);
}

/// Entries spread over the list shards come back newest first, in full pages, once each.
async fn newest_first_in_pages(store: &dyn Store) {
    let tenant = TenantId::generate();
    let ids = write(store, tenant, 23, super::DEFAULT_RETENTION).await;
    let mut newest_first = ids.clone();
    newest_first.reverse();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let all = loop {
        let got = walk(store, tenant, &AuditFilter::default(), 5).await;
        if got.len() == ids.len() || std::time::Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(all, newest_first, "pages of 5 across the shards");
    assert_eq!(
        walk(store, tenant, &AuditFilter::default(), 250).await,
        newest_first
    );
}

/// A listing shows only its tenant's entries, within the time range, and no expired one.
async fn scoped_and_expiring(store: &dyn Store) {
    let tenant = TenantId::generate();
    let neighbour = TenantId::generate();
    let kept = write(store, tenant, 3, super::DEFAULT_RETENTION).await;
    write(store, neighbour, 3, super::DEFAULT_RETENTION).await;
    // Expired already (a retention of zero, written with a ttl in the past).
    let recorder = recorder(Duration::ZERO);
    let old = recorder.entry(tenant, Action::TenantCreated, target(9), Vec::new());
    let past = old.occurred_at.timestamp() - 10;
    store
        .transact(vec![log::append_op(&old, past).unwrap()])
        .await
        .expect("append");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let listed = loop {
        let got = walk(store, tenant, &AuditFilter::default(), 50).await;
        if got.len() >= kept.len() || std::time::Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut expected = kept.clone();
    expected.reverse();
    assert_eq!(listed, expected, "only the tenant's live entries");
    let first = log::get(store, tenant, kept[0].parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let since = AuditFilter {
        since: Some(first.occurred_at + chrono::Duration::days(1)),
        ..AuditFilter::default()
    };
    assert!(walk(store, tenant, &since, 50).await.is_empty());
    let until = AuditFilter {
        until: Some(first.occurred_at),
        ..AuditFilter::default()
    };
    assert!(
        walk(store, tenant, &until, 50).await.contains(&kept[0]),
        "`until` includes its own millisecond"
    );
}
