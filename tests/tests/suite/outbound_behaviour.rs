//! The finer points of outbound delivery, on both adapter sets with a loopback receiver:
//! rotation, the SSRF guard, timeouts and hostile receivers, rate limits, test sends, recovery,
//! resend, subscription globs, auto-disable, and bad input.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, UNIX_EPOCH};
use switchboard::signing::standard::{SigningKey, verify};
use switchboard_tests::receiver::Reply;
use switchboard_tests::{Backend, Harness, WAIT, eventually};

fn verifies(secret: &str, r: &switchboard_tests::receiver::Received) -> bool {
    let key = SigningKey::parse(secret).expect("secret");
    let h = |n: &str| r.headers[n].to_str().expect("header").to_owned();
    verify(
        &[key],
        &h("webhook-id"),
        &h("webhook-timestamp"),
        &h("webhook-signature"),
        &r.body,
        chrono::Utc::now().timestamp(),
        300,
    )
    .is_ok()
}

async fn hostile_receivers_cannot_exhaust_the_worker(backend: Backend) {
    let h = Harness::start(backend).await;
    let worker = h.worker();
    h.receiver.script("hang", [Reply::Hang]);
    h.receiver.script("endless", [Reply::Endless]);
    let (hang, _) = h
        .endpoint(
            "hang",
            json!({"timeout_ms": 1000, "max_attempts": 1, "event_types": ["slow.*"]}),
        )
        .await;
    let (endless, _) = h
        .endpoint(
            "endless",
            json!({"timeout_ms": 2000, "max_attempts": 1, "event_types": ["big.*"]}),
        )
        .await;
    // A server that accepts and hangs up at once.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            drop(socket);
        }
    });
    let (closer, _) = h
        .endpoint_at(
            format!("http://127.0.0.1:{port}/"),
            json!({"max_attempts": 1, "event_types": ["close.*"]}),
        )
        .await;
    h.publish_id("slow.x").await;
    h.publish_id("big.x").await;
    h.publish_id("close.x").await;
    let a = h.attempts(&hang, 1).await;
    assert_eq!(a["data"][0]["error_code"], json!("timeout"));
    let ms = a["data"][0]["duration_ms"].as_u64().expect("ms");
    assert!(
        (1000..5000).contains(&ms),
        "stopped at the timeout: {ms} ms"
    );
    let a = h.attempts(&endless, 1).await;
    assert_eq!(a["data"][0]["status_code"], json!(200));
    let kept = a["data"][0]["response_body"].as_str().expect("body").len();
    assert!(kept <= 4096 && kept > 0, "response kept to 4 KiB: {kept}");
    let a = h.attempts(&closer, 1).await;
    assert_eq!(a["data"][0]["error_code"], json!("connection"), "{a}");
    worker.stop().await;
}

async fn rate_limit_delays_instead_of_dropping(backend: Backend) {
    let h = Harness::start(backend).await;
    let worker = h.worker();
    h.endpoint("limited", json!({"rate_limit_per_s": 2})).await;
    for _ in 0..8 {
        h.publish_id("burst.x").await;
    }
    let got = h.receiver.wait_for("limited", 8, WAIT).await;
    // The limiter admits 2 per wall-clock second at admission time; arrival is a moment later,
    // so a receiver-side second can see the tail of one window and the head of the next (<= 4).
    // Unlimited, all 8 would arrive within milliseconds.
    let mut per_second = std::collections::BTreeMap::new();
    for r in &got {
        let second = r.wall.duration_since(UNIX_EPOCH).expect("time").as_secs();
        *per_second.entry(second).or_insert(0) += 1;
    }
    assert!(
        per_second.values().all(|&n| n <= 4),
        "admitted at 2 per second: {per_second:?}"
    );
    let span = got.last().expect("last").at - got[0].at;
    assert!(
        span >= Duration::from_millis(1900),
        "8 deliveries at 2/s need 4 windows: {span:?}"
    );
    worker.stop().await;
}

