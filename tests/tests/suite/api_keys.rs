//! Tenants and API keys end to end over real HTTP, on the embedded adapters and on moto.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use switchboard::tenancy::key_format;
use switchboard_tests::{Backend, Harness, assert_problem, eventually};

async fn lifecycle(backend: Backend) {
    let h = Harness::start(backend).await;
    let (api, root) = (&h.api, h.root.as_str());

    // Root key: tenants only. The harness's tenant is the first; Globex the second.
    let admin_a = h.tenant.key.clone();
    let globex = h.new_tenant("Globex").await;
    let admin_b = globex.key.clone();
    let tenants = api.get("/v1/tenants", root).await;
    assert_eq!(tenants.status, StatusCode::OK);
    assert_eq!(tenants.body["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        tenants.body["data"][0]["name"],
        json!("Globex"),
        "newest first"
    );
    let ids: Vec<&Value> = tenants.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|t| &t["id"])
        .collect();
    assert_eq!(ids, [&json!(globex.id), &json!(h.tenant.id)]);
    assert_problem(
        &api.get("/v1/api-keys", root).await,
        StatusCode::FORBIDDEN,
        "root key",
    );
    assert_problem(
        &api.get("/v1/tenants", &admin_a).await,
        StatusCode::FORBIDDEN,
        "root key",
    );

    // Create a narrow key; the secret appears once and never again.
    let created = api
        .post(
            "/v1/api-keys",
            &admin_a,
            json!({"name": "reader", "scopes": ["webhooks:read", "webhooks:read"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let reader = created.body["key"].as_str().expect("key").to_owned();
    let reader_id = created.body["id"].as_str().expect("id").to_owned();
    assert!(key_format::check(&reader).is_ok());
    assert_eq!(created.body["start"], json!(&reader[..8]));
    assert_eq!(
        created.body["scopes"],
        json!(["webhooks:read"]),
        "deduplicated"
    );
    let viewed = api
        .get(&format!("/v1/api-keys/{reader_id}"), &admin_a)
        .await;
    assert_eq!(viewed.status, StatusCode::OK);
    let text = viewed.body.to_string();
    assert!(viewed.body.get("key").is_none() && viewed.body.get("hash").is_none());
    assert!(!text.contains(&reader[8..]), "the secret never comes back");

    // Scopes: the reader may not manage keys.
    assert_problem(
        &api.get("/v1/api-keys", &reader).await,
        StatusCode::FORBIDDEN,
        "api_keys:write",
    );

    // Another tenant's key id is 404, never 403.
    assert_problem(
        &api.get(&format!("/v1/api-keys/{reader_id}"), &admin_b)
            .await,
        StatusCode::NOT_FOUND,
        "not found",
    );
    assert_problem(
        &api.post(
            &format!("/v1/api-keys/{reader_id}/revoke"),
            &admin_b,
            json!({}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not found",
    );

    // Pagination: limit 1 walks every key once; a cursor is bound to its tenant.
    let mut seen = Vec::new();
    let mut path = "/v1/api-keys?limit=1".to_owned();
    loop {
        let page = api.get(&path, &admin_a).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let data = page.body["data"].as_array().expect("data").clone();
        assert!(data.len() <= 1);
        seen.extend(
            data.iter()
                .map(|k| k["id"].as_str().unwrap_or_default().to_owned()),
        );
        match page.body["next_cursor"].as_str() {
            Some(cursor) => {
                let foreign = api
                    .get(&format!("/v1/api-keys?cursor={cursor}"), &admin_b)
                    .await;
                assert_problem(&foreign, StatusCode::BAD_REQUEST, "cursor");
                path = format!("/v1/api-keys?limit=1&cursor={cursor}");
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 2, "admin + reader, each once: {seen:?}");
    assert_eq!(seen[0], reader_id, "newest first");

    // Disable, re-enable, rescope.
    let disabled = api
        .request(
            Method::PATCH,
            &format!("/v1/api-keys/{reader_id}"),
            Some(&admin_a),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(disabled.body["status"], json!("disabled"));
    assert_problem(
        &api.get("/v1/api-keys", &reader).await,
        StatusCode::UNAUTHORIZED,
        "disabled",
    );
    let enabled = api
        .request(
            Method::PATCH,
            &format!("/v1/api-keys/{reader_id}"),
            Some(&admin_a),
            Some(json!({"enabled": true, "scopes": ["api_keys:write"], "name": "manager"})),
        )
        .await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.body);
    assert_eq!(enabled.body["name"], json!("manager"));
    assert_eq!(
        api.get("/v1/api-keys", &reader).await.status,
        StatusCode::OK,
        "rescope is immediate"
    );

    // Usage is counted (flushed in the background, so poll).
    h.app.auth.flush_usage().await;
    let used = eventually(Duration::from_secs(5), || async {
        let v = api
            .get(&format!("/v1/api-keys/{reader_id}"), &admin_a)
            .await;
        h.app.auth.flush_usage().await;
        (v.body["usage_count"].as_u64().unwrap_or(0) >= 1 && v.body["last_used_at"].is_string())
            .then_some(v)
    })
    .await;
    assert!(used.is_some(), "usage_count and last_used_at recorded");

    // Roll with no grace: the old key expires at once, the new one works with the same settings.
    let rolled = api
        .post(
            &format!("/v1/api-keys/{reader_id}/roll"),
            &admin_a,
            json!({"grace_seconds": 0}),
        )
        .await;
    assert_eq!(rolled.status, StatusCode::CREATED, "{}", rolled.body);
    let successor = rolled.body["key"].as_str().expect("new key").to_owned();
    assert_eq!(rolled.body["scopes"], json!(["api_keys:write"]));
    assert_eq!(rolled.body["name"], json!("manager"));
    assert_ne!(successor, reader);
    assert_problem(
        &api.get("/v1/api-keys", &reader).await,
        StatusCode::UNAUTHORIZED,
        "expired",
    );
    assert_eq!(
        api.get("/v1/api-keys", &successor).await.status,
        StatusCode::OK
    );
    let successor_id = rolled.body["id"].as_str().expect("id").to_owned();

    // Roll with grace: both keys work during it.
    let graced = api
        .post(
            &format!("/v1/api-keys/{successor_id}/roll"),
            &admin_a,
            json!({}),
        )
        .await;
    assert_eq!(graced.status, StatusCode::CREATED);
    let third = graced.body["key"].as_str().expect("key").to_owned();
    assert_eq!(
        api.get("/v1/api-keys", &successor).await.status,
        StatusCode::OK,
        "old key in grace"
    );
    assert_eq!(api.get("/v1/api-keys", &third).await.status, StatusCode::OK);

    // Revoke: 401 that says so, at once.
    let third_id = graced.body["id"].as_str().expect("id").to_owned();
    let revoked = api
        .post(
            &format!("/v1/api-keys/{third_id}/revoke"),
            &admin_a,
            json!({}),
        )
        .await;
    assert_eq!(revoked.body["status"], json!("revoked"));
    assert_problem(
        &api.get("/v1/api-keys", &third).await,
        StatusCode::UNAUTHORIZED,
        "revoked",
    );
    assert_eq!(
        api.post(
            &format!("/v1/api-keys/{third_id}/roll"),
            &admin_a,
            json!({})
        )
        .await
        .status,
        StatusCode::CONFLICT
    );

    // Expiry is exact, even while the key is cached.
    let expiring_at = chrono::Utc::now() + chrono::Duration::seconds(2);
    let short = api
        .post(
            "/v1/api-keys",
            &admin_a,
            json!({"name": "short", "scopes": ["api_keys:write"], "expires_at": expiring_at}),
        )
        .await;
    let short_key = short.body["key"].as_str().expect("key").to_owned();
    assert_eq!(
        api.get("/v1/api-keys", &short_key).await.status,
        StatusCode::OK
    );
    let expired = eventually(Duration::from_secs(6), || async {
        let r = api.get("/v1/api-keys", &short_key).await;
        (r.status == StatusCode::UNAUTHORIZED).then_some(r)
    })
    .await
    .expect("the key expires");
    assert_problem(&expired, StatusCode::UNAUTHORIZED, "expired");

    // Delete: gone for the owner (404) and for authentication (401 unknown).
    let short_id = short.body["id"].as_str().expect("id");
    let deleted = api
        .request(
            Method::DELETE,
            &format!("/v1/api-keys/{short_id}"),
            Some(&admin_a),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_problem(
        &api.get(&format!("/v1/api-keys/{short_id}"), &admin_a).await,
        StatusCode::NOT_FOUND,
        "not found",
    );
    assert_problem(
        &api.get("/v1/api-keys", &short_key).await,
        StatusCode::UNAUTHORIZED,
        "unknown",
    );

    // Keys that fail offline checks never reach the store.
    assert_problem(
        &api.get("/v1/api-keys", "swb_nope").await,
        StatusCode::UNAUTHORIZED,
        "not a Switchboard API key",
    );
    let mut typo = admin_a.clone().into_bytes();
    typo[12] = if typo[12] == b'x' { b'y' } else { b'x' };
    assert_problem(
        &api.get("/v1/api-keys", &String::from_utf8(typo).expect("ascii"))
            .await,
        StatusCode::UNAUTHORIZED,
        "checksum",
    );
    assert_problem(
        &api.request(Method::GET, "/v1/api-keys", None, None).await,
        StatusCode::UNAUTHORIZED,
        "no API key",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_problem_json_naming_the_field() {
    let h = Harness::start(Backend::Sqlite).await;
    let (api, admin) = (&h.api, h.tenant.key.clone());
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({"name": "x", "scopes": ["webhooks:delete"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "scopes[0]",
        ),
        (
            json!({"name": "x", "scopes": ["admin"], "colour": "red"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "colour",
        ),
        (
            json!({"scopes": ["admin"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (
            json!({"name": "x", "scopes": "admin"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "scopes",
        ),
        (
            json!({"name": "x", "scopes": []}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "scopes",
        ),
        (
            json!({"name": "  ", "scopes": ["admin"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (
            json!({"name": "x", "scopes": ["admin"], "expires_at": "2001-01-01T00:00:00Z"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "expires_at",
        ),
        (
            json!({"name": "x", "scopes": ["admin"], "expires_at": "tomorrow"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "expires_at",
        ),
        (json!([1, 2]), StatusCode::UNPROCESSABLE_ENTITY, "body"),
    ];
    for (body, status, field) in cases {
        let reply = api.post("/v1/api-keys", &admin, body.clone()).await;
        reply.assert_field(status, field);
    }

    let raw = |body: &'static str, ct: &'static str| {
        api.http
            .post(api.url("/v1/api-keys"))
            .bearer_auth(&admin)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let malformed = raw("{\"name\": ", "application/json").await.expect("send");
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let form = raw("name=x", "application/x-www-form-urlencoded")
        .await
        .expect("send");
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = format!(
        "{{\"name\": \"{}\", \"scopes\": [\"admin\"]}}",
        "x".repeat(2 * 1024 * 1024)
    );
    // A fresh client: the server answers 413 without reading the rest and closes that connection.
    let too_big = reqwest::Client::new()
        .post(api.url("/v1/api-keys"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("send");
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);

    for (path, status, field) in [
        (
            "/v1/api-keys/ep_01JDQ8ZK3M4N5P6Q7R8S9T0V1W",
            StatusCode::BAD_REQUEST,
            "id",
        ),
        ("/v1/api-keys/key_nonsense", StatusCode::BAD_REQUEST, "id"),
        ("/v1/api-keys?limit=0", StatusCode::BAD_REQUEST, "limit"),
        ("/v1/api-keys?limit=abc", StatusCode::BAD_REQUEST, "limit"),
        ("/v1/api-keys?cursor=%%%", StatusCode::BAD_REQUEST, "cursor"),
        (
            "/v1/api-keys?cursor=eyJvIjoieCJ9",
            StatusCode::BAD_REQUEST,
            "cursor",
        ),
    ] {
        let reply = api.get(path, &admin).await;
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
        assert_eq!(reply.body["errors"][0]["field"], json!(field), "{path}");
    }
    let unknown = api
        .get("/v1/api-keys/key_01JDQ8ZK3M4N5P6Q7R8S9T0V1W", &admin)
        .await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, "not found");
    let roll = api
        .post(
            "/v1/api-keys/key_01JDQ8ZK3M4N5P6Q7R8S9T0V1W/roll",
            &admin,
            json!({"grace_seconds": -5}),
        )
        .await;
    assert_eq!(roll.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_problem(
        &api.get("/nowhere", &admin).await,
        StatusCode::NOT_FOUND,
        "no such route",
    );
}

switchboard_tests::on_both_backends!(lifecycle);
