//! Regressions for the API key items of security issue #7, on both adapter sets: scope
//! escalation (1), reviving rolled or expired keys (5), locking a tenant out and the root key's
//! recovery key (6), `Authorization: Basic` hiding `x-api-key` (14), and bidi or other
//! format characters in names (16).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_tests::{Backend, Harness, Reply, assert_problem, eventually};

/// Creates a key with `key`; expects 201 and returns `(id, secret)`.
async fn create_key(h: &Harness, key: &str, name: &str, scopes: Value) -> (String, String) {
    let reply = h
        .api
        .post("/v1/api-keys", key, json!({"name": name, "scopes": scopes}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    (
        reply.body["id"].as_str().expect("id").to_owned(),
        reply.body["key"].as_str().expect("key").to_owned(),
    )
}

async fn patch(h: &Harness, key: &str, id: &str, body: Value) -> Reply {
    h.api
        .request(
            Method::PATCH,
            &format!("/v1/api-keys/{id}"),
            Some(key),
            Some(body),
        )
        .await
}

async fn roll(h: &Harness, key: &str, id: &str, body: Value) -> Reply {
    h.api
        .post(&format!("/v1/api-keys/{id}/roll"), key, body)
        .await
}

/// The id of the tenant's first key (the harness's admin key).
async fn first_admin_id(h: &Harness, key: &str) -> String {
    let keys = h.api.get("/v1/api-keys", key).await;
    assert_eq!(keys.status, StatusCode::OK, "{}", keys.body);
    keys.body["data"]
        .as_array()
        .and_then(|all| all.iter().find(|k| k["name"] == json!("admin")))
        .and_then(|k| k["id"].as_str())
        .expect("the first admin key is listed")
        .to_owned()
}

/// Item 1: `api_keys:write` cannot mint, rescope or roll a key into more than it holds.
async fn a_key_grants_only_scopes_it_holds(backend: Backend) {
    let h = Harness::start(backend).await;
    let admin = h.key.clone();
    let admin_id = first_admin_id(&h, &admin).await;
    let (manager_id, manager) = create_key(&h, &admin, "manager", json!(["api_keys:write"])).await;

    let escalate = h
        .api
        .post(
            "/v1/api-keys",
            &manager,
            json!({"name": "escalated", "scopes": ["admin"]}),
        )
        .await;
    assert_problem(&escalate, StatusCode::FORBIDDEN, "`admin`");
    let sideways = h
        .api
        .post(
            "/v1/api-keys",
            &manager,
            json!({"name": "reader", "scopes": ["api_keys:write", "webhooks:read"]}),
        )
        .await;
    assert_problem(&sideways, StatusCode::FORBIDDEN, "`webhooks:read`");

    // Its own key cannot be rescoped upwards, and stays as it was.
    let own = patch(&h, &manager, &manager_id, json!({"scopes": ["admin"]})).await;
    assert_problem(&own, StatusCode::FORBIDDEN, "`admin`");
    let viewed = h
        .api
        .get(&format!("/v1/api-keys/{manager_id}"), &admin)
        .await;
    assert_eq!(viewed.body["scopes"], json!(["api_keys:write"]));
    assert_problem(
        &h.api.get("/v1/events", &manager).await,
        StatusCode::FORBIDDEN,
        "events:read",
    );

    // A roll hands out a new secret with the key's scopes: not the admin key's.
    let rolled = roll(&h, &manager, &admin_id, json!({})).await;
    assert_problem(&rolled, StatusCode::FORBIDDEN, "`admin`");
    let keys = h.api.get("/v1/api-keys", &admin).await;
    assert_eq!(
        keys.body["data"].as_array().map(Vec::len),
        Some(2),
        "no key was minted: {}",
        keys.body
    );

    // `…:write` holds its `…:read`; a scope the caller lacks is refused on PATCH of any key.
    let (_, writer) = create_key(
        &h,
        &admin,
        "writer",
        json!(["api_keys:write", "webhooks:write"]),
    )
    .await;
    create_key(&h, &writer, "reader", json!(["webhooks:read"])).await;
    create_key(
        &h,
        &writer,
        "peer",
        json!(["webhooks:write", "webhooks:read"]),
    )
    .await;
    let lacking = h
        .api
        .post(
            "/v1/api-keys",
            &writer,
            json!({"name": "events", "scopes": ["events:read"]}),
        )
        .await;
    assert_problem(&lacking, StatusCode::FORBIDDEN, "`events:read`");
    let other = patch(
        &h,
        &writer,
        &manager_id,
        json!({"scopes": ["events:publish"]}),
    )
    .await;
    assert_problem(&other, StatusCode::FORBIDDEN, "`events:publish`");

    // Within what it holds, a key still creates and rolls.
    create_key(&h, &manager, "deputy", json!(["api_keys:write"])).await;
    let own_roll = roll(&h, &manager, &manager_id, json!({})).await;
    assert_eq!(own_roll.status, StatusCode::CREATED, "{}", own_roll.body);
    assert_eq!(own_roll.body["scopes"], json!(["api_keys:write"]));
    create_key(&h, &admin, "second admin", json!(["admin"])).await;
}

/// Item 5: a rolled key stays dead, and an expired key cannot be revived.
async fn rolled_and_expired_keys_stay_dead(backend: Backend) {
    let h = Harness::start(backend).await;
    let admin = h.key.clone();
    let far = "2099-01-01T00:00:00Z";

    // A live key's expiry may move.
    let (live_id, _) = create_key(&h, &admin, "live", json!(["webhooks:read"])).await;
    let moved = patch(&h, &admin, &live_id, json!({"expires_at": far})).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["expires_at"], json!(far));

    // In its grace period, the old key of a roll can be neither extended nor rolled again.
    let (graced_id, _) = create_key(&h, &admin, "graced", json!(["webhooks:read"])).await;
    let first = roll(&h, &admin, &graced_id, json!({"grace_seconds": 600})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_problem(
        &patch(&h, &admin, &graced_id, json!({"expires_at": far})).await,
        StatusCode::CONFLICT,
        "rolled",
    );
    assert_problem(
        &roll(&h, &admin, &graced_id, json!({})).await,
        StatusCode::CONFLICT,
        "rolled already",
    );
    let old = h
        .api
        .get(&format!("/v1/api-keys/{graced_id}"), &admin)
        .await;
    let ends: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(old.body["expires_at"].clone()).expect("an expiry");
    assert!(
        ends <= chrono::Utc::now() + chrono::Duration::seconds(601),
        "the grace period is unchanged: {}",
        old.body
    );

    // Rolled with no grace: dead at once, and it stays dead.
    let (dead_id, dead) = create_key(&h, &admin, "dead", json!(["webhooks:read"])).await;
    let second = roll(&h, &admin, &dead_id, json!({"grace_seconds": 0})).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    assert_problem(
        &patch(&h, &admin, &dead_id, json!({"expires_at": far})).await,
        StatusCode::CONFLICT,
        "rolled",
    );
    assert_problem(
        &roll(&h, &admin, &dead_id, json!({})).await,
        StatusCode::CONFLICT,
        "rolled",
    );
    assert_problem(
        &h.api.get("/v1/webhooks", &dead).await,
        StatusCode::UNAUTHORIZED,
        "expired",
    );

    // Expired without a roll: its expiry cannot be moved either.
    let soon = chrono::Utc::now() + chrono::Duration::seconds(2);
    let short = h
        .api
        .post(
            "/v1/api-keys",
            &admin,
            json!({"name": "short", "scopes": ["webhooks:read"], "expires_at": soon}),
        )
        .await;
    assert_eq!(short.status, StatusCode::CREATED, "{}", short.body);
    let short_id = short.body["id"].as_str().expect("id").to_owned();
    let short_key = short.body["key"].as_str().expect("key").to_owned();
    eventually(Duration::from_secs(10), || async {
        let r = h.api.get("/v1/webhooks", &short_key).await;
        (r.status == StatusCode::UNAUTHORIZED).then_some(())
    })
    .await
    .expect("the short key expires");
    assert_problem(
        &patch(&h, &admin, &short_id, json!({"expires_at": far})).await,
        StatusCode::CONFLICT,
        "expired",
    );
    assert_problem(
        &h.api.get("/v1/webhooks", &short_key).await,
        StatusCode::UNAUTHORIZED,
        "expired",
    );
}

/// Item 6: the tenant's last active admin key cannot be deleted, revoked, disabled or rescoped.
async fn the_last_admin_key_cannot_be_removed(backend: Backend) {
    let h = Harness::start(backend).await;
    let admin = h.key.clone();
    let admin_id = first_admin_id(&h, &admin).await;
    let (_, manager) = create_key(&h, &admin, "manager", json!(["api_keys:write"])).await;
    let path = format!("/v1/api-keys/{admin_id}");
    for caller in [&admin, &manager] {
        let attempts = [
            h.api
                .request(Method::DELETE, &path, Some(caller), None)
                .await,
            h.api
                .post(&format!("{path}/revoke"), caller, json!({}))
                .await,
            patch(&h, caller, &admin_id, json!({"enabled": false})).await,
            patch(&h, caller, &admin_id, json!({"scopes": ["api_keys:write"]})).await,
        ];
        for reply in &attempts {
            assert_problem(reply, StatusCode::CONFLICT, "last active `admin` key");
        }
    }
    let still = h.api.get(&path, &admin).await;
    assert_eq!(still.body["status"], json!("active"), "{}", still.body);
    assert_eq!(still.body["scopes"], json!(["admin"]));

    // With a second admin key the first may go; then the second is the last one. A disabled
    // admin key does not count.
    let (second_id, second) = create_key(&h, &admin, "second", json!(["admin"])).await;
    let (spare_id, _) = create_key(&h, &admin, "spare", json!(["admin"])).await;
    let disabled = patch(&h, &second, &spare_id, json!({"enabled": false})).await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
    let revoked = h
        .api
        .post(&format!("{path}/revoke"), &second, json!({}))
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert_problem(
        &patch(
            &h,
            &second,
            &second_id,
            json!({"scopes": ["webhooks:read"]}),
        )
        .await,
        StatusCode::CONFLICT,
        "last active `admin` key",
    );
    let widened = patch(
        &h,
        &second,
        &second_id,
        json!({"scopes": ["admin", "events:read"], "name": "still admin"}),
    )
    .await;
    assert_eq!(widened.status, StatusCode::OK, "{}", widened.body);
}

/// Item 6: two removals racing on the last two admin keys cannot both win.
async fn racing_removals_keep_one_admin_key(backend: Backend) {
    let h = Harness::start(backend).await;
    let first = h.key.clone();
    let first_id = first_admin_id(&h, &first).await;
    let (a_id, a) = create_key(&h, &first, "a", json!(["admin"])).await;
    let (b_id, _) = create_key(&h, &first, "b", json!(["admin"])).await;
    let (_, manager) = create_key(&h, &first, "manager", json!(["api_keys:write"])).await;
    let gone = h
        .api
        .request(
            Method::DELETE,
            &format!("/v1/api-keys/{first_id}"),
            Some(&a),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);

    let revoke = |id: String| {
        let (api, manager) = (h.api.clone(), manager.clone());
        async move {
            api.post(&format!("/v1/api-keys/{id}/revoke"), &manager, json!({}))
                .await
        }
    };
    // Concurrent on the embedded store; one after another on moto, whose transact_write_items
    // is not isolated (a failed transaction restores a copy of the table taken before it began,
    // and concurrent transactions' conditions are not checked against each other), so it cannot
    // stand for DynamoDB, whose transactions are serializable, under concurrency.
    let (ra, rb) = match backend {
        Backend::Sqlite => tokio::join!(revoke(a_id), revoke(b_id)),
        Backend::Aws => {
            let ra = revoke(a_id).await;
            (ra, revoke(b_id).await)
        }
    };
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{} / {}",
        ra.body,
        rb.body
    );
    let keys = h.api.get("/v1/api-keys", &manager).await;
    let active_admins = keys.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|k| k["status"] == json!("active") && k["scopes"] == json!(["admin"]))
        .count();
    assert_eq!(active_admins, 1, "{}", keys.body);
}

