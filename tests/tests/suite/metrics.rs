//! Operational metrics end to end: deliveries through the API and the worker to a loopback
//! receiver, then a scrape of the metrics listener (never the public port), on the embedded
//! adapters and on moto; store errors counted at the port; `serve`'s `--metrics-addr` wiring.

use reqwest::{Method, StatusCode};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use switchboard::metrics::serve_listener;
use switchboard::store::{Condition, Query, StoreError};
use switchboard_tests::receiver::Reply;
use switchboard_tests::{Backend, Harness, WAIT, assert_problem, eventually};
use tokio::sync::watch;

/// `GET /metrics` on `addr`: the body, after checking the Prometheus text content type.
async fn scrape(addr: SocketAddr) -> String {
    let resp = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("scrape");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    resp.text().await.expect("body")
}

/// The value of the sample named exactly `series` (name and labels), if exposed.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().expect("a number"))
}

/// The `le` bucket counts of the attempt latency histogram, in exposition order.
fn buckets(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter_map(|l| {
            l.strip_prefix("switchboard_delivery_attempt_duration_seconds_bucket{le=\"")
        })
        .map(|rest| {
            let (le, count) = rest.split_once("\"} ").expect("bucket line");
            (le.to_owned(), count.parse().expect("count"))
        })
        .collect()
}

