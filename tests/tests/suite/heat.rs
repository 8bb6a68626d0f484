//! Write heat: one tenant at 10,000 deliveries per second must not put any DynamoDB partition key
//! over ~300 writes per second (a partition serves at most 1,000 write units per second, and a
//! transactional write costs two). The scenario (see `switchboard_tests::heat`) meters one
//! simulated second of 100 events to 100 endpoints, or 1,000 events to 10 endpoints, with every
//! delivery made for real.

use switchboard_tests::heat::{one_second_of, one_second_of_usage, one_second_of_webhooks};

/// Most writes one partition key may take in one second of this traffic.
const MAX_WRITES_PER_KEY: u64 = 300;
/// DynamoDB's hard ceiling per partition.
const MAX_UNITS_PER_KEY: u64 = 1_000;

async fn keeps_every_key_cool(events: usize, endpoints: usize) {
    let report = one_second_of(events, endpoints).await;
    let top = report.hottest_lines(5);
    println!("{events} events x {endpoints} endpoints, hottest keys: {top:#?}");
    assert!(
        report.totals.writes >= report.deliveries() as u64,
        "every delivery writes at least once: {:?}",
        report.totals
    );
    assert!(
        report.keys.iter().any(|(pk, _)| pk.starts_with("USG#")),
        "the run's usage counts were written (and checked below)"
    );
    for (pk, heat) in &report.keys {
        assert!(
            heat.writes <= MAX_WRITES_PER_KEY && heat.units <= MAX_UNITS_PER_KEY,
            "{pk} took {} writes ({} units) in one second of {events} events x {endpoints} \
             endpoints; hottest: {top:#?}",
            heat.writes,
            heat.units
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_events_to_hundred_endpoints_keep_every_key_cool() {
    keeps_every_key_cool(100, 100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_events_to_ten_endpoints_keep_every_key_cool() {
    keeps_every_key_cool(1_000, 10).await;
}

/// Inbound: one integration's webhooks, accepted, processed and routed. Each webhook writes its
/// own event, body and dedupe records, and one list entry in one of the integration's 64 list
/// partitions; no inbound key may take more than [`MAX_WRITES_PER_KEY`] writes a second at
/// 10,000 webhooks a second (per-key writes grow linearly with the rate, so a run of 1,000 is
/// scaled by 10). The routed events then cost what any published event costs (the outbound
/// keys, checked by the tests above at their own rates).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_to_one_integration_keep_every_inbound_key_cool() {
    const WEBHOOKS: u64 = 1_000;
    const SCALE: u64 = 10_000 / WEBHOOKS;
    let report = one_second_of_webhooks(WEBHOOKS as usize).await;
    let top = report.hottest_lines(5);
    println!("{WEBHOOKS} webhooks to one integration, hottest keys: {top:#?}");
    let inbound = ["INT#", "INTS#", "IEV#", "IEVL#", "IDD#"];
    let mut seen = 0;
    for (pk, heat) in &report.keys {
        if !inbound.iter().any(|p| pk.starts_with(p)) {
            continue;
        }
        seen += 1;
        assert!(
            heat.writes * SCALE <= MAX_WRITES_PER_KEY && heat.units * SCALE <= MAX_UNITS_PER_KEY,
            "{pk} took {} writes ({} units) for {WEBHOOKS} webhooks: x{SCALE} is over the limit",
            heat.writes,
            heat.units
        );
    }
    assert!(
        seen as u64 >= 2 * WEBHOOKS,
        "every webhook writes its own event and dedupe keys: {seen} inbound keys"
    );
}

/// Usage metering at 10,000 deliveries (and events) a second of one tenant, written by 1,000
/// workers, the most delivery Lambda instances the template allows, each writing its counts
/// once in that second as the meter does: the 32 shards keep every usage key under the limit
/// (a transaction's two items, the counters and the ledger entry, each cost two units), and the
/// counters add up to every count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_of_ten_thousand_deliveries_from_a_thousand_workers_keeps_every_key_cool() {
    const WORKERS: usize = 1_000;
    const DELIVERIES: usize = 10_000;
    let report = one_second_of_usage(WORKERS, DELIVERIES).await;
    let top: Vec<String> = report
        .keys
        .iter()
        .take(5)
        .map(|(pk, h)| format!("{pk}: {} writes, {} units", h.writes, h.units))
        .collect();
    println!("usage of {DELIVERIES} deliveries from {WORKERS} workers, hottest keys: {top:#?}");
    assert!(
        report.shards_used > 16,
        "workers spread over the shards: {}",
        report.shards_used
    );
    assert_eq!(report.attempted, DELIVERIES as u64);
    assert_eq!(report.published, DELIVERIES as u64);
    let usage_keys: Vec<_> = report
        .keys
        .iter()
        .filter(|(pk, _)| pk.starts_with("USG#"))
        .collect();
    assert_eq!(
        usage_keys.len(),
        report.keys.len(),
        "only usage keys are written"
    );
    for (pk, heat) in usage_keys {
        assert!(
            heat.writes <= MAX_WRITES_PER_KEY && heat.units <= MAX_UNITS_PER_KEY,
            "{pk} took {} writes ({} units) in one second; hottest: {top:#?}",
            heat.writes,
            heat.units
        );
    }
}