/// Item 6: the root key issues a recovery admin key to a tenant that locked itself out.
async fn root_issues_a_recovery_key(backend: Backend) {
    let h = Harness::start(backend).await;
    let locked = h.new_tenant("locked out").await;
    let admin_id = first_admin_id(&h, &locked.key).await;
    // Its only admin key expires: allowed (the key works until then), and then nobody can
    // manage the tenant.
    let soon = chrono::Utc::now() + chrono::Duration::seconds(2);
    let expiring = patch(&h, &locked.key, &admin_id, json!({"expires_at": soon})).await;
    assert_eq!(expiring.status, StatusCode::OK, "{}", expiring.body);
    eventually(Duration::from_secs(10), || async {
        let r = h.api.get("/v1/api-keys", &locked.key).await;
        (r.status == StatusCode::UNAUTHORIZED).then_some(())
    })
    .await
    .expect("the admin key expires");

    let path = format!("/v1/tenants/{}/recovery-key", locked.id);
    assert_problem(
        &h.api.post(&path, &h.key, json!({})).await,
        StatusCode::FORBIDDEN,
        "root key",
    );
    assert_problem(
        &h.api
            .post(
                "/v1/tenants/ten_01JDQ8ZK3M4N5P6Q7R8S9T0V1W/recovery-key",
                &h.root,
                json!({}),
            )
            .await,
        StatusCode::NOT_FOUND,
        "tenant not found",
    );
    h.api
        .post(
            "/v1/tenants/key_01JDQ8ZK3M4N5P6Q7R8S9T0V1W/recovery-key",
            &h.root,
            json!({}),
        )
        .await
        .assert_field(StatusCode::BAD_REQUEST, "id");

    let recovered = h.api.post(&path, &h.root, json!({})).await;
    assert_eq!(recovered.status, StatusCode::CREATED, "{}", recovered.body);
    assert_eq!(recovered.body["scopes"], json!(["admin"]));
    assert_eq!(recovered.body["status"], json!("active"));
    let key = recovered.body["key"]
        .as_str()
        .expect("shown once")
        .to_owned();
    let recovery_id = recovered.body["id"].as_str().expect("id").to_owned();
    let listed = h.api.get("/v1/api-keys", &key).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let ids: Vec<&str> = listed.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|k| k["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [recovery_id.as_str(), admin_id.as_str()],
        "its own tenant's keys"
    );
    assert!(
        !listed.body.to_string().contains(&key[8..]),
        "the secret is shown once"
    );
    create_key(&h, &key, "new admin", json!(["admin"])).await;
    let harness_admin = first_admin_id(&h, &h.key).await;
    assert_problem(
        &h.api
            .get(&format!("/v1/api-keys/{harness_admin}"), &key)
            .await,
        StatusCode::NOT_FOUND,
        "not found",
    );
}