async fn deliveries_publishes_and_queue_are_scraped(backend: Backend) {
    let h = Harness::start(backend).await;
    let (_stop, stop) = watch::channel(false);
    let (addr, _task) = serve_listener(
        "127.0.0.1:0".parse().expect("addr"),
        Arc::clone(&h.app.metrics),
        Arc::clone(&h.app.queue),
        stop,
    )
    .await
    .expect("metrics listener");

    let worker = h.worker();
    h.endpoint("ok", json!({"event_types": ["good.*"]})).await;
    h.endpoint("bad", json!({"event_types": ["bad.*"], "max_attempts": 2}))
        .await;
    h.receiver
        .script("bad", [Reply::Status(500), Reply::Status(500)]);
    let good = h.publish_id("good.thing").await;
    let bad = h.publish_id("bad.thing").await;
    h.delivery_status(&good, "succeeded", WAIT).await;
    h.delivery_status(&bad, "failed", WAIT).await;
    // Stopping waits for the jobs in hand to settle, so every count below is final.
    worker.stop().await;
    // One more event while no worker runs: its job waits in the queue.
    h.publish_id("good.later").await;
    let rejected = h
        .api
        .request(Method::POST, "/hooks/no-such-integration", None, None)
        .await;
    assert_eq!(rejected.status, StatusCode::NOT_FOUND);

    let text = scrape(addr).await;
    let count = |series: &str| value(&text, series).unwrap_or_else(|| panic!("{series}:\n{text}"));
    assert_eq!(
        count(r#"switchboard_deliveries_total{outcome="succeeded"}"#),
        1.0
    );
    assert_eq!(
        count(r#"switchboard_deliveries_total{outcome="retrying"}"#),
        1.0
    );
    assert_eq!(
        count(r#"switchboard_deliveries_total{outcome="failed"}"#),
        1.0
    );
    assert_eq!(
        value(&text, r#"switchboard_deliveries_total{outcome="skipped"}"#),
        None,
        "outcomes that never happened have no series"
    );
    assert_eq!(count("switchboard_events_published_total"), 3.0);
    assert_eq!(
        count(r#"switchboard_intake_requests_total{outcome="rejected"}"#),
        1.0
    );

    // Three attempts to a loopback receiver: each bucket counts the attempts at or under its
    // bound, and all three fit under the largest.
    assert_eq!(
        count("switchboard_delivery_attempt_duration_seconds_count"),
        3.0
    );
    let sum = count("switchboard_delivery_attempt_duration_seconds_sum");
    assert!(sum > 0.0 && sum < 30.0, "sum {sum}");
    let buckets = buckets(&text);
    assert_eq!(buckets.len(), 13, "12 bounds and +Inf: {buckets:?}");
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{buckets:?}");
    assert_eq!(buckets[11], ("30".to_owned(), 3.0));
    assert_eq!(buckets[12], ("+Inf".to_owned(), 3.0));

    // Sampled at the scrape: the one waiting job. The embedded queue knows its age; SQS does
    // not say (its CloudWatch metric does), so the series is left out rather than made up.
    assert_eq!(count("switchboard_queue_depth"), 1.0);
    let age = value(&text, "switchboard_queue_oldest_job_age_seconds");
    match backend {
        Backend::Sqlite => {
            let age = age.expect("embedded queue reports its oldest job");
            assert!((0.0..WAIT.as_secs_f64()).contains(&age), "age {age}");
        }
        Backend::Aws => assert_eq!(age, None),
    }
    assert!(
        !text.contains("switchboard_store_errors_total{"),
        "no store call failed:\n{text}"
    );

    // The public port does not serve it.
    let public = h.api.request(Method::GET, "/metrics", None, None).await;
    assert_problem(&public, StatusCode::NOT_FOUND, "no such route");
}

async fn store_errors_are_counted_at_the_port(backend: Backend) {
    let app = switchboard_tests::app(backend, None).await;
    let store = app.app.store.as_ref();
    let refused = store
        .query(&Query::prefix("TEN#none", "").limit(0))
        .await
        .expect_err("limit 0 is invalid");
    assert!(matches!(refused, StoreError::Invalid(_)), "{refused:?}");
    let item = serde_json::Map::from_iter([
        ("PK".to_owned(), json!("TEN#none")),
        ("SK".to_owned(), json!("X")),
    ]);
    let answer = store.put(item, Some(Condition::Exists)).await;
    assert!(matches!(answer, Err(StoreError::ConditionFailed)));

    let (_stop, stop) = watch::channel(false);
    let (addr, _task) = serve_listener(
        "127.0.0.1:0".parse().expect("addr"),
        Arc::clone(&app.app.metrics),
        Arc::clone(&app.app.queue),
        stop,
    )
    .await
    .expect("metrics listener");
    let text = scrape(addr).await;
    assert_eq!(
        value(
            &text,
            r#"switchboard_store_errors_total{op="query",error="invalid"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        !text.contains(r#"op="put""#),
        "a failed condition is an answer, not an error:\n{text}"
    );
}

/// The Lambdas' rendering of the same instruments: a delivery through the worker core leaves
/// EMF documents with its outcome, its duration and the publish, and a second flush is empty.
async fn lambdas_flush_the_same_instruments_as_emf(backend: Backend) {
    let h = Harness::with(backend, |s| s.emf_metrics = true).await;
    let worker = h.worker();
    h.endpoint("ok", json!({})).await;
    let id = h.publish_id("thing.done").await;
    h.delivery_status(&id, "succeeded", WAIT).await;
    worker.stop().await;
    let docs = h.app.metrics.take_emf("delivery", 1_700_000_000_000);
    let find = |name: &str| {
        docs.iter()
            .find(|d| d.get(name).is_some())
            .unwrap_or_else(|| panic!("no {name} in {docs:?}"))
    };
    let deliveries = find("Deliveries");
    assert_eq!(deliveries["Deliveries"], json!(1.0));
    assert_eq!(deliveries["Outcome"], "succeeded");
    assert_eq!(deliveries["Function"], "delivery");
    assert_eq!(
        deliveries["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["Function", "Outcome"]])
    );
    let plain = find("AttemptDuration");
    assert!(
        plain["AttemptDuration"].as_f64().is_some_and(|ms| ms > 0.0),
        "{plain}"
    );
    assert_eq!(plain["EventsPublished"], json!(1.0));
    assert_eq!(plain["_aws"]["Timestamp"], json!(1_700_000_000_000_i64));
    assert_eq!(
        plain["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "Switchboard"
    );
    assert!(
        h.app
            .metrics
            .take_emf("delivery", 1_700_000_001_000)
            .is_empty(),
        "a flush reports only what happened since the last"
    );
}

switchboard_tests::on_both_backends!(
    deliveries_publishes_and_queue_are_scraped,
    store_errors_are_counted_at_the_port,
    lambdas_flush_the_same_instruments_as_emf,
);

/// `serve` serves `/metrics` only on `--metrics-addr`, and not at all without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_exposes_metrics_only_on_its_own_listener() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = |metrics_addr| switchboard::serve::ServeOptions {
        addr: "127.0.0.1:0".parse().expect("addr"),
        data_dir: dir.path().to_owned(),
        limits: Default::default(),
        metrics_addr,
    };
    let running =
        switchboard::serve::start(options(Some("127.0.0.1:0".parse().expect("addr"))), &|_| {
            None
        })
        .await
        .expect("serve starts");
    let metrics_addr = running.metrics_addr.expect("metrics listener bound");
    assert_ne!(metrics_addr, running.addr);
    let text = scrape(metrics_addr).await;
    assert!(
        text.contains("# TYPE switchboard_delivery_attempt_duration_seconds histogram"),
        "{text}"
    );
    assert_eq!(
        value(&text, "switchboard_events_published_total"),
        Some(0.0)
    );
    assert_eq!(value(&text, "switchboard_queue_depth"), Some(0.0));
    let public = reqwest::get(format!("http://{}/metrics", running.addr))
        .await
        .expect("public request");
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    assert_eq!(public.headers()["content-type"], "application/problem+json");
    let elsewhere = reqwest::get(format!("http://{metrics_addr}/v1/tenants"))
        .await
        .expect("request");
    assert_eq!(
        elsewhere.status(),
        StatusCode::NOT_FOUND,
        "the metrics listener serves nothing else"
    );
    running.stop().await;
    let stopped = eventually(WAIT, || async {
        reqwest::get(format!("http://{metrics_addr}/metrics"))
            .await
            .is_err()
            .then_some(())
    })
    .await;
    assert!(stopped.is_some(), "the metrics listener stops with serve");

    let running = switchboard::serve::start(options(None), &|_| None)
        .await
        .expect("serve starts again");
    assert_eq!(running.metrics_addr, None, "off unless asked for");
    running.stop().await;
}
