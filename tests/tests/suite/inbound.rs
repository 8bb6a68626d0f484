//! Inbound webhooks end to end, on both adapter sets: integrations through the admin API,
//! provider-signed requests through the HTTP stack to `POST /hooks/{id}`, processing by the
//! delivery worker, and the routed event delivered to a loopback receiver subscribed to it.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use switchboard::signing::inbound::{SignedRequest, sign_request};
use switchboard_tests::{
    Backend, Harness, Reply, TenantClient, TestServer, WAIT, assert_problem, eventually,
};

const GITHUB_SECRET: &str = "gh-secret-0123456789-abcd";

/// Creates an integration; returns its view.
async fn integration(t: &TenantClient, body: Value) -> Value {
    let created = t.post("/v1/integrations", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.body
}

fn signed(provider: &str, secret: &str, body: &Value, now: i64) -> SignedRequest {
    sign_request(
        provider,
        secret,
        &Value::Null,
        body.to_string().as_bytes(),
        "",
        now,
    )
    .expect("sign")
}

fn signed_bytes(provider: &str, secret: &str, body: &[u8]) -> SignedRequest {
    sign_request(provider, secret, &Value::Null, body, "", now()).expect("sign")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// POSTs a signed request to the integration's hook, with `extra` headers.
async fn hook(h: &Harness, id: &str, request: &SignedRequest, extra: &[(&str, &str)]) -> Reply {
    let mut req = h
        .api
        .http
        .post(h.api.url(&format!("/hooks/{id}")))
        .headers(request.headers.clone())
        .body(request.body.clone());
    for (name, value) in extra {
        req = req.header(*name, *value);
    }
    Reply::read(req.send().await.expect("hook request")).await.0
}

fn github_integration() -> Value {
    json!({
        "type": "github",
        "name": "repo pushes",
        "config": {"secret": GITHUB_SECRET},
        "mapping": {
            "repo": "$.repository.full_name",
            "event": "header:X-GitHub-Event",
            "missing": "$.no.such.field"
        },
        "route": {
            "event_type": "github.{{ headers[\"x-github-event\"] }}",
            "data": {"source": "github"}
        }
    })
}

/// Waits until the inbound event has `status`; returns its view.
async fn inbound_status(t: &TenantClient, int: &str, evt: &str, status: &str) -> Value {
    let path = format!("/v1/integrations/{int}/events/{evt}");
    match eventually(WAIT, || async {
        let e = t.get(&path).await;
        (e["status"] == json!(status)).then_some(e)
    })
    .await
    {
        Some(e) => e,
        None => panic!("{evt} not `{status}`: {}", t.get(&path).await),
    }
}

async fn github_webhook_is_verified_processed_and_delivered(backend: Backend) {
    let h = Harness::start(backend).await;
    let worker = h.worker();
    h.endpoint("gh", json!({"event_types": ["github.*"]})).await;
    let created = integration(&h, github_integration()).await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["type"], "github");
    assert_eq!(created["config"], json!({"secret": "***abcd"}));
    assert!(
        created["hook_url"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("/hooks/{id}"))),
        "{created}"
    );
    let shown = h.get(&format!("/v1/integrations/{id}")).await;
    assert!(!shown.to_string().contains(GITHUB_SECRET), "{shown}");

    // A signed push: accepted, processed, routed and delivered.
    let body = json!({"repository": {"full_name": "acme/app"}, "ref": "refs/heads/main"});
    let push = signed("github", GITHUB_SECRET, &body, now());
    let accepted = hook(&h, &id, &push, &[("x-github-event", "push")]).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    let evt = accepted.body["id"].as_str().expect("event id").to_owned();
    assert!(evt.starts_with("evt_"));
    assert_eq!(accepted.body.get("duplicate"), None);
    let seen = h.receiver.wait_for("gh", 1, WAIT).await;
    let delivered: Value = serde_json::from_slice(&seen[0].body).expect("json");
    assert_eq!(delivered["type"], "github.push");
    assert_eq!(
        delivered["data"],
        json!({"repo": "acme/app", "event": "push", "missing": null, "source": "github"}),
        "a mapping that matches nothing gives null"
    );
    let view = inbound_status(&h, &id, &evt, "processed").await;
    assert_eq!(
        view["body"],
        json!(String::from_utf8(push.body.clone()).unwrap())
    );
    assert_eq!(view["body_encoding"], "utf8");
    assert_eq!(view["headers"]["x-github-event"], "push");
    assert!(
        view["headers"].get("x-hub-signature-256").is_none(),
        "{view}"
    );
    assert_eq!(view["produced_event_type"], "github.push");
    let statuses: Vec<&str> = view["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|c| c["status"].as_str())
        .collect();
    assert_eq!(statuses, ["received", "processing", "processed"]);
    let produced = view["produced_event_id"]
        .as_str()
        .expect("produced")
        .to_owned();
    assert_eq!(
        h.get(&format!("/v1/events/{produced}")).await["type"],
        "github.push"
    );

    // The same delivery again: 200 duplicate with the first id, processed once.
    let again = hook(&h, &id, &push, &[("x-github-event", "push")]).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body, json!({"id": evt, "duplicate": true}));

    // A tampered body: 401 saying only that.
    let mut tampered = signed("github", GITHUB_SECRET, &body, now());
    tampered.body.push(b' ');
    let refused = hook(&h, &id, &tampered, &[("x-github-event", "push")]).await;
    assert_problem(
        &refused,
        StatusCode::UNAUTHORIZED,
        "signature verification failed",
    );
    assert_eq!(refused.body["detail"], "signature verification failed");

    // A second delivery, after the duplicate: once it is delivered, the duplicate (sent before
    // it) would have been too, had it been queued.
    let second = signed("github", GITHUB_SECRET, &json!({"n": 2}), now());
    let accepted = hook(&h, &id, &second, &[("x-github-event", "issues")]).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    h.receiver.wait_for("gh", 2, WAIT).await;
    let evt2 = accepted.body["id"].as_str().expect("id").to_owned();
    inbound_status(&h, &id, &evt2, "processed").await;
    assert_eq!(h.receiver.seen("gh").len(), 2);
    let listed = h.get(&format!("/v1/integrations/{id}/events")).await;
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [evt2.as_str(), evt.as_str()],
        "newest first, one per delivery"
    );
    let failed = h
        .get(&format!("/v1/integrations/{id}/events?status=failed"))
        .await;
    assert_eq!(failed["data"], json!([]));

    // The refused request was counted (written in the background).
    let counted = eventually(WAIT, || async {
        let v = h.get(&format!("/v1/integrations/{id}")).await;
        (v["rejected_count"].as_u64() >= Some(1)).then_some(v)
    })
    .await;
    assert!(counted.is_some(), "rejected_count never reached 1");

    // Replay: processed again as a new run, publishing a new event.
    let replay = h
        .post(
            &format!("/v1/integrations/{id}/events/{evt}/replay"),
            json!({}),
        )
        .await;
    assert_eq!(replay.status, StatusCode::ACCEPTED, "{}", replay.body);
    h.receiver.wait_for("gh", 3, WAIT).await;
    let replayed = eventually(WAIT, || async {
        let e = h.get(&format!("/v1/integrations/{id}/events/{evt}")).await;
        (e["status"] == "processed" && e["produced_event_id"] != json!(produced)).then_some(e)
    })
    .await
    .expect("replay processed");
    assert_ne!(replayed["produced_event_id"], json!(produced));
    worker.stop().await;
}

