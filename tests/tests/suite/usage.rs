//! Usage metering end to end, on both adapter sets: events published through the API and routed
//! from signed webhooks, deliveries to a loopback receiver that fails some, refused webhooks;
//! after the counters are written, `GET /v1/usage` answers exactly what happened (egress equal
//! to the bytes the receiver got), the ledger adds up to it after a concurrent burst, and the
//! route checks `month`, its scope, and shows a tenant only its own usage.

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use switchboard::usage::{Month, ledger};
use switchboard_tests::receiver::Reply as Script;
use switchboard_tests::{Backend, Harness, TenantClient, WAIT, eventually};

const GITHUB_SECRET: &str = "usage-github-secret-0123";

/// Writes the app's counters and reads the tenant's usage until `done` holds (the worker and
/// the inbound processing finish on their own time), or fails with the last answer.
async fn usage_when(h: &Harness, t: &TenantClient, done: impl Fn(&Value) -> bool) -> Value {
    let last = std::sync::Mutex::new(Value::Null);
    let found = eventually(WAIT, || {
        let (last, done) = (&last, &done);
        async move {
            h.app.flush_counters().await;
            let usage = t.get("/v1/usage").await;
            *last.lock().expect("lock") = usage.clone();
            done(&usage).then_some(usage)
        }
    })
    .await;
    found.unwrap_or_else(|| {
        panic!(
            "usage never got there; last: {}",
            last.lock().expect("lock")
        )
    })
}