/// Item 14: an `Authorization` header of another scheme does not hide `x-api-key`.
async fn basic_authorization_does_not_hide_x_api_key(backend: Backend) {
    let h = Harness::start(backend).await;
    let send = |authorization: Option<String>, x_api_key: Option<String>| {
        let mut req = h.api.http.get(h.api.url("/v1/api-keys"));
        if let Some(value) = authorization {
            req = req.header("authorization", value);
        }
        if let Some(value) = x_api_key {
            req = req.header("x-api-key", value);
        }
        async move {
            let resp = req.send().await.expect("send");
            let status = resp.status();
            let body: Value = resp.json().await.expect("json");
            (status, body)
        }
    };
    let basic = "Basic dXNlcjpwYXNzd29yZA==".to_owned();
    let (status, body) = send(Some(basic.clone()), Some(h.key.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"].as_array().map(Vec::len), Some(1));
    let (status, body) = send(Some(basic), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["detail"].as_str().unwrap_or("").contains("no API key"));
    // A Bearer token is the key the request presents, whatever `x-api-key` says.
    let (status, _) = send(Some(format!("Bearer {}", h.key)), Some("swb_nope".into())).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(Some("Bearer swb_nope".into()), Some(h.key.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

/// Item 16: names with bidi controls or other control/format characters are refused, naming
/// the field, for keys (create and rename) and tenants.
async fn names_with_format_characters_are_refused(backend: Backend) {
    let h = Harness::start(backend).await;
    let admin = h.key.clone();
    let (id, _) = create_key(&h, &admin, "Zoë 日本 🚀", json!(["webhooks:read"])).await;
    for c in [
        '\u{202A}',
        '\u{202E}',
        '\u{2066}',
        '\u{2069}',
        '\u{200E}',
        '\u{200F}',
        '\u{061C}',
        '\u{200B}',
        '\u{2060}',
        '\u{FEFF}',
        '\u{00AD}',
        '\u{2028}',
        '\u{E0041}',
        '\u{0007}',
    ] {
        let name = format!("invoice{c}fdp.exe");
        let what = format!("U+{:04X}", u32::from(c));
        let created = h
            .api
            .post(
                "/v1/api-keys",
                &admin,
                json!({"name": name, "scopes": ["webhooks:read"]}),
            )
            .await;
        created.assert_field(StatusCode::UNPROCESSABLE_ENTITY, "name");
        assert!(
            created.body["detail"]
                .as_str()
                .unwrap_or("")
                .contains(&what)
        );
        patch(&h, &admin, &id, json!({"name": name}))
            .await
            .assert_field(StatusCode::UNPROCESSABLE_ENTITY, "name");
        h.api
            .post("/v1/tenants", &h.root, json!({"name": name}))
            .await
            .assert_field(StatusCode::UNPROCESSABLE_ENTITY, "name");
    }
    let kept = h.api.get(&format!("/v1/api-keys/{id}"), &admin).await;
    assert_eq!(kept.body["name"], json!("Zoë 日本 🚀"));
    let tenant = h
        .api
        .post("/v1/tenants", &h.root, json!({"name": "Zoë 日本 🚀"}))
        .await;
    assert_eq!(tenant.status, StatusCode::CREATED, "{}", tenant.body);
}

switchboard_tests::on_both_backends!(
    a_key_grants_only_scopes_it_holds,
    rolled_and_expired_keys_stay_dead,
    the_last_admin_key_cannot_be_removed,
    racing_removals_keep_one_admin_key,
    root_issues_a_recovery_key,
    basic_authorization_does_not_hide_x_api_key,
    names_with_format_characters_are_refused,
);
