//! Outbound webhooks end to end, against a real loopback receiver: the admin API over HTTP, the
//! delivery worker on the app's own queue, on the embedded adapters and on moto.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use switchboard::app::App;
use switchboard_tests::receiver::{Reply, independently_verified};
use switchboard_tests::{Backend, Harness, WAIT, Worker, eventually};

async fn signed_delivery_and_attempt_log(backend: Backend) {
    let h = Harness::start(backend).await;
    let worker = h.worker();
    let (ep, secret) = h
        .endpoint(
            "signed",
            json!({"headers": {"X-Tenant-Tag": "acme"}, "event_types": ["ticket.*"]}),
        )
        .await;
    assert!(secret.starts_with("whsec_"));
    let published = h
        .publish(
            "ticket.created",
            json!({"id": 42, "subject": "Printer on fire"}),
        )
        .await;
    assert_eq!(published["matched"], json!(1));
    let got = h.receiver.wait_for("signed", 1, WAIT).await;
    let delivery = &got[0];
    let body: Value = serde_json::from_slice(&delivery.body).expect("json body");
    assert_eq!(body["type"], json!("ticket.created"));
    assert_eq!(body["data"]["subject"], json!("Printer on fire"));
    assert_eq!(
        delivery.headers["webhook-id"],
        published["id"].as_str().expect("id")
    );
    assert_eq!(delivery.headers["content-type"], "application/json");
    assert_eq!(delivery.headers["x-tenant-tag"], "acme");
    assert!(
        independently_verified(&secret, &delivery.headers, &delivery.body),
        "signature verifies"
    );
    let now = chrono::Utc::now().timestamp();
    let key = switchboard::signing::standard::SigningKey::parse(&secret).expect("secret");
    assert!(
        switchboard::signing::standard::verify(
            &[key],
            delivery.headers["webhook-id"].to_str().expect("id"),
            delivery.headers["webhook-timestamp"].to_str().expect("ts"),
            delivery.headers["webhook-signature"].to_str().expect("sig"),
            &delivery.body,
            now,
            300,
        )
        .is_ok()
    );
    let mut tampered = delivery.body.to_vec();
    tampered[2] ^= 1;
    assert!(!independently_verified(
        &secret,
        &delivery.headers,
        &tampered
    ));

    let id = published["id"].as_str().expect("id");
    let event = eventually(WAIT, || async {
        let e = h.get(&format!("/v1/events/{id}")).await;
        (e["deliveries"][0]["status"] == json!("succeeded")).then_some(e)
    })
    .await
    .expect("the event shows the delivery succeeded");
    assert_eq!(event["deliveries"][0]["attempts"], json!(1));
    assert_eq!(event["data"]["id"], json!(42));
    let attempts = h.get(&format!("/v1/webhooks/{ep}/attempts")).await;
    assert_eq!(attempts["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(attempts["data"][0]["status_code"], json!(200));
    assert_eq!(attempts["data"][0]["response_body"], json!("answer 200"));
    assert_eq!(attempts["data"][0]["message_id"], json!(id));
    // Nothing matches: not an error.
    assert_eq!(
        h.publish("user.deleted", json!({})).await["matched"],
        json!(0)
    );
    worker.stop().await;
}

async fn retries_in_order_until_success(backend: Backend) {
    let h = Harness::start(backend).await;
    let worker = h.worker();
    h.receiver.script(
        "flaky",
        [
            Reply::Status(500),
            Reply::RetryAfter(503, 1),
            Reply::Status(200),
        ],
    );
    let (ep, _) = h.endpoint("flaky", json!({})).await;
    let published = h.publish("order.paid", json!({"n": 1})).await;
    let got = h.receiver.wait_for("flaky", 3, WAIT).await;
    assert!(
        got[2].at - got[1].at >= Duration::from_millis(900),
        "Retry-After honoured: {:?}",
        got[2].at - got[1].at
    );
    assert!(
        got[1].at - got[0].at >= Duration::from_millis(300),
        "backoff between attempts"
    );
    let ids: Vec<_> = got
        .iter()
        .map(|r| r.headers["webhook-id"].clone())
        .collect();
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "one webhook-id across retries, for receiver dedupe"
    );
    let id = published["id"].as_str().expect("id");
    let attempts = eventually(WAIT, || async {
        let a = h.get(&format!("/v1/webhooks/{ep}/attempts")).await;
        (a["data"].as_array().map(Vec::len) == Some(3)).then_some(a)
    })
    .await
    .expect("three attempts logged");
    let codes: Vec<_> = attempts["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|a| a["status_code"].clone())
        .collect();
    assert_eq!(
        codes,
        vec![json!(200), json!(503), json!(500)],
        "newest first, as the receiver saw them"
    );
    let numbers: Vec<_> = attempts["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|a| a["attempt"].clone())
        .collect();
    assert_eq!(numbers, vec![json!(3), json!(2), json!(1)]);
    assert_eq!(attempts["data"][1]["error_code"], json!("http_status"));
    let failed = h
        .get(&format!("/v1/webhooks/{ep}/attempts?status=failed"))
        .await;
    assert_eq!(failed["data"].as_array().map(Vec::len), Some(2));
    let event = h.get(&format!("/v1/events/{id}")).await;
    assert_eq!(event["deliveries"][0]["status"], json!("succeeded"));
    assert_eq!(event["deliveries"][0]["attempts"], json!(3));
    worker.stop().await;
    assert_eq!(
        h.receiver.seen("flaky").len(),
        3,
        "no attempt after success"
    );
    assert_eq!(h.app.queue.depth().await.expect("depth"), 0);
}

async fn gone_disables_and_tells_the_tenant(backend: Backend) {
    let h = Harness::start(backend).await;
    let worker = h.worker();
    h.receiver.script("gone", [Reply::Status(410)]);
    let (ep, _) = h
        .endpoint("gone", json!({"event_types": ["invoice.created"]}))
        .await;
    let (_ops, _) = h
        .endpoint("ops", json!({"event_types": ["webhook.disabled"]}))
        .await;
    h.publish("invoice.created", json!({})).await;
    h.receiver.wait_for("gone", 1, WAIT).await;
    let notice = h.receiver.wait_for("ops", 1, WAIT).await;
    let body: Value = serde_json::from_slice(&notice[0].body).expect("json");
    assert_eq!(body["type"], json!("webhook.disabled"));
    assert_eq!(body["data"]["endpoint_id"], json!(ep));
    let view = h.get(&format!("/v1/webhooks/{ep}")).await;
    assert_eq!(view["enabled"], json!(false));
    assert!(
        view["disabled_reason"]
            .as_str()
            .is_some_and(|r| r.contains("410"))
    );
    // Disabled endpoints match nothing.
    assert_eq!(
        h.publish("invoice.created", json!({})).await["matched"],
        json!(0)
    );
    worker.stop().await;
    assert_eq!(h.receiver.seen("gone").len(), 1, "no retry after 410");
}

async fn killed_worker_loses_nothing(backend: Backend) {
    let h = Harness::start(backend).await;
    let (_ep, _) = h.endpoint("durable", json!({})).await;
    for i in 0..5 {
        h.publish("job.done", json!({"i": i})).await;
    }
    // A worker takes the batch and dies before settling any of it.
    let taken = h
        .app
        .queue
        .receive(10, Duration::from_secs(1))
        .await
        .expect("receive");
    assert!(!taken.is_empty());
    drop(taken);
    let worker = Worker::start(&h.app);
    let got = h.receiver.wait_for("durable", 5, WAIT).await;
    let mut seen: Vec<i64> = got
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).expect("json")["data"]["i"]
                .as_i64()
                .expect("i")
        })
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen,
        vec![0, 1, 2, 3, 4],
        "every event delivered after the crash"
    );
    worker.stop().await;
}