async fn test_send_resend_and_recover(backend: Backend) {
    let h = Harness::start(backend).await;
    let worker = h.worker();
    let (ep, secret) = h.endpoint("ops", json!({"max_attempts": 1})).await;
    let reply = h.post(&format!("/v1/webhooks/{ep}/test"), json!({})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let attempt = reply.body;
    assert_eq!(attempt["status_code"], json!(200));
    assert_eq!(attempt["event_type"], json!("webhook.test"));
    let got = h.receiver.wait_for("ops", 1, WAIT).await;
    assert!(verifies(&secret, &got[0]));

    // A delivery that dies (one attempt, 500)…
    h.receiver.script("ops", [Reply::Status(500)]);
    let since = chrono::Utc::now() - chrono::Duration::seconds(5);
    let id = h.publish_id("order.failed").await;
    let dead = eventually(WAIT, || async {
        let e = h.get(&format!("/v1/events/{id}")).await;
        (e["deliveries"][0]["status"] == json!("failed")).then_some(e)
    })
    .await;
    assert!(
        dead.is_some(),
        "the delivery is failed after its only attempt"
    );
    // …is re-sent by recovery.
    let recover = h
        .post(
            &format!("/v1/webhooks/{ep}/recover"),
            json!({"since": since}),
        )
        .await;
    assert_eq!(recover.status, StatusCode::ACCEPTED, "{}", recover.body);
    let recovered = eventually(WAIT, || async {
        let e = h.get(&format!("/v1/events/{id}")).await;
        (e["deliveries"][0]["status"] == json!("succeeded")).then_some(e)
    })
    .await;
    assert!(recovered.is_some(), "recovery delivered it");
    // Resend delivers it once more.
    let before = h.receiver.seen("ops").len();
    let resent = h.post(&format!("/v1/events/{id}/resend"), json!({})).await;
    assert_eq!(
        (resent.status, resent.body["queued"].clone()),
        (StatusCode::ACCEPTED, json!(1))
    );
    h.receiver.wait_for("ops", before + 1, WAIT).await;
    let unknown = h
        .post(
            &format!("/v1/events/{id}/resend"),
            json!({"endpoint_id": "ep_01JDQ8ZK3M4N5P6Q7R8S9T0V1W"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    worker.stop().await;
}

async fn failing_endpoints_are_disabled_after_the_window(backend: Backend) {
    const AUDIT_RETENTION: Duration = Duration::from_secs(2 * 86_400);
    let h = Harness::with(backend, |s| {
        s.delivery.disable_after = Duration::ZERO;
        s.audit_retention = AUDIT_RETENTION;
    })
    .await;
    let worker = h.worker();
    h.receiver.script(
        "dying",
        [Reply::Status(500), Reply::Status(500), Reply::Status(500)],
    );
    let (ep, _) = h
        .endpoint("dying", json!({"event_types": ["x.*"], "max_attempts": 3}))
        .await;
    h.endpoint("notices", json!({"event_types": ["webhook.disabled"]}))
        .await;
    h.publish_id("x.y").await;
    let notice = h.receiver.wait_for("notices", 1, WAIT).await;
    let body: Value = serde_json::from_slice(&notice[0].body).expect("json");
    assert_eq!(body["data"]["endpoint_id"], json!(ep));
    let view = h.get(&format!("/v1/webhooks/{ep}")).await;
    assert_eq!(view["enabled"], json!(false));
    assert!(
        view["disabled_reason"]
            .as_str()
            .is_some_and(|r| r.contains("no successful delivery")),
        "{view}"
    );
    assert!(view["failing_since"].is_string(), "{view}");
    // Audited by the system actor `delivery`, kept as long as the configured retention says.
    let audit = h.get("/v1/audit?action=webhook.disabled").await;
    let entry = &audit["data"][0];
    assert_eq!(
        (entry["actor"]["type"].clone(), entry["actor"]["id"].clone()),
        (json!("system"), json!("delivery")),
        "{audit}"
    );
    let id: switchboard::model::AuditId =
        entry["id"].as_str().expect("id").parse().expect("audit id");
    let item = h
        .app
        .store
        .get(&switchboard::audit::log::entry_key(id))
        .await
        .expect("read")
        .expect("entry");
    let ttl = item["ttl"].as_i64().expect("ttl");
    let expected = chrono::Utc::now().timestamp() + AUDIT_RETENTION.as_secs() as i64;
    assert!(
        (expected - ttl).abs() < 120,
        "ttl {ttl}, expected about {expected}"
    );
    // Re-enabling clears the failure state.
    let patched = h
        .call(
            reqwest::Method::PATCH,
            &format!("/v1/webhooks/{ep}"),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let view = patched.body;
    assert_eq!(
        (view["enabled"].clone(), view["failing_since"].clone()),
        (json!(true), Value::Null)
    );
    worker.stop().await;
}

async fn subscriptions_match_globs(backend: Backend) {
    let h = Harness::start(backend).await;
    for types in [
        json!(["ticket.*"]),
        json!(["ticket.created"]),
        json!(["*"]),
        json!(["user.*"]),
        json!(["ticket.updated"]),
    ] {
        h.endpoint("g", json!({"event_types": types})).await;
    }
    let count = |t: &'static str| {
        let h = &h;
        async move {
            h.post("/v1/events", json!({"type": t, "data": {}}))
                .await
                .body["matched"]
                .clone()
        }
    };
    assert_eq!(count("ticket.created").await, json!(3));
    assert_eq!(count("ticket.comment.added").await, json!(2));
    assert_eq!(count("user.signed_up").await, json!(2));
    assert_eq!(count("billing.paid").await, json!(1));
    // Deleted endpoints stop matching at once.
    let list = h.get("/v1/webhooks").await;
    let catch_all = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|e| e["event_types"] == json!(["*"]))
        .expect("catch-all");
    let deleted = h
        .call(
            reqwest::Method::DELETE,
            &format!("/v1/webhooks/{}", catch_all["id"].as_str().expect("id")),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(count("billing.paid").await, json!(0));
}

async fn bad_input_names_the_field(backend: Backend) {
    let h = Harness::start(backend).await;
    let cases = [
        (json!({"url": "not a url"}), "url"),
        (json!({"url": "ftp://example.com/x"}), "url"),
        (json!({"url": "http://10.0.0.7/hook"}), "url"),
        (json!({"url": "http://[::ffff:169.254.169.254]/"}), "url"),
        (
            json!({"url": "https://example.com", "headers": {"webhook-signature": "x"}}),
            "headers.webhook-signature",
        ),
        (
            json!({"url": "https://example.com", "headers": {"X-Big": "v".repeat(2000)}}),
            "headers.X-Big",
        ),
        (
            json!({"url": "https://example.com", "event_types": ["ticket.*.created"]}),
            "event_types[0]",
        ),
        (
            json!({"url": "https://example.com", "event_types": []}),
            "event_types",
        ),
        (
            json!({"url": "https://example.com", "timeout_ms": 999}),
            "timeout_ms",
        ),
        (
            json!({"url": "https://example.com", "timeout_ms": 30_001}),
            "timeout_ms",
        ),
        (
            json!({"url": "https://example.com", "max_attempts": 0}),
            "max_attempts",
        ),
        (
            json!({"url": "https://example.com", "rate_limit_per_s": 0}),
            "rate_limit_per_s",
        ),
        (
            json!({"url": "https://example.com", "secret": "mine"}),
            "secret",
        ),
        (json!({"event_types": ["*"]}), "url"),
    ];
    for (body, field) in cases {
        let reply = h.post("/v1/webhooks", body.clone()).await;
        reply.assert_field(StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    let events = [
        (
            json!({"type": "bad type!", "data": {}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "type",
        ),
        (
            json!({"data": {}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "type",
        ),
        (
            json!({"type": "a.b"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "data",
        ),
        (
            json!({"type": "a.b", "data": {}, "idempotency_key": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key",
        ),
    ];
    for (body, status, field) in events {
        let reply = h.post("/v1/events", body.clone()).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert_eq!(reply.body["errors"][0]["field"], json!(field), "{body}");
    }
    let too_big = h
        .post(
            "/v1/events",
            json!({"type": "a.b", "data": {"blob": "x".repeat(300 * 1024)}}),
        )
        .await;
    assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
    let bad_id = h.post("/v1/webhooks/ep_nonsense/test", json!({})).await;
    assert_eq!(bad_id.status, StatusCode::BAD_REQUEST);
    let unknown = h
        .post("/v1/webhooks/ep_01JDQ8ZK3M4N5P6Q7R8S9T0V1W/test", json!({}))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let bad_status = h
        .fetch("/v1/webhooks/ep_01JDQ8ZK3M4N5P6Q7R8S9T0V1W/attempts?status=meh")
        .await;
    assert_eq!(
        (
            bad_status.status,
            bad_status.body["errors"][0]["field"].clone()
        ),
        (StatusCode::BAD_REQUEST, json!("status"))
    );
}

#[test]
fn published_signature_vectors_hold() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/signatures.json");
    let vectors: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let case = vectors["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["provider"] == "standard_webhooks")
        .expect("standard webhooks vector");
    let key = SigningKey::parse(case["secret"].as_str().expect("secret")).expect("key");
    let h = |n: &str| case["headers"][n].as_str().expect("header").to_owned();
    let body = case["body"].as_str().expect("body").as_bytes();
    let now = case["now"].as_i64().expect("now");
    assert_eq!(
        key.sign(&h("webhook-id"), now, body),
        h("webhook-signature")
    );
    assert!(
        verify(
            std::slice::from_ref(&key),
            &h("webhook-id"),
            &h("webhook-timestamp"),
            &h("webhook-signature"),
            body,
            now,
            300
        )
        .is_ok()
    );
    let bad = case["must_fail_with_signature"].as_str().expect("bad");
    assert!(
        verify(
            std::slice::from_ref(&key),
            &h("webhook-id"),
            &h("webhook-timestamp"),
            bad,
            body,
            now,
            300
        )
        .is_err()
    );
    let mut flipped = body.to_vec();
    flipped[0] ^= 1;
    assert!(
        verify(
            &[key],
            &h("webhook-id"),
            &h("webhook-timestamp"),
            &h("webhook-signature"),
            &flipped,
            now,
            300
        )
        .is_err()
    );
}

switchboard_tests::on_both_backends!(
    hostile_receivers_cannot_exhaust_the_worker,
    rate_limit_delays_instead_of_dropping,
    test_send_resend_and_recover,
    failing_endpoints_are_disabled_after_the_window,
    subscriptions_match_globs,
    bad_input_names_the_field,
);