async fn counts_what_happened(backend: Backend) {
    const EVENTS: usize = 5;
    let h = Harness::start(backend).await;
    let paths = ["/u0", "/u1", "/u2"];
    for path in paths {
        // One attempt each: a failure is final, so every count is known.
        h.endpoint(path, json!({"event_types": ["usage.*"], "max_attempts": 1}))
            .await;
    }
    h.receiver
        .script("/u2", [Script::Status(500), Script::Status(503)]);
    for i in 0..EVENTS {
        h.publish("usage.tick", json!({"i": i, "pad": "x".repeat(i * 10)}))
            .await;
    }
    // An event no endpoint takes is still published; an idempotent replay is not a new one.
    h.publish("other.thing", json!({})).await;
    for _ in 0..2 {
        let reply = h
            .post(
                "/v1/events",
                json!({"type": "usage.once", "data": {}, "idempotency_key": "k-1"}),
            )
            .await;
        assert!(reply.status.is_success(), "{}", reply.body);
    }
    // Inbound: two signed webhooks (stored, then routed into the stream as events) and three
    // that fail verification.
    let created = h
        .post(
            "/v1/integrations",
            json!({"type": "github", "name": "usage", "config": {"secret": GITHUB_SECRET},
                   "mapping": {"n": "$.n"}, "route": {"event_type": "github.push"}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let integration = created.body["id"].as_str().expect("id").to_owned();
    for n in 0..2 {
        let reply = h
            .api
            .github_push(&integration, GITHUB_SECRET, &json!({"n": n}))
            .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    }
    for n in 0..3 {
        let reply = h
            .api
            .github_push(&integration, "not-the-secret-at-all", &json!({"n": n}))
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    }

    let worker = h.worker();
    let deliveries = (EVENTS + 1) * paths.len();
    let published = EVENTS + 1 + 1 + 2;
    usage_when(&h, &h.tenant, |u| {
        u["deliveries_attempted"].as_u64() >= Some(deliveries as u64)
            && u["events_published"] == json!(published)
    })
    .await;
    // Nothing in flight any more: what the receiver got is final.
    worker.stop().await;
    h.app.flush_counters().await;
    let usage = h.get("/v1/usage").await;

    // Delivery is at least once: a job whose outcome could not be recorded is sent again, and
    // the receiver gets (and usage counts) both requests. The receiver's log is the truth.
    let seen: Vec<_> = paths.iter().flat_map(|p| h.receiver.seen(p)).collect();
    assert!(
        seen.len() >= deliveries,
        "every delivery reached the receiver"
    );
    let bytes: usize = seen.iter().map(|r| r.body.len()).sum();
    assert!(bytes > 0);
    assert_eq!(
        usage,
        json!({
            "tenant_id": h.id,
            "month": Month::current().to_string(),
            "events_published": published,
            "deliveries_attempted": seen.len(),
            // The two scripted failures; every other request was answered 200.
            "deliveries_succeeded": seen.len() - 2,
            "deliveries_failed": 2,
            "egress_bytes": bytes,
            "actions": {},
            "inbound_received": 2,
            "inbound_rejected": 3,
        }),
        "usage is what happened"
    );
    // The month named is the default; another month has nothing.
    let named = h
        .get(&format!("/v1/usage?month={}", Month::current()))
        .await;
    assert_eq!(named, usage);
    let old = h.get("/v1/usage?month=2001-02").await;
    assert_eq!(old["month"], json!("2001-02"));
    assert_eq!(old["events_published"], json!(0));
    assert_eq!(old["deliveries_attempted"], json!(0));

    // The ledger holds what the counters hold.
    let store = h.app.store.as_ref();
    let tenant = h.id.parse().expect("tenant id");
    let entries = ledger::ledger(store, tenant, Month::current())
        .await
        .expect("ledger");
    let summed = ledger::sum(&entries);
    let counters = ledger::usage(store, tenant, Month::current())
        .await
        .expect("usage");
    assert_eq!(summed, counters.counters);

    // Another tenant sees only its own (nothing yet).
    let other = h.new_tenant("other").await;
    let theirs = other.get("/v1/usage").await;
    assert_eq!(theirs["tenant_id"], json!(other.id));
    for counter in [
        "events_published",
        "deliveries_attempted",
        "egress_bytes",
        "inbound_received",
        "inbound_rejected",
    ] {
        assert_eq!(theirs[counter], json!(0), "{counter}: {theirs}");
    }
}

async fn checks_month_and_scope(backend: Backend) {
    let h = Harness::start(backend).await;
    for bad in [
        "2025-13",
        "2025-1",
        "25-01",
        "2025-01-01",
        "now",
        "",
        "2025-00",
    ] {
        let reply = h
            .fetch(&format!("/v1/usage?month={}", urlencode(bad)))
            .await;
        reply.assert_field(StatusCode::UNPROCESSABLE_ENTITY, "month");
    }
    let key = |scopes: Value| {
        let h = &h;
        async move {
            let created = h
                .post("/v1/api-keys", json!({"name": "usage", "scopes": scopes}))
                .await;
            assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
            created.body["key"].as_str().expect("key").to_owned()
        }
    };
    let reader = key(json!(["events:read", "audit:read"])).await;
    let refused = h.api.get("/v1/usage", &reader).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("usage:read")
    );
    let usage_reader = key(json!(["usage:read"])).await;
    let allowed = h.api.get("/v1/usage", &usage_reader).await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.body);
    assert_eq!(allowed.body["tenant_id"], json!(h.id));
    let anonymous = h
        .api
        .request(reqwest::Method::GET, "/v1/usage", None, None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

fn urlencode(raw: &str) -> String {
    form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

/// Many tasks publish at once while the worker delivers (and the meter flushes on its own
/// schedule in between): afterwards the counters are exactly what was done, and the ledger
/// entries add up to them.
async fn ledger_equals_counters_after_a_concurrent_burst(backend: Backend) {
    const TASKS: usize = 8;
    const PER_TASK: usize = 6;
    let h = Harness::start(backend).await;
    for path in ["/b0", "/b1"] {
        h.endpoint(path, json!({"event_types": ["burst.*"]})).await;
    }
    let worker = h.worker();
    let month = Month::current();
    futures::stream::iter(0..TASKS)
        .map(|t| {
            let tenant = h.tenant.clone();
            async move {
                for i in 0..PER_TASK {
                    tenant.publish("burst.tick", json!({"t": t, "i": i})).await;
                }
            }
        })
        .buffer_unordered(TASKS)
        .collect::<Vec<()>>()
        .await;
    let events = TASKS * PER_TASK;
    usage_when(&h, &h.tenant, |u| {
        u["deliveries_succeeded"].as_u64() >= Some((events * 2) as u64)
    })
    .await;
    worker.stop().await;
    h.app.flush_counters().await;
    if Month::current() != month {
        return; // The burst straddled a month boundary: the totals are split between two months.
    }
    let usage = h.get("/v1/usage").await;
    // At least once: a delivery whose outcome could not be recorded is sent (and counted) again,
    // so the receiver's log is the truth.
    let seen: Vec<_> = ["/b0", "/b1"]
        .iter()
        .flat_map(|p| h.receiver.seen(p))
        .collect();
    assert!(seen.len() >= events * 2);
    let received: usize = seen.iter().map(|r| r.body.len()).sum();
    assert_eq!(usage["events_published"], json!(events));
    assert_eq!(usage["deliveries_attempted"], json!(seen.len()));
    assert_eq!(usage["deliveries_succeeded"], json!(seen.len()));
    assert_eq!(usage["deliveries_failed"], json!(0));
    assert_eq!(usage["egress_bytes"], json!(received));
    let store = h.app.store.as_ref();
    let tenant = h.id.parse().expect("tenant id");
    let entries = ledger::ledger(store, tenant, month).await.expect("ledger");
    assert!(!entries.is_empty());
    let summed: BTreeMap<String, u64> = ledger::sum(&entries);
    let counters = ledger::usage(store, tenant, month).await.expect("usage");
    assert_eq!(
        summed, counters.counters,
        "the ledger adds up to the counters"
    );
    assert_eq!(summed["events_published"], events as u64);
    assert_eq!(summed["deliveries_attempted"], seen.len() as u64);
    assert_eq!(summed["egress_bytes"], received as u64);
}

switchboard_tests::on_both_backends!(
    counts_what_happened,
    checks_month_and_scope,
    ledger_equals_counters_after_a_concurrent_burst,
);