async fn idempotent_publish_fans_out_once(backend: Backend) {
    let h = Harness::start(backend).await;
    let worker = h.worker();
    let (ep, _) = h.endpoint("once", json!({})).await;
    let body =
        json!({"type": "payment.captured", "data": {"amount": 100}, "idempotency_key": "pay-123"});
    let first = h.post("/v1/events", body.clone()).await;
    let second = h.post("/v1/events", body.clone()).await;
    assert_eq!(
        (first.status, second.status),
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED)
    );
    assert_eq!(first.body, second.body, "the original answer");
    assert_eq!(
        second
            .headers
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..]),
        "a replay says so"
    );
    assert!(first.headers.get("idempotent-replayed").is_none());
    let clash = h
        .post(
            "/v1/events",
            json!({"type": "payment.captured", "data": {"amount": 999}, "idempotency_key": "pay-123"}),
        )
        .await;
    assert_eq!(clash.status, StatusCode::CONFLICT, "{}", clash.body);
    h.receiver.wait_for("once", 1, WAIT).await;
    if eventually(WAIT, || async {
        let a = h.get(&format!("/v1/webhooks/{ep}/attempts")).await;
        (a["data"].as_array().map(Vec::len) == Some(1)).then_some(())
    })
    .await
    .is_none()
    {
        panic!(
            "attempt logged: {} seen {}",
            h.get(&format!("/v1/webhooks/{ep}/attempts")).await,
            h.receiver.seen("once").len()
        );
    }
    worker.stop().await;
    assert_eq!(
        h.app.queue.depth().await.expect("depth"),
        0,
        "no second job was queued"
    );
    assert_eq!(h.receiver.seen("once").len(), 1, "delivered once");
}

