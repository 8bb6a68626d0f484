//! Usage metering over each store adapter: the `tests` crate runs every case against the
//! embedded adapter and DynamoDB (moto), like the store's own suite.

// A test suite (compiled only with the `conformance` feature): a failed step panics the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::ledger::{self, LedgerEntry};
use super::{Counter, Month, SHARDS, UsageMeter};
use crate::model::TenantId;
use crate::store::Store;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Names every case, so test crates can generate one test per case and adapter.
pub const CASES: &[&str] = &[
    "ledger_equals_counters_after_a_concurrent_burst",
    "tenants_and_months_apart",
];

/// Runs one case by name.
pub async fn run(store: Arc<dyn Store>, case: &str) {
    match case {
        "ledger_equals_counters_after_a_concurrent_burst" => concurrent_burst(store).await,
        "tenants_and_months_apart" => tenants_and_months_apart(store).await,
        other => panic!("unknown usage conformance case {other}"),
    }
}

/// Workers (meters) on shards that some of them share, each counting from several tasks at
/// once for two tenants while flushing concurrently: afterwards the counters equal what was
/// counted, and the ledger adds up to the counters, entry for entry.
async fn concurrent_burst(store: Arc<dyn Store>) {
    const WORKERS: u16 = 12;
    const TASKS: usize = 4;
    const ROUNDS: u64 = 25;
    let tenants = [TenantId::generate(), TenantId::generate()];
    let month = Month::current();
    // Three workers to a shard: their transactions on one counters item race.
    let meters: Vec<UsageMeter> = (0..WORKERS)
        .map(|w| UsageMeter::with_shard(Arc::clone(&store), w % 4))
        .collect();
    let mut tasks = Vec::new();
    for meter in &meters {
        for t in 0..TASKS {
            let meter = meter.clone();
            tasks.push(tokio::spawn(async move {
                for round in 0..ROUNDS {
                    let tenant = tenants[(t + round as usize) % 2];
                    meter.published(tenant);
                    meter.attempt(tenant, round % 3 != 0, 100 + round);
                    if round % 5 == 0 {
                        meter.action(tenant, "twilio");
                        meter.inbound_rejected(tenant);
                    }
                    if round % 7 == 0 {
                        // A flush while the other tasks count.
                        meter.flush().await;
                    }
                    tokio::task::yield_now().await;
                }
            }));
        }
    }
    for task in tasks {
        task.await.expect("counting task");
    }
    // Twice: a transaction that lost every try against another worker on its shard is
    // written by the next flush, under the same ledger id.
    for _ in 0..2 {
        futures::future::join_all(meters.iter().map(UsageMeter::flush)).await;
    }
    if Month::current() != month {
        return; // The burst straddled a month boundary: the totals split; nothing to compare.
    }
    // What was counted, per tenant.
    let mut expected: [BTreeMap<String, u64>; 2] = Default::default();
    for _ in 0..WORKERS {
        for t in 0..TASKS {
            for round in 0..ROUNDS {
                let e = &mut expected[(t + round as usize) % 2];
                let mut add = |name: &str, n: u64| *e.entry(name.to_owned()).or_insert(0) += n;
                add(Counter::EventsPublished.as_str(), 1);
                add(Counter::DeliveriesAttempted.as_str(), 1);
                add(
                    if round % 3 != 0 {
                        Counter::DeliveriesSucceeded.as_str()
                    } else {
                        Counter::DeliveriesFailed.as_str()
                    },
                    1,
                );
                add(Counter::EgressBytes.as_str(), 100 + round);
                if round % 5 == 0 {
                    add("actions.twilio", 1);
                    add(Counter::InboundRejected.as_str(), 1);
                }
            }
        }
    }
    for (tenant, expected) in tenants.iter().zip(expected) {
        let usage = ledger::usage(store.as_ref(), *tenant, month)
            .await
            .expect("usage");
        assert_eq!(
            usage.counters, expected,
            "the counters are what was counted"
        );
        let entries: Vec<LedgerEntry> = ledger::ledger(store.as_ref(), *tenant, month)
            .await
            .expect("ledger");
        assert_eq!(
            ledger::sum(&entries),
            usage.counters,
            "the ledger adds up to the counters"
        );
        assert!(
            entries
                .iter()
                .all(|e| e.tenant_id == *tenant && e.shard < SHARDS)
        );
        assert!(
            entries.len() >= usize::from(WORKERS),
            "every worker wrote its counts of both tenants: {} entries",
            entries.len()
        );
        assert_eq!(
            usage.actions(),
            BTreeMap::from([("twilio".to_owned(), usage.get(Counter::InboundRejected))])
        );
    }
}

/// A tenant's usage is its own, and a month without usage reads as zeros.
async fn tenants_and_months_apart(store: Arc<dyn Store>) {
    let (a, b) = (TenantId::generate(), TenantId::generate());
    let meter = UsageMeter::new(Arc::clone(&store));
    meter.published(a);
    meter.inbound_received(a);
    meter.flush().await;
    let month = Month::current();
    let usage = ledger::usage(store.as_ref(), a, month)
        .await
        .expect("usage");
    assert_eq!(usage.get(Counter::EventsPublished), 1);
    assert_eq!(usage.get(Counter::InboundReceived), 1);
    let other = ledger::usage(store.as_ref(), b, month)
        .await
        .expect("usage");
    assert!(other.counters.is_empty(), "{other:?}");
    let old: Month = "2001-02".parse().expect("month");
    let empty = ledger::usage(store.as_ref(), a, old).await.expect("usage");
    assert!(empty.counters.is_empty());
    assert!(
        ledger::ledger(store.as_ref(), a, old)
            .await
            .expect("ledger")
            .is_empty()
    );
}