async fn stale_and_inactive_requests_are_refused(backend: Backend) {
    let h = Harness::start(backend).await;
    let secret = "whsec_stripe0123456789abcdef";
    let created = integration(
        &h,
        json!({"type": "stripe", "name": "payments", "config": {"secret": secret},
               "route": {"event_type": "stripe.event"}}),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["tolerance_seconds"], 300);
    let body = json!({"id": "evt_1", "type": "charge.succeeded"});
    let stale = signed("stripe", secret, &body, now() - 1_000);
    assert_problem(
        &hook(&h, &id, &stale, &[]).await,
        StatusCode::UNAUTHORIZED,
        "signature verification failed",
    );
    let fresh = signed("stripe", secret, &body, now());
    assert_eq!(
        hook(&h, &id, &fresh, &[]).await.status,
        StatusCode::ACCEPTED
    );

    // Slack: stale refused; a signed url_verification answered with its challenge.
    let slack_secret = "8f742231b10e8888abcd99yyyzzz85a5";
    let slack = integration(
        &h,
        json!({"type": "slack", "name": "app", "config": {"secret": slack_secret},
               "route": {"event_type": "slack.event"}}),
    )
    .await;
    let sid = slack["id"].as_str().expect("id").to_owned();
    let challenge = json!({"type": "url_verification", "challenge": "ch-123", "token": "t"});
    let old = signed("slack", slack_secret, &challenge, now() - 400);
    assert_eq!(
        hook(&h, &sid, &old, &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let ok = hook(
        &h,
        &sid,
        &signed("slack", slack_secret, &challenge, now()),
        &[],
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body, json!({"challenge": "ch-123"}));

    // Inactive: 404, and back once active again.
    let patched = h
        .call(
            reqwest::Method::PATCH,
            &format!("/v1/integrations/{id}"),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let refused = hook(&h, &id, &signed("stripe", secret, &body, now()), &[]).await;
    assert_problem(&refused, StatusCode::NOT_FOUND, "integration not found");
    // Unknown and malformed ids: 404 too.
    let unknown = "int_01JDQ8ZK3M4N5P6Q7R8S9T0V1W";
    assert_eq!(
        hook(&h, unknown, &fresh, &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        hook(&h, "not-an-id", &fresh, &[]).await.status,
        StatusCode::NOT_FOUND
    );
    // Deleted: 404.
    let deleted = h
        .call(
            reqwest::Method::DELETE,
            &format!("/v1/integrations/{sid}"),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = hook(
        &h,
        &sid,
        &signed("slack", slack_secret, &challenge, now()),
        &[],
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        h.fetch(&format!("/v1/integrations/{sid}")).await.status,
        StatusCode::NOT_FOUND
    );
    // Another tenant sees none of it.
    let other = h.new_tenant("other").await;
    assert_eq!(
        other.fetch(&format!("/v1/integrations/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(other.get("/v1/integrations").await["data"], json!([]));
}

async fn rotated_secrets_verify_during_grace_only(backend: Backend) {
    let h = Harness::start(backend).await;
    let (old, new) = ("old-secret-0123456789", "new-secret-9876543210");
    let created = integration(
        &h,
        json!({"type": "github", "name": "rotating", "config": {"secret": old},
               "route": {"event_type": "github.push"}}),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let body = json!({"zen": "rotate"});
    let rotated = h
        .call(
            reqwest::Method::PATCH,
            &format!("/v1/integrations/{id}"),
            Some(json!({"config": {"secret": new}, "grace_seconds": 2})),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    assert_eq!(rotated.body["config"]["secret"], "***3210");
    assert!(rotated.body["previous_config_expires_at"].is_string());
    // Both verify during the grace period.
    for secret in [old, new] {
        let r = hook(&h, &id, &signed("github", secret, &body, now()), &[]).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{secret}: {}", r.body);
    }
    // After it, only the new one.
    let refused = eventually(Duration::from_secs(15), || async {
        let r = hook(&h, &id, &signed("github", old, &body, now()), &[]).await;
        (r.status == StatusCode::UNAUTHORIZED).then_some(r)
    })
    .await;
    assert!(
        refused.is_some(),
        "the old secret still verifies after its grace"
    );
    let r = hook(&h, &id, &signed("github", new, &body, now()), &[]).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let shown = h.get(&format!("/v1/integrations/{id}")).await;
    assert_eq!(shown["previous_config_expires_at"], Value::Null);
}

async fn bad_integrations_are_refused_naming_the_field(backend: Backend) {
    let h = Harness::start(backend).await;
    let base = github_integration();
    // The body with the field at `pointer` set (added when absent).
    let with = |pointer: &str, value: Value| {
        let mut b = base.clone();
        let (parent, leaf) = pointer.rsplit_once('/').expect("pointer");
        b.pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .expect("parent object")
            .insert(leaf.to_owned(), value);
        b
    };
    let bad_path = h
        .post("/v1/integrations", with("/mapping/repo", json!("$.[")))
        .await;
    bad_path.assert_field(StatusCode::UNPROCESSABLE_ENTITY, "mapping.repo");
    let unknown = h
        .post("/v1/integrations", with("/type", json!("githib")))
        .await;
    unknown.assert_field(StatusCode::UNPROCESSABLE_ENTITY, "type");
    for known in ["github", "stripe", "slack", "generic_hmac", "basic_auth"] {
        assert!(unknown.body.to_string().contains(known), "{}", unknown.body);
    }
    h.post("/v1/integrations", with("/config", json!({})))
        .await
        .assert_field(StatusCode::UNPROCESSABLE_ENTITY, "config.secret");
    h.post(
        "/v1/integrations",
        with("/route/event_type", json!("x.{{ vars.nope }}")),
    )
    .await
    .assert_field(StatusCode::UNPROCESSABLE_ENTITY, "route.event_type");
    h.post(
        "/v1/integrations",
        with("/route/event_type", json!("integration.forged")),
    )
    .await
    .assert_field(StatusCode::UNPROCESSABLE_ENTITY, "route.event_type");
    h.post(
        "/v1/integrations",
        with("/mapping/sig", json!("header:x-hub-signature-256")),
    )
    .await
    .assert_field(StatusCode::UNPROCESSABLE_ENTITY, "mapping.sig");
    h.post(
        "/v1/integrations",
        with("/tolerance_seconds", json!(90_000)),
    )
    .await
    .assert_field(StatusCode::UNPROCESSABLE_ENTITY, "tolerance_seconds");
    // A change is checked like a create: the mapping, and the route against it.
    let created = integration(&h, base.clone()).await;
    let id = created["id"].as_str().expect("id");
    let path = format!("/v1/integrations/{id}");
    h.call(
        reqwest::Method::PATCH,
        &path,
        Some(json!({"mapping": {"repo": "$..["}})),
    )
    .await
    .assert_field(StatusCode::UNPROCESSABLE_ENTITY, "mapping.repo");
    h.call(
        reqwest::Method::PATCH,
        &path,
        Some(json!({"route": {"event_type": "a.{{ vars.gone }}"}})),
    )
    .await
    .assert_field(StatusCode::UNPROCESSABLE_ENTITY, "route.event_type");
    h.call(
        reqwest::Method::PATCH,
        &path,
        Some(json!({"config": {"secret": "s", "colour": "red"}})),
    )
    .await
    .assert_field(StatusCode::UNPROCESSABLE_ENTITY, "config.colour");
    // Scopes: read may look, not change.
    let reader = h
        .post(
            "/v1/api-keys",
            json!({"name": "reader", "scopes": ["integrations:read"]}),
        )
        .await;
    assert_eq!(reader.status, StatusCode::CREATED, "{}", reader.body);
    let key = reader.body["key"].as_str().expect("key");
    assert_eq!(
        h.api.get("/v1/integrations", key).await.status,
        StatusCode::OK
    );
    assert_eq!(
        h.api.post("/v1/integrations", key, base).await.status,
        StatusCode::FORBIDDEN
    );
}

async fn failing_processing_dies_and_tells_the_tenant(backend: Backend) {
    let h = Harness::start(backend).await;
    let worker = h.worker();
    h.endpoint("ops", json!({"event_types": ["integration.*"]}))
        .await;
    let created = integration(
        &h,
        json!({"type": "github", "name": "needs a header", "config": {"secret": GITHUB_SECRET},
               "route": {"event_type": "github.{{ headers[\"x-missing\"] }}"}}),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let accepted = hook(
        &h,
        &id,
        &signed("github", GITHUB_SECRET, &json!({"a": 1}), now()),
        &[],
    )
    .await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    let evt = accepted.body["id"].as_str().expect("id").to_owned();
    let seen = h.receiver.wait_for("ops", 1, WAIT).await;
    let told: Value = serde_json::from_slice(&seen[0].body).expect("json");
    assert_eq!(told["type"], "integration.event_failed");
    assert_eq!(told["data"]["event_id"], json!(evt));
    assert_eq!(told["data"]["integration_id"], json!(id));
    assert!(
        told["data"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("x-missing")),
        "{told}"
    );
    let view = inbound_status(&h, &id, &evt, "dead").await;
    assert_eq!(view["attempts"], 8);
    let failures = view["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|c| c["status"] == "failed")
        .count();
    assert_eq!(failures, 7, "{view}");
    let dead = h
        .get(&format!("/v1/integrations/{id}/events?status=dead"))
        .await;
    assert_eq!(dead["data"].as_array().map(Vec::len), Some(1));

    // Fixed route, replayed: a new run, its attempts start over, and it is routed.
    h.endpoint("fixed", json!({"event_types": ["github.fixed"]}))
        .await;
    let patched = h
        .call(
            reqwest::Method::PATCH,
            &format!("/v1/integrations/{id}"),
            Some(json!({"route": {"event_type": "github.fixed"}})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let replay = h
        .post(
            &format!("/v1/integrations/{id}/events/{evt}/replay"),
            json!({}),
        )
        .await;
    assert_eq!(replay.status, StatusCode::ACCEPTED, "{}", replay.body);
    let fixed = inbound_status(&h, &id, &evt, "processed").await;
    assert_eq!(fixed["attempts"], 1);
    h.receiver.wait_for("fixed", 1, WAIT).await;
    // An unknown event of a known integration is 404, as is a replay of it.
    let unknown = "evt_01JDQ8ZK3M4N5P6Q7R8S9T0V1W";
    assert_eq!(
        h.fetch(&format!("/v1/integrations/{id}/events/{unknown}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.post(
            &format!("/v1/integrations/{id}/events/{unknown}/replay"),
            json!({})
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    worker.stop().await;
}

async fn bodies_are_kept_byte_for_byte(backend: Backend) {
    let h = Harness::start(backend).await;
    let worker = h.worker();
    let created = integration(
        &h,
        json!({"type": "github", "name": "raw", "config": {"secret": GITHUB_SECRET},
               "mapping": {"event": "header:x-github-event", "first": "$[0]"},
               "route": {"event_type": "github.raw"}}),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();

    // Not UTF-8: verified on the raw bytes, kept as base64, mapped from headers only.
    let binary: Vec<u8> = vec![0xff, 0xfe, 0x00, b'{', 0x80];
    let accepted = hook(
        &h,
        &id,
        &signed_bytes("github", GITHUB_SECRET, &binary),
        &[],
    )
    .await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    let evt = accepted.body["id"].as_str().expect("id").to_owned();
    let view = inbound_status(&h, &id, &evt, "processed").await;
    assert_eq!(view["body_encoding"], "base64");
    use base64::Engine;
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(view["body"].as_str().expect("body"))
            .expect("base64"),
        binary
    );

    // Over 256 KiB (stored in parts) and back whole.
    let big = format!("[{}]", vec!["\"é\""; 200_000].join(","));
    assert!(big.len() > 600 * 1024);
    let accepted = hook(
        &h,
        &id,
        &signed_bytes("github", GITHUB_SECRET, big.as_bytes()),
        &[],
    )
    .await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    let evt = accepted.body["id"].as_str().expect("id").to_owned();
    let view = inbound_status(&h, &id, &evt, "processed").await;
    assert_eq!(view["body"].as_str(), Some(big.as_str()));
    assert_eq!(view["body_bytes"], json!(big.len()));

    // Over the limit: 413 before anything is read further.
    let huge = vec![b'x'; 1024 * 1024 + 1];
    let refused = hook(&h, &id, &signed_bytes("github", GITHUB_SECRET, &huge), &[]).await;
    assert_problem(&refused, StatusCode::PAYLOAD_TOO_LARGE, "1 MiB");
    worker.stop().await;
}

/// Discord signs with its private key (Ed25519 over timestamp + body): a verified PING is
/// answered PONG and stored nothing; an interaction is accepted; a wrong key is refused.
async fn discord_pings_are_answered_with_pong(backend: Backend) {
    use ed25519_dalek::Signer;
    let h = Harness::start(backend).await;
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let created = integration(
        &h,
        json!({"type": "discord", "name": "bot",
               "config": {"public_key": hex(key.verifying_key().as_bytes())},
               "route": {"event_type": "discord.interaction"}}),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let send = |signer: ed25519_dalek::SigningKey, body: Value| {
        let (h, id) = (&h, id.clone());
        async move {
            let ts = now().to_string();
            let body = body.to_string();
            let sig = signer.sign(format!("{ts}{body}").as_bytes());
            let mut request = SignedRequest {
                url: String::new(),
                headers: http::HeaderMap::new(),
                body: body.into_bytes(),
            };
            request
                .headers
                .insert("x-signature-ed25519", hex(&sig.to_bytes()).parse().unwrap());
            request
                .headers
                .insert("x-signature-timestamp", ts.parse().unwrap());
            request
                .headers
                .insert("content-type", "application/json".parse().unwrap());
            hook(h, &id, &request, &[]).await
        }
    };
    let pong = send(key.clone(), json!({"type": 1, "id": "p1"})).await;
    assert_eq!(pong.status, StatusCode::OK, "{}", pong.body);
    assert_eq!(pong.body, json!({"type": 1}));
    let interaction = send(key.clone(), json!({"type": 2, "id": "i1"})).await;
    assert_eq!(
        interaction.status,
        StatusCode::ACCEPTED,
        "{}",
        interaction.body
    );
    let forged = send(
        ed25519_dalek::SigningKey::from_bytes(&[8u8; 32]),
        json!({"type": 1, "id": "p2"}),
    )
    .await;
    assert_problem(
        &forged,
        StatusCode::UNAUTHORIZED,
        "signature verification failed",
    );
    let listed = h.get(&format!("/v1/integrations/{id}/events")).await;
    assert_eq!(
        listed["data"].as_array().map(Vec::len),
        Some(1),
        "a PING is answered, not stored: {listed}"
    );
}

/// The intake Lambda's path: an API Gateway v2 event, converted by `lambda_http` as the runtime
/// does, through the intake router. The signature is checked on the bytes API Gateway hands
/// over, text or base64 (`isBase64Encoded`, as it sends binary bodies).
async fn the_intake_lambda_verifies_what_api_gateway_hands_over(backend: Backend) {
    use base64::Engine;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let h = Harness::start(backend).await;
    let created = integration(&h, github_integration()).await;
    let id = created["id"].as_str().expect("id").to_owned();
    let gateway_event = |request: &SignedRequest, base64: bool| {
        let mut headers = serde_json::Map::new();
        for (name, value) in &request.headers {
            headers.insert(
                name.to_string(),
                json!(value.to_str().expect("ascii header")),
            );
        }
        headers.insert("x-github-event".into(), json!("push"));
        let body = if base64 {
            base64::engine::general_purpose::STANDARD.encode(&request.body)
        } else {
            String::from_utf8(request.body.clone()).expect("text body")
        };
        json!({
            "version": "2.0",
            "routeKey": "POST /hooks/{integration_id}",
            "rawPath": format!("/hooks/{id}"),
            "rawQueryString": "",
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012", "apiId": "abc123",
                "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "abc123",
                "http": {"method": "POST", "path": format!("/hooks/{id}"),
                         "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "GitHub-Hookshot"},
                "requestId": "r1", "routeKey": "POST /hooks/{integration_id}", "stage": "$default",
                "time": "01/Dec/2026:00:00:00 +0000", "timeEpoch": 1795996800000u64
            },
            "isBase64Encoded": base64,
            "pathParameters": {"integration_id": id},
            "body": body
        })
        .to_string()
    };
    let cases = [
        (
            signed(
                "github",
                GITHUB_SECRET,
                &json!({"ref": "refs/heads/main"}),
                now(),
            ),
            false,
        ),
        (
            signed_bytes("github", GITHUB_SECRET, &[0xff, 0x00, 0xfe, b'!']),
            true,
        ),
    ];
    for (request, base64) in cases {
        let event = gateway_event(&request, base64);
        let converted = lambda_http::request::from_str(&event).expect("API Gateway v2 event");
        let response = switchboard::api::intake_router(std::sync::Arc::clone(&h.app))
            .oneshot(converted)
            .await
            .expect("router is infallible");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "base64 {base64}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let listed = h.get(&format!("/v1/integrations/{id}/events")).await;
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(2));
}

/// The queue is down (on moto: SQS answers for a queue that does not exist, as it would for a
/// deleted or unreachable one; the embedded queue cannot be taken down from outside the
/// process): the sender is told 503 with `Retry-After`, and nothing stays stored, so its
/// retry is not taken for a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_queue_down_answers_503_and_keeps_nothing() {
    use secrecy::ExposeSecret;
    use std::sync::Arc;
    use switchboard::tenancy::key_format::{self, KeyHash};
    let root = key_format::generate();
    let client = aws_sdk_sqs::Client::new(&switchboard_tests::sdk_config().await);
    let missing = format!(
        "{}/123456789012/{}",
        switchboard_tests::moto_endpoint(),
        switchboard_tests::unique("missing")
    );
    let app = switchboard::app::App::new(
        Arc::new(switchboard_tests::dynamo_store().await),
        Arc::new(switchboard::queue::sqs::SqsQueue::new(
            client, missing, None,
        )),
        Arc::new(switchboard_tests::kms_provider().await),
        switchboard_tests::test_settings(Some(KeyHash::of(root.expose_secret()))),
    )
    .expect("app");
    let api = TestServer::start(switchboard::api::router(Arc::clone(&app))).await;
    let t = TenantClient::create(api.clone(), root.expose_secret(), "queue down").await;
    let created = integration(&t, github_integration()).await;
    let id = created["id"].as_str().expect("id");
    let push = signed("github", GITHUB_SECRET, &json!({"a": 1}), now());
    let resp = api
        .http
        .post(api.url(&format!("/hooks/{id}")))
        .headers(push.headers.clone())
        .body(push.body.clone())
        .send()
        .await
        .expect("hook");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.headers().contains_key("retry-after"));
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let listed = t.get(&format!("/v1/integrations/{id}/events")).await;
    assert_eq!(
        listed["data"],
        json!([]),
        "the unqueued event was withdrawn"
    );
}

switchboard_tests::on_both_backends!(
    discord_pings_are_answered_with_pong,
    the_intake_lambda_verifies_what_api_gateway_hands_over,
    bodies_are_kept_byte_for_byte,
    github_webhook_is_verified_processed_and_delivered,
    stale_and_inactive_requests_are_refused,
    rotated_secrets_verify_during_grace_only,
    bad_integrations_are_refused_naming_the_field,
    failing_processing_dies_and_tells_the_tenant,
);

/// `serve` without `SWITCHBOARD_PUBLIC_URL` shows hook URLs on its own address, so the URL in
/// the view can be handed to a provider (or curl) as it is.
#[tokio::test]
async fn serve_shows_hook_urls_on_its_own_address() {
    use secrecy::ExposeSecret;
    let mut served =
        switchboard_tests::served::Served::start(switchboard::serve::ServeLimits::default()).await;
    let root = served.take_root_key();
    let http = reqwest::Client::new();
    let tenant: Value = http
        .post(served.url("/v1/tenants"))
        .bearer_auth(root.key().expose_secret())
        .json(&json!({"name": "Acme"}))
        .send()
        .await
        .expect("tenant request")
        .json()
        .await
        .expect("tenant json");
    let key = tenant["api_key"]["key"].as_str().expect("admin key");
    let created = http
        .post(served.url("/v1/integrations"))
        .bearer_auth(key)
        .json(&github_integration())
        .send()
        .await
        .expect("integration request");
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.expect("integration json");
    let id = created["id"].as_str().expect("id");
    assert_eq!(
        created["hook_url"],
        json!(served.url(&format!("/hooks/{id}"))),
        "{created}"
    );
    served.stop().await;
}