async fn rotation_signs_with_both_secrets(backend: Backend) {
    let h = Harness::start(backend).await;
    let worker = h.worker();
    let (ep, old) = h.endpoint("rotating", json!({})).await;
    let rotated = h
        .post(
            &format!("/v1/webhooks/{ep}/secret/rotate"),
            json!({"grace_seconds": 3600}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let new = rotated.body["secret"].as_str().expect("secret").to_owned();
    assert_ne!(new, old);
    h.publish("a.b", json!({})).await;
    let got = h.receiver.wait_for("rotating", 1, WAIT).await;
    let header = got[0].headers["webhook-signature"].to_str().expect("sig");
    assert_eq!(
        header.split(' ').count(),
        2,
        "one signature per valid secret: {header}"
    );
    assert!(
        independently_verified(&old, &got[0].headers, &got[0].body),
        "the old secret verifies"
    );
    assert!(
        independently_verified(&new, &got[0].headers, &got[0].body),
        "the new secret verifies"
    );
    // With no grace, only the newest secret signs.
    let rotated = h
        .post(
            &format!("/v1/webhooks/{ep}/secret/rotate"),
            json!({"grace_seconds": 0}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let newest = rotated.body["secret"].as_str().expect("secret").to_owned();
    h.publish("a.b", json!({})).await;
    let got = h.receiver.wait_for("rotating", 2, WAIT).await;
    assert_eq!(
        got[1].headers["webhook-signature"]
            .to_str()
            .expect("sig")
            .split(' ')
            .count(),
        1
    );
    assert!(independently_verified(
        &newest,
        &got[1].headers,
        &got[1].body
    ));
    assert!(!independently_verified(&new, &got[1].headers, &got[1].body));
    assert!(!independently_verified(&old, &got[1].headers, &got[1].body));
    // The secret is never shown again.
    let text = h.get(&format!("/v1/webhooks/{ep}")).await.to_string()
        + &h.get("/v1/webhooks").await.to_string();
    assert!(!text.contains("whsec_"), "{text}");
    worker.stop().await;
}

async fn private_addresses_are_blocked_without_a_connection(backend: Backend) {
    // Endpoints saved through a process that lets loopback through (as a developer's would) are
    // delivered by one with the default policy, which must refuse both a literal and a name.
    let h = Harness::start(backend).await;
    let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let counter = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let (literal, _) = h
        .endpoint_at(
            format!("http://127.0.0.1:{port}/x"),
            json!({"max_attempts": 1}),
        )
        .await;
    let (named, _) = h
        .endpoint_at(
            format!("http://localhost:{port}/x"),
            json!({"max_attempts": 1}),
        )
        .await;
    let mut strict_settings = switchboard_tests::test_settings(None);
    strict_settings.delivery.policy = Default::default();
    let strict = App::new(
        Arc::clone(&h.app.store),
        Arc::clone(&h.app.queue),
        Arc::clone(&h.app.keys),
        strict_settings,
    )
    .expect("strict app");
    let worker = Worker::start(&strict);
    h.publish("x.y", json!({})).await;
    for ep in [&literal, &named] {
        let attempts = eventually(WAIT, || async {
            let a = h.get(&format!("/v1/webhooks/{ep}/attempts")).await;
            (a["data"].as_array().map(Vec::len) == Some(1)).then_some(a)
        })
        .await
        .expect("attempt logged");
        assert_eq!(
            attempts["data"][0]["error_code"],
            json!("blocked_address"),
            "{ep}: {attempts}"
        );
        assert_eq!(attempts["data"][0]["status_code"], Value::Null);
    }
    worker.stop().await;
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no connection was made"
    );
}

switchboard_tests::on_both_backends!(
    signed_delivery_and_attempt_log,
    retries_in_order_until_success,
    gone_disables_and_tells_the_tenant,
    killed_worker_loses_nothing,
    idempotent_publish_fans_out_once,
    rotation_signs_with_both_secrets,
    private_addresses_are_blocked_without_a_connection,
);
