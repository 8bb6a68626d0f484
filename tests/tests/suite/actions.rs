//! Actions (connection-backed destinations), on both adapter sets, against loopback fakes of
//! each provider that check auth and body shape as the provider documents it: Twilio (HTTP basic
//! auth, form fields `To`, `From`/`MessagingServiceSid`, `Body`), SendGrid (bearer, JSON
//! personalizations, answers 202), Slack (JSON `text`, answers `ok` or an error text) and a
//! generic REST API (the stored auth header injected).
//!
//! Proves: a published event fires each action once with its rendered template, beside the
//! webhook deliveries, on the same engine; a rotated credential is used by the next send; a
//! revoked connection fails the attempt with `connection_revoked`, not retried; an undefined
//! template variable fails the attempt and the fake sees nothing; Slack `invalid_token` disables
//! the action; bad input is refused naming the field with nothing written; no secret in any
//! answer.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard::delivery::provider::ProviderUrls;
use switchboard_tests::fakes::{Fakes, header};
use switchboard_tests::{Backend, Harness, Reply, TenantClient, on_both_backends};

const WAIT: Duration = Duration::from_secs(20);

fn unique(tag: &str) -> String {
    format!("{tag}{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// Everything an app needs to reach the fakes instead of the providers.
async fn harness(backend: Backend, fakes: &Fakes) -> Harness {
    let base = fakes.base.clone();
    Harness::with(backend, move |s| {
        s.delivery.providers = ProviderUrls {
            twilio: base.clone(),
            sendgrid: base.clone(),
            slack: base.clone(),
            generic_rest: Some(base),
        };
    })
    .await
}

async fn connection(t: &TenantClient, provider: &str, credentials: Value) -> String {
    let r = t
        .post(
            "/v1/connections",
            json!({"provider": provider, "name": provider, "credentials": credentials}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_str().expect("id").to_owned()
}

async fn action(t: &TenantClient, body: Value) -> String {
    let r = t.post("/v1/actions", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_str().expect("id").to_owned()
}

/// Waits until event `id` has an action delivery to `action` in `status`; returns it.
async fn action_delivery(t: &TenantClient, id: &str, action: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let event = t.get(&format!("/v1/events/{id}")).await;
        let found = event["action_deliveries"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["action_id"] == json!(action))
            .cloned();
        if let Some(d) = found.filter(|d| d["status"] == json!(status)) {
            return d;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{id}: no `{status}` delivery to {action}: {event}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[track_caller]
fn assert_secret_free(text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "a secret in {text}");
    }
}

/// The whole life of four actions on `backend`; returns every secret it used, for the caller to
/// look for in the logs.
async fn actions_fire_rotate_revoke_and_disable(backend: Backend) -> Vec<String> {
    let fakes = Fakes::start().await;
    let h = harness(backend, &fakes).await;
    let _worker = h.worker();
    let sid = format!("AC{}012345", ulid::Ulid::new().to_string().to_lowercase());
    let token = unique("tok");
    let sg_key = format!("SG.{}", unique("key"));
    let hook_secret = unique("hook");
    let rest_value = unique("restkey");
    fakes.accept("twilio", format!("{sid}:{token}"));
    fakes.accept("sendgrid", sg_key.clone());
    fakes.accept("rest", rest_value.clone());
    let mut secrets = vec![
        token.clone(),
        sg_key.clone(),
        hook_secret.clone(),
        rest_value.clone(),
    ];

    let twilio = connection(
        &h,
        "twilio",
        json!({"account_sid": sid, "auth_token": token}),
    )
    .await;
    let sendgrid = connection(&h, "sendgrid", json!({"api_key": sg_key})).await;
    let slack = connection(
        &h,
        "slack",
        json!({"webhook_url": format!("https://hooks.slack.com/services/T0/B0/{hook_secret}")}),
    )
    .await;
    let rest = connection(
        &h,
        "generic_rest",
        json!({"base_url": "https://93.184.215.14/api", "auth_header": "X-Api-Key",
               "auth_value": rest_value}),
    )
    .await;

    let sms = action(
        &h,
        json!({"connection_id": twilio, "kind": "twilio_sms", "event_types": ["order.*"],
               "template": {"to": "{{ event.data.customer.phone }}", "from": "+15550000000",
                            "body": "Hi {{ event.data.customer.name }}, order {{ event.id }}"}}),
    )
    .await;
    let mail = action(
        &h,
        json!({"connection_id": sendgrid, "kind": "sendgrid_email", "event_types": ["order.created"],
               "template": {"to": "{{ event.data.customer.email }}", "from": "shop@example.com",
                            "subject": "Order for {{ event.data.customer.name }}",
                            "text": "tenant {{ tenant.id }}"}}),
    )
    .await;
    let chat = action(
        &h,
        json!({"connection_id": slack, "kind": "slack_message", "event_types": ["order.created"],
               "template": {"text": "New order from {{ event.data.customer.name }}"}}),
    )
    .await;
    let call = action(
        &h,
        json!({"connection_id": rest, "kind": "http_request", "event_types": ["order.created"],
               "rate_limit_per_s": 100,
               "template": {"method": "PUT", "path": "/orders/{{ event.data.id }}",
                            "body": "{\"name\": {{ event.data.customer.name | tojson }}}"}}),
    )
    .await;
    let (endpoint, _) = h
        .endpoint("hook", json!({"event_types": ["order.*"]}))
        .await;

    // One event: every action fires once, rendered, beside the webhook.
    let data = json!({"id": 42, "customer": {"name": "Ada", "phone": "+15551234567",
                      "email": "ada@example.com"}});
    let published = h.publish("order.created", data.clone()).await;
    assert_eq!(published["matched"], json!(5), "{published}");
    let event_id = published["id"].as_str().expect("id").to_owned();
    for a in [&sms, &mail, &chat, &call] {
        action_delivery(&h, &event_id, a, "succeeded").await;
    }
    let sent = fakes.wait_for("/2010-04-01/", 1).await;
    let form: HashMap<String, String> =
        form_urlencoded::parse(&sent[0].body).into_owned().collect();
    assert_eq!(form["To"], "+15551234567");
    assert_eq!(form["From"], "+15550000000");
    assert_eq!(form["Body"], format!("Hi Ada, order {event_id}"));
    let mail_sent = fakes.wait_for("/v3/mail/send", 1).await;
    let mail_body: Value = serde_json::from_slice(&mail_sent[0].body).expect("json");
    assert_eq!(
        mail_body["personalizations"][0]["to"][0]["email"],
        json!("ada@example.com")
    );
    assert_eq!(mail_body["subject"], json!("Order for Ada"));
    assert_eq!(
        mail_body["content"][0]["value"],
        json!(format!("tenant {}", h.id))
    );
    let slack_sent = fakes.wait_for("/services/", 1).await;
    assert_eq!(slack_sent[0].path, format!("/services/T0/B0/{hook_secret}"));
    let slack_body: Value = serde_json::from_slice(&slack_sent[0].body).expect("json");
    assert_eq!(slack_body, json!({"text": "New order from Ada"}));
    let rest_sent = fakes.wait_for("/api/", 1).await;
    assert_eq!(rest_sent[0].method, "PUT");
    assert_eq!(header(&rest_sent[0].headers, "x-api-key"), rest_value);
    assert_eq!(rest_sent[0].path, "/api/orders/42");
    assert_eq!(rest_sent[0].body.as_ref(), br#"{"name": "Ada"}"#);
    let event = h.get(&format!("/v1/events/{event_id}")).await;
    assert_eq!(event["deliveries"][0]["endpoint_id"], json!(endpoint));
    assert_eq!(event["action_deliveries"].as_array().map(Vec::len), Some(4));
    for d in event["action_deliveries"].as_array().into_iter().flatten() {
        assert_eq!(d["attempts"], json!(1), "fired once: {d}");
    }
    assert_eq!(fakes.seen("/2010-04-01/").len(), 1);
    assert_eq!(fakes.seen("/v3/mail/send").len(), 1);
    assert_eq!(fakes.seen("/services/").len(), 1);
    assert_eq!(fakes.seen("/api/").len(), 1);

    // Usage: each action fired counts under its connection's provider, and the rendered
    // provider requests count as egress beside the webhook's signed payload.
    let provider_bytes: usize = ["/2010-04-01/", "/v3/mail/send", "/services/", "/api/"]
        .iter()
        .flat_map(|p| fakes.seen(p))
        .map(|r| r.body.len())
        .sum();
    let hook_bytes: usize = h
        .receiver
        .wait_for("hook", 1, WAIT)
        .await
        .iter()
        .map(|r| r.body.len())
        .sum();
    let expected = json!({"twilio": 1, "sendgrid": 1, "slack": 1, "generic_rest": 1});
    let usage = switchboard_tests::eventually(WAIT, || async {
        h.app.flush_counters().await;
        let usage = h.get("/v1/usage").await;
        (usage["actions"] == expected && usage["deliveries_attempted"] == json!(5)).then_some(usage)
    })
    .await
    .expect("usage counts the four actions and five deliveries");
    assert_eq!(usage["deliveries_succeeded"], json!(5), "{usage}");
    assert_eq!(
        usage["egress_bytes"],
        json!(provider_bytes + hook_bytes),
        "egress is what the fakes and the receiver got: {usage}"
    );

    // Rotation: the fake takes only the new token; the next send uses it.
    let rotated = unique("rot");
    secrets.push(rotated.clone());
    let r = h
        .call(
            Method::PATCH,
            &format!("/v1/connections/{twilio}"),
            Some(json!({"credentials": {"account_sid": sid, "auth_token": rotated}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    fakes.accept("twilio", format!("{sid}:{rotated}"));
    let second = h.publish("order.shipped", data.clone()).await;
    let second_id = second["id"].as_str().expect("id");
    let d = action_delivery(&h, second_id, &sms, "succeeded").await;
    assert_eq!(
        d["attempts"],
        json!(1),
        "the new credential worked first time: {d}"
    );
    assert_eq!(fakes.seen("/2010-04-01/").len(), 2);

    // An undefined variable: the attempt fails with a clear error, nothing sent.
    let strict = action(
        &h,
        json!({"connection_id": slack, "kind": "slack_message", "event_types": ["note.*"],
               "template": {"text": "{{ event.data.customer.missing }}"}}),
    )
    .await;
    let note = h.publish("note.added", data.clone()).await;
    let d = action_delivery(&h, note["id"].as_str().expect("id"), &strict, "failed").await;
    assert_eq!(d["attempts"], json!(1), "not retried: {d}");
    assert!(
        d["last_error"].as_str().unwrap_or("").contains("undefined"),
        "{d}"
    );
    assert_eq!(fakes.seen("/services/").len(), 1, "the fake saw nothing");

    // Slack `invalid_token`: the action is disabled, the reason recorded.
    fakes.slack_answers([(403, "invalid_token")]);
    let third = h.publish("order.created", data.clone()).await;
    let third_id = third["id"].as_str().expect("id");
    let d = action_delivery(&h, third_id, &chat, "failed").await;
    assert_eq!(d["attempts"], json!(1), "{d}");
    // The attempt is recorded first, then the action disabled: poll for it.
    let deadline = tokio::time::Instant::now() + WAIT;
    let view = loop {
        let view = h.get(&format!("/v1/actions/{chat}")).await;
        if view["enabled"] == json!(false) {
            break view;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not disabled: {view}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        view["disabled_reason"]
            .as_str()
            .unwrap_or("")
            .contains("invalid_token"),
        "{view}"
    );
    let fourth = h.publish("order.created", data.clone()).await;
    assert_eq!(
        fourth["matched"],
        json!(4),
        "the disabled action no longer matches"
    );
    let fourth_id = fourth["id"].as_str().expect("id");
    for a in [&sms, &mail, &call] {
        action_delivery(&h, fourth_id, a, "succeeded").await;
    }

    // Revocation: the next attempt is `connection_revoked`, not retried, nothing sent.
    let r = h
        .call(Method::DELETE, &format!("/v1/connections/{twilio}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let before = fakes.seen("/2010-04-01/").len();
    let fifth = h.publish("order.shipped", data).await;
    let d = action_delivery(&h, fifth["id"].as_str().expect("id"), &sms, "failed").await;
    assert_eq!(d["attempts"], json!(1), "{d}");
    assert!(
        d["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("connection_revoked"),
        "{d}"
    );
    assert_eq!(fakes.seen("/2010-04-01/").len(), before);
    // The action's attempt log, newest first: the revoked attempt, then the sends before it.
    let log = h.get(&format!("/v1/actions/{sms}/attempts")).await;
    let attempts = log["data"].as_array().expect("attempts");
    assert!(
        attempts.iter().all(|a| a["action_id"] == json!(sms)),
        "{log}"
    );
    assert_eq!(
        attempts[0]["error_code"],
        json!("connection_revoked"),
        "{log}"
    );
    assert_eq!(
        attempts[0]["status_code"],
        Value::Null,
        "nothing was sent: {log}"
    );
    let sent = attempts
        .iter()
        .filter(|a| a["status"] == json!("succeeded") && a["status_code"] == json!(201))
        .count();
    assert_eq!(
        sent, before,
        "one succeeded attempt per SMS the fake took: {log}"
    );
    let failed = h
        .get(&format!("/v1/actions/{sms}/attempts?status=failed"))
        .await;
    assert!(
        failed["data"]
            .as_array()
            .is_some_and(|d| !d.is_empty() && d.iter().all(|a| a["status"] == json!("failed"))),
        "{failed}"
    );

    // No secret in any answer.
    let mut text = String::new();
    for path in [
        "/v1/actions".to_owned(),
        format!("/v1/actions/{sms}/attempts"),
        format!("/v1/actions/{call}/attempts"),
        format!("/v1/actions/{chat}/attempts"),
        format!("/v1/events/{event_id}"),
        format!("/v1/events/{second_id}"),
        format!("/v1/events/{third_id}"),
        "/v1/events".to_owned(),
        "/v1/connections".to_owned(),
        "/v1/audit".to_owned(),
    ] {
        text.push_str(&h.get(&path).await.to_string());
    }
    assert_secret_free(&text, &secrets);
    // Nor in the raw store (attempt log included): only the connections' ciphertext holds them.
    let raw = String::from_utf8_lossy(&h.raw_store().await).into_owned();
    assert!(raw.contains(&sms), "the raw store is readable");
    for s in &secrets {
        assert!(!raw.contains(s.as_str()), "a secret in the raw store");
    }
    secrets
}

async fn bad_input_is_refused_naming_the_field_and_nothing_is_written(backend: Backend) {
    let fakes = Fakes::start().await;
    let h = harness(backend, &fakes).await;
    let sendgrid = connection(
        &h,
        "sendgrid",
        json!({"api_key": format!("SG.{}", unique("k"))}),
    )
    .await;
    let other = h.new_tenant("other").await;
    let theirs = connection(
        &other,
        "sendgrid",
        json!({"api_key": format!("SG.{}", unique("k"))}),
    )
    .await;
    let revoked = connection(
        &h,
        "sendgrid",
        json!({"api_key": format!("SG.{}", unique("k"))}),
    )
    .await;
    let r = h
        .call(Method::DELETE, &format!("/v1/connections/{revoked}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let mail = |connection: &str, template: Value| json!({"connection_id": connection, "kind": "sendgrid_email", "template": template});
    let good = json!({"to": "a@example.com", "from": "b@example.com", "subject": "s", "text": "t"});
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({"kind": "sendgrid_email", "template": good}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "connection_id",
        ),
        (
            mail(
                &sendgrid,
                json!({"to": "a@example.com", "from": "b@example.com", "text": "t"}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "template.subject",
        ),
        (
            mail(
                &sendgrid,
                json!({"to": "a@example.com", "from": "b@example.com", "subject": "{{ event.id",
                       "text": "t"}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "template.subject",
        ),
        (
            mail(
                &sendgrid,
                json!({"to": "a", "from": "b", "subject": "s", "text": "t", "x": "y"}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "template.x",
        ),
        (
            json!({"connection_id": sendgrid, "kind": "twilio_sms",
                   "template": {"to": "1", "from": "2", "body": "b"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "kind",
        ),
        (
            json!({"connection_id": sendgrid, "kind": "carrier_pigeon", "template": good}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "kind",
        ),
        (
            mail(&revoked, good.clone()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "connection_id",
        ),
        (
            json!({"connection_id": sendgrid, "kind": "sendgrid_email", "template": good,
                   "event_types": ["bad pattern"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "event_types[0]",
        ),
        (
            json!({"connection_id": sendgrid, "kind": "sendgrid_email", "template": good,
                   "rate_limit_per_s": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "rate_limit_per_s",
        ),
    ];
    for (body, status, field) in cases {
        let r: Reply = h.post("/v1/actions", body.clone()).await;
        r.assert_field(status, field);
    }
    // Another tenant's connection: not found, and named.
    let r = h.post("/v1/actions", mail(&theirs, good.clone())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert!(r.body.to_string().contains("connection"), "{}", r.body);
    let listed = h.get("/v1/actions").await;
    assert_eq!(listed["data"], json!([]), "nothing written: {listed}");

    // A valid one, then a bad update changes nothing.
    let id = action(&h, mail(&sendgrid, good)).await;
    let path = format!("/v1/actions/{id}");
    let before = h.get(&path).await;
    let r = h
        .call(
            Method::PATCH,
            &path,
            Some(json!({"template": {"to": "x", "from": "y", "subject": "{% if %}", "text": "t"}})),
        )
        .await;
    r.assert_field(StatusCode::UNPROCESSABLE_ENTITY, "template.subject");
    assert_eq!(h.get(&path).await, before);
    // Another tenant cannot see or change it.
    assert_eq!(other.fetch(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        other.call(Method::DELETE, &path, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.call(Method::DELETE, &path, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(h.fetch(&path).await.status, StatusCode::NOT_FOUND);
}

on_both_backends!(bad_input_is_refused_naming_the_field_and_nothing_is_written);

/// The log lines of this thread, captured by a thread-local subscriber: on a current-thread
/// runtime the API server, the worker, the adapters and the fakes all log on the test's thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The life of four actions on both adapter sets, under one subscriber capturing every log line
/// (both in one test: scoped subscribers set and dropped on several threads at once race in
/// tracing's callsite-interest cache): no secret in any of them.
#[tokio::test(flavor = "current_thread")]
async fn actions_fire_rotate_revoke_and_disable_with_no_secret_logged() {
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut secrets = actions_fire_rotate_revoke_and_disable(Backend::Sqlite).await;
    secrets.extend(actions_fire_rotate_revoke_and_disable(Backend::Aws).await);
    let text = String::from_utf8_lossy(&logs.0.lock().expect("lock")).into_owned();
    assert!(
        text.contains("delivery attempt") && text.contains("action disabled"),
        "the capture sees the worker"
    );
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "a secret in the logs");
    }
}
