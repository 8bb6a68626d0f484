//! Connections (stored provider credentials) and the provider registry, on both adapter sets:
//! CRUD through the API, every bad input refused naming its field with nothing written, scopes
//! and tenants enforced, and the secrets nowhere but the ciphertext: not in any answer, not in
//! the raw store (the SQLite files' bytes, a scan of the moto table), not in the logs. At the
//! store: rotation re-seals under a new data key, revocation destroys the ciphertext, and a
//! ciphertext copied onto another connection does not open (the encryption context binds it,
//! on moto KMS and on the local key provider).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use switchboard::credentials::connections::{self, OpenError};
use switchboard::crypto::CryptoError;
use switchboard::model::{ConnectionId, TenantId};
use switchboard::ssrf::AddressPolicy;
use switchboard_tests::{Backend, Harness, Reply, TenantClient, assert_problem, on_both_backends};

/// A secret no other test and no other field uses: letters and digits only, so it appears
/// verbatim wherever it is stored or logged.
fn secret(tag: &str) -> String {
    format!("{tag}{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// A Twilio account SID (`AC` + 32 letters or digits) no other test uses.
fn sid() -> String {
    format!("AC{}012345", ulid::Ulid::new().to_string().to_lowercase())
}

fn twilio(name: &str, sid: &str, token: &str, metadata: Value) -> Value {
    json!({
        "provider": "twilio",
        "name": name,
        "credentials": {"account_sid": sid, "auth_token": token},
        "metadata": metadata,
    })
}

/// Asserts no answer text holds any of `secrets`.
#[track_caller]
fn assert_secret_free(reply: &Reply, secrets: &[&str]) {
    let text = reply.body.to_string();
    for s in secrets {
        assert!(!text.contains(s), "a secret in an answer: {text}");
    }
}

/// Asserts the raw store holds none of `secrets` (and does hold `present`, proving the scan
/// reads what was written).
async fn assert_store_secret_free(h: &Harness, secrets: &[&str], present: &str) {
    let raw = h.raw_store().await;
    let contains = |needle: &str| raw.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(contains(present), "the raw store scan sees `{present}`");
    for s in secrets {
        assert!(!contains(s), "a secret in the raw store");
    }
}

/// A key of the tenant with only `scopes`.
async fn key_with(tenant: &TenantClient, scopes: &[&str]) -> String {
    let reply = tenant
        .post("/v1/api-keys", json!({"name": "scoped", "scopes": scopes}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["key"].as_str().expect("key").to_owned()
}

fn ids(list: &Value) -> Vec<&str> {
    list["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect()
}

async fn providers_are_listed_with_their_fields(backend: Backend) {
    let h = Harness::start(backend).await;
    let list = h.get("/v1/providers").await;
    let providers = list["data"].as_array().expect("data");
    let names: Vec<&str> = providers
        .iter()
        .map(|p| p["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        names,
        [
            "openai",
            "anthropic",
            "gemini",
            "azure_openai",
            "twilio",
            "sendgrid",
            "slack",
            "github",
            "gitlab",
            "generic_rest"
        ]
    );
    let by_id = |id: &str| providers.iter().find(|p| p["id"] == id).expect("provider");
    let twilio = by_id("twilio");
    assert_eq!(twilio["display_name"], "Twilio");
    assert_eq!(twilio["action_kinds"], json!(["twilio_sms"]));
    let field = |p: &Value, name: &str| {
        p["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .expect("field")
    };
    let account_sid = field(twilio, "account_sid");
    assert_eq!(
        (
            &account_sid["secret"],
            &account_sid["required"],
            &account_sid["prefix"]
        ),
        (&json!(false), &json!(true), &json!("AC"))
    );
    assert_eq!(field(twilio, "auth_token")["secret"], json!(true));
    assert_eq!(by_id("sendgrid")["action_kinds"], json!(["sendgrid_email"]));
    assert_eq!(by_id("slack")["action_kinds"], json!(["slack_message"]));
    assert_eq!(
        by_id("generic_rest")["action_kinds"],
        json!(["http_request"])
    );
    assert_eq!(
        field(by_id("generic_rest"), "base_url")["format"],
        "public_https_url"
    );
    assert_eq!(by_id("openai")["action_kinds"], json!([]));

    // connections:read is what reads it.
    let reader = key_with(&h, &["connections:read"]).await;
    assert_eq!(
        h.api.get("/v1/providers", &reader).await.status,
        StatusCode::OK
    );
    let other = key_with(&h, &["webhooks:write"]).await;
    let refused = h.api.get("/v1/providers", &other).await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "connections:read");
}

async fn connections_are_created_listed_updated_rotated_and_revoked(backend: Backend) {
    let h = Harness::start(backend).await;
    let (sid, token, new_token) = (sid(), secret("tok"), secret("rot"));
    let secrets = [token.as_str(), new_token.as_str()];

    let created = h
        .post(
            "/v1/connections",
            twilio(
                "SMS sandbox",
                &sid,
                &token,
                json!({"env": "sandbox", "tier": 2}),
            ),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_secret_free(&created, &secrets);
    let id = created.body["id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("conn_"));
    assert_eq!(created.body["provider"], "twilio");
    assert_eq!(created.body["status"], "active");
    assert_eq!(created.body["credentials"], json!({"account_sid": sid}));
    assert_eq!(
        created.body["metadata"],
        json!({"env": "sandbox", "tier": 2})
    );
    assert_eq!(created.body["rotated_at"], Value::Null);
    let fingerprint = created.body["fingerprint"]
        .as_str()
        .expect("fingerprint")
        .to_owned();
    let last4 = &token[token.len() - 4..];
    assert!(
        fingerprint.starts_with(&format!("***{last4}:")) && fingerprint.len() == 3 + 4 + 1 + 16,
        "{fingerprint}"
    );

    let view = h.fetch(&format!("/v1/connections/{id}")).await;
    assert_eq!(view.status, StatusCode::OK);
    assert_secret_free(&view, &secrets);
    assert_eq!(view.body, created.body);

    // Another, of another provider and environment; lists filter by provider and metadata.
    let hook = format!("https://hooks.slack.com/services/T0/B0/{}", secret("hook"));
    let slack = h
        .post(
            "/v1/connections",
            json!({"provider": "slack", "name": "alerts", "credentials": {"webhook_url": hook},
                   "metadata": {"env": "prod"}}),
        )
        .await;
    assert_eq!(slack.status, StatusCode::CREATED, "{}", slack.body);
    assert_secret_free(&slack, &[hook.as_str()]);
    assert_eq!(slack.body["credentials"], json!({}));
    let slack_id = slack.body["id"].as_str().expect("id").to_owned();

    let all = h.fetch("/v1/connections").await;
    assert_secret_free(&all, &secrets);
    assert_eq!(
        ids(&all.body),
        [slack_id.as_str(), id.as_str()],
        "newest first"
    );
    for (query, expected) in [
        ("provider=twilio", vec![id.as_str()]),
        ("provider=slack", vec![slack_id.as_str()]),
        ("metadata[env]=sandbox", vec![id.as_str()]),
        ("metadata%5Benv%5D=prod", vec![slack_id.as_str()]),
        ("metadata[env]=sandbox&metadata[tier]=2", vec![id.as_str()]),
        ("metadata[env]=sandbox&metadata[tier]=3", vec![]),
        ("provider=slack&metadata[env]=sandbox", vec![]),
    ] {
        let found = h.get(&format!("/v1/connections?{query}")).await;
        assert_eq!(ids(&found), expected, "{query}");
    }
    h.fetch("/v1/connections?provider=nope")
        .await
        .assert_field(StatusCode::BAD_REQUEST, "provider");
    h.fetch("/v1/connections?metadata=x")
        .await
        .assert_field(StatusCode::BAD_REQUEST, "metadata");
    // A deep-object filter the list does not know is refused, not ignored (it would match all).
    h.fetch("/v1/connections?meta[env]=sandbox")
        .await
        .assert_field(StatusCode::BAD_REQUEST, "metadata");

    // Pages: a cursor carries on, and is bound to its filter.
    let mut more = Vec::new();
    for n in 0..3 {
        let r = h
            .post(
                "/v1/connections",
                twilio(
                    &format!("extra {n}"),
                    &sid,
                    &secret("x"),
                    json!({"env": "sandbox"}),
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        more.push(r.body["id"].as_str().expect("id").to_owned());
    }
    let first = h.get("/v1/connections?provider=twilio&limit=2").await;
    assert_eq!(ids(&first), [more[2].as_str(), more[1].as_str()]);
    let cursor = first["next_cursor"].as_str().expect("a cursor").to_owned();
    let second = h
        .get(&format!(
            "/v1/connections?provider=twilio&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(ids(&second), [more[0].as_str(), id.as_str()]);
    assert_eq!(second["next_cursor"], Value::Null);
    h.fetch(&format!("/v1/connections?provider=slack&cursor={cursor}"))
        .await
        .assert_field(StatusCode::BAD_REQUEST, "cursor");

    // Rename and new metadata: the credentials stay as they were.
    let renamed = h
        .call(
            Method::PATCH,
            &format!("/v1/connections/{id}"),
            Some(json!({"name": "SMS prod", "metadata": {"env": "prod"}})),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(renamed.body["name"], "SMS prod");
    assert_eq!(renamed.body["metadata"], json!({"env": "prod"}));
    assert_eq!(renamed.body["fingerprint"], fingerprint.as_str());
    assert_eq!(renamed.body["rotated_at"], Value::Null);

    // Rotation: a new fingerprint and `rotated_at`, never the secret.
    let rotated = h
        .call(
            Method::PATCH,
            &format!("/v1/connections/{id}"),
            Some(json!({"credentials": {"account_sid": sid, "auth_token": new_token}})),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    assert_secret_free(&rotated, &secrets);
    assert_ne!(rotated.body["fingerprint"], fingerprint.as_str());
    assert!(rotated.body["rotated_at"].is_string());
    assert_eq!(rotated.body["name"], "SMS prod");

    // Revocation: 204, the record kept and shown revoked; again is 204; no more changes.
    let path = format!("/v1/connections/{id}");
    assert_eq!(
        h.call(Method::DELETE, &path, None).await.status,
        StatusCode::NO_CONTENT
    );
    let revoked = h.fetch(&path).await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(revoked.body["status"], "revoked");
    assert!(revoked.body["revoked_at"].is_string());
    assert_eq!(revoked.body["fingerprint"], rotated.body["fingerprint"]);
    assert_eq!(
        h.call(Method::DELETE, &path, None).await.status,
        StatusCode::NO_CONTENT
    );
    let refused = h
        .call(Method::PATCH, &path, Some(json!({"name": "again"})))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(ids(&h.get("/v1/connections?provider=twilio").await).contains(&id.as_str()));

    assert_store_secret_free(
        &h,
        &[token.as_str(), new_token.as_str(), hook.as_str()],
        &sid,
    )
    .await;
}

async fn bad_input_is_refused_naming_the_field_and_nothing_is_written(backend: Backend) {
    // No address allowed: loopback names and literals are refused like any internal address.
    let h = Harness::with(backend, |s| s.delivery.policy = AddressPolicy::default()).await;
    let token = secret("bad");
    let good_sid = sid();
    let rest = |base_url: &str| {
        json!({"provider": "generic_rest", "name": "api",
               "credentials": {"base_url": base_url, "auth_value": token}})
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"provider": "smoke_signals", "name": "x", "credentials": {}}),
            "provider",
        ),
        (
            json!({"provider": "twilio", "name": "x", "credentials": {"account_sid": good_sid}}),
            "credentials.auth_token",
        ),
        (
            twilio("x", "XX0123", &token, json!({})),
            "credentials.account_sid",
        ),
        (
            json!({"provider": "twilio", "name": "x",
                   "credentials": {"account_sid": good_sid, "auth_token": 1234}}),
            "credentials.auth_token",
        ),
        (
            json!({"provider": "twilio", "name": "x",
                   "credentials": {"account_sid": good_sid, "auth_token": token, "region": "eu"}}),
            "credentials.region",
        ),
        (
            json!({"provider": "twilio", "name": "x", "credentials": ["x"]}),
            "credentials",
        ),
        (rest("http://api.example.com/v1"), "credentials.base_url"),
        (rest("https://10.0.0.1/v1"), "credentials.base_url"),
        (
            rest("https://169.254.169.254/latest"),
            "credentials.base_url",
        ),
        (rest("https://[::1]:8443/"), "credentials.base_url"),
        (rest("https://localhost:8443/"), "credentials.base_url"),
        (
            json!({"provider": "slack", "name": "x",
                   "credentials": {"webhook_url": "https://example.com/services/T/B/x"}}),
            "credentials.webhook_url",
        ),
        (
            json!({"provider": "sendgrid", "name": "x", "credentials": {"api_key": "nope"}}),
            "credentials.api_key",
        ),
        (twilio("  ", &good_sid, &token, json!({})), "name"),
        (
            twilio("x", &good_sid, &token, json!({"bad key": 1})),
            "metadata.bad key",
        ),
        (twilio("x", &good_sid, &token, json!([1])), "metadata"),
    ];
    for (body, field) in cases {
        let reply = h.post("/v1/connections", body.clone()).await;
        reply.assert_field(StatusCode::UNPROCESSABLE_ENTITY, field);
        assert_secret_free(&reply, &[token.as_str()]);
        if field == "provider" {
            let detail = reply.body["detail"].as_str().unwrap_or_default();
            assert!(
                detail.contains("twilio") && detail.contains("generic_rest"),
                "{detail}"
            );
        }
    }
    let none = h.get("/v1/connections").await;
    assert_eq!(ids(&none), Vec::<&str>::new(), "nothing was written");

    // A bad rotation changes nothing either.
    let created = h
        .post(
            "/v1/connections",
            twilio("ok", &good_sid, &secret("ok"), json!({})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let path = format!(
        "/v1/connections/{}",
        created.body["id"].as_str().expect("id")
    );
    for (body, field) in [
        (
            json!({"credentials": {"account_sid": "AC1", "auth_token": token}}),
            "credentials.account_sid",
        ),
        (
            json!({"credentials": {"auth_token": token}}),
            "credentials.account_sid",
        ),
        (json!({"credentials": "x"}), "credentials"),
        (json!({"name": ""}), "name"),
        (json!({"provider": "slack"}), "provider"),
    ] {
        let reply = h.call(Method::PATCH, &path, Some(body)).await;
        reply.assert_field(StatusCode::UNPROCESSABLE_ENTITY, field);
        assert_secret_free(&reply, &[token.as_str()]);
    }
    assert_eq!(
        h.get(&path).await,
        created.body,
        "the connection is as it was"
    );
    assert_store_secret_free(&h, &[token.as_str()], &good_sid).await;
}

async fn scopes_and_tenants_are_enforced(backend: Backend) {
    let h = Harness::start(backend).await;
    let created = h
        .post(
            "/v1/connections",
            twilio("mine", &sid(), &secret("t"), json!({})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.body["id"].as_str().expect("id").to_owned();
    let path = format!("/v1/connections/{id}");

    let reader = key_with(&h, &["connections:read"]).await;
    assert_eq!(h.api.get(&path, &reader).await.status, StatusCode::OK);
    assert_eq!(
        h.api.get("/v1/connections", &reader).await.status,
        StatusCode::OK
    );
    let body = twilio("theirs", &sid(), &secret("t"), json!({}));
    for (method, route, body) in [
        (Method::POST, "/v1/connections", Some(body)),
        (Method::PATCH, path.as_str(), Some(json!({"name": "x"}))),
        (Method::DELETE, path.as_str(), None),
    ] {
        let reply = h.api.request(method, route, Some(&reader), body).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{route}: {}",
            reply.body
        );
        assert!(
            reply.body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("connections:write")
        );
    }
    let writer = key_with(&h, &["connections:write"]).await;
    assert_eq!(
        h.api.get(&path, &writer).await.status,
        StatusCode::OK,
        "write implies read"
    );
    let webhooks = key_with(&h, &["webhooks:write", "integrations:write"]).await;
    assert_eq!(
        h.api.get("/v1/connections", &webhooks).await.status,
        StatusCode::FORBIDDEN
    );

    // Another tenant sees nothing of it.
    let other = h.new_tenant("other").await;
    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        let body = (method == Method::PATCH).then(|| json!({"name": "x"}));
        let reply = other.call(method.clone(), &path, body).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{method}: {}",
            reply.body
        );
    }
    assert_eq!(ids(&other.get("/v1/connections").await), Vec::<&str>::new());
    let other_tenant: TenantId = other.id.parse().expect("tenant id");
    let conn: ConnectionId = id.parse().expect("id");
    let opened = connections::open(
        h.app.store.as_ref(),
        h.app.keys.as_ref(),
        other_tenant,
        conn,
    )
    .await;
    assert!(matches!(opened, Err(OpenError::NotFound)), "{opened:?}");
    assert_eq!(h.get(&path).await["status"], "active", "untouched");
}

/// The stored record of connection `id`.
async fn record(h: &Harness, id: ConnectionId) -> serde_json::Map<String, Value> {
    h.app
        .store
        .get(&connections::record_key(id))
        .await
        .expect("get")
        .expect("stored")
}

async fn rotation_reseals_and_revocation_destroys_the_ciphertext(backend: Backend) {
    let h = Harness::start(backend).await;
    let tenant: TenantId = h.id.parse().expect("tenant id");
    let (sid, old, new) = (sid(), secret("old"), secret("new"));
    let created = h
        .post("/v1/connections", twilio("sms", &sid, &old, json!({})))
        .await;
    let id: ConnectionId = created.body["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("id");
    let (store, keys) = (h.app.store.as_ref(), h.app.keys.as_ref());

    let opened = connections::open(store, keys, tenant, id)
        .await
        .expect("opens");
    assert!(opened.field_equals("auth_token", &old));
    assert!(opened.field_equals("account_sid", &sid));
    assert_eq!(opened.provider(), "twilio");
    assert!(
        !format!("{opened:?}").contains(&old),
        "Debug shows no value"
    );
    let before = record(&h, id).await;

    let rotated = h
        .call(
            Method::PATCH,
            &format!("/v1/connections/{id}"),
            Some(json!({"credentials": {"account_sid": sid, "auth_token": new}})),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let after = record(&h, id).await;
    for part in ["ciphertext", "wrapped_key", "nonce"] {
        assert_ne!(
            before["sealed"][part], after["sealed"][part],
            "a new {part}"
        );
    }
    let opened = connections::open(store, keys, tenant, id)
        .await
        .expect("opens");
    assert!(
        opened.field_equals("auth_token", &new),
        "the new credential opens"
    );
    assert!(!opened.field_equals("auth_token", &old));

    let deleted = h
        .call(Method::DELETE, &format!("/v1/connections/{id}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let revoked = record(&h, id).await;
    assert!(
        revoked.get("sealed").is_none(),
        "the ciphertext is gone: {revoked:?}"
    );
    assert_eq!(revoked["status"], "revoked");
    let ciphertext = after["sealed"]["ciphertext"].as_str().expect("ciphertext");
    assert!(!Value::Object(revoked).to_string().contains(ciphertext));
    let opened = connections::open(store, keys, tenant, id).await;
    assert!(
        matches!(opened, Err(OpenError::ConnectionRevoked)),
        "{opened:?}"
    );
}

async fn a_ciphertext_copied_to_another_connection_does_not_open(backend: Backend) {
    let h = Harness::start(backend).await;
    let tenant: TenantId = h.id.parse().expect("tenant id");
    let make = |client: TenantClient| async move {
        let r = client
            .post(
                "/v1/connections",
                twilio("c", &sid(), &secret("s"), json!({})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"]
            .as_str()
            .expect("id")
            .parse::<ConnectionId>()
            .expect("id")
    };
    let a = make(h.tenant.clone()).await;
    let b = make(h.tenant.clone()).await;
    let other = h.new_tenant("other").await;
    let other_tenant: TenantId = other.id.parse().expect("tenant id");
    let c = make(other).await;
    let (store, keys) = (h.app.store.as_ref(), h.app.keys.as_ref());
    let sealed_a = record(&h, a).await["sealed"].clone();

    for (target, owner) in [(b, tenant), (c, other_tenant)] {
        let mut item = record(&h, target).await;
        item.insert("sealed".into(), sealed_a.clone());
        store.put(item, None).await.expect("put");
        let opened = connections::open(store, keys, owner, target).await;
        assert!(
            matches!(opened, Err(OpenError::Crypto(CryptoError::Decrypt))),
            "{target}: {opened:?}"
        );
    }
    assert!(
        connections::open(store, keys, tenant, a).await.is_ok(),
        "A still opens"
    );
}

on_both_backends!(
    providers_are_listed_with_their_fields,
    connections_are_created_listed_updated_rotated_and_revoked,
    bad_input_is_refused_naming_the_field_and_nothing_is_written,
    scopes_and_tenants_are_enforced,
    rotation_reseals_and_revocation_destroys_the_ciphertext,
    a_ciphertext_copied_to_another_connection_does_not_open,
);

/// Heat: a tenant creating connections in a burst spreads them over the record partitions (one
/// per connection) and the list's shards, so no partition key takes more than a few percent of
/// what one DynamoDB partition serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_connections_keeps_every_key_cool() {
    use switchboard::credentials::connections::{ConnectionSettings, CredentialsInput};
    use switchboard::crypto::local::LocalKeyProvider;
    use switchboard::store::heat::HeatMeter;
    use switchboard::store::sqlite::SqliteStore;
    const CONNECTIONS: u64 = 1_000;
    let (db, _dir) = switchboard_tests::sqlite_db();
    let meter = Arc::new(HeatMeter::with_clock(
        Arc::new(SqliteStore::new(db)),
        Arc::new(|| 0),
    ));
    let keys = LocalKeyProvider::from_bytes([7; 32]);
    let policy = AddressPolicy::default();
    let tenant = TenantId::generate();
    for n in 0..CONNECTIONS {
        connections::create(
            meter.as_ref(),
            &keys,
            &policy,
            tenant,
            ConnectionSettings {
                provider: "sendgrid".into(),
                name: format!("c{n}"),
                credentials: CredentialsInput(json!({"api_key": format!("SG.{n}")})),
                metadata: serde_json::Map::new(),
            },
            &switchboard::audit::Recorder::system("heat"),
        )
        .await
        .expect("create");
    }
    let (pk, _, heat) = meter.hottest().expect("writes");
    assert!(
        heat.writes <= CONNECTIONS / 10,
        "{pk} took {} of {CONNECTIONS} writes",
        heat.writes
    );
    let found = connections::list(meter.as_ref(), tenant, &Default::default(), 250, None)
        .await
        .expect("list");
    assert_eq!(found.0.len(), 250);
    assert!(found.1.is_some());
}
