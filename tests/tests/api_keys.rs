//! Tenants and API keys end to end over real HTTP, on the embedded adapters and on moto.

use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::time::Duration;
use switchboard::tenancy::key_format::{self, KeyHash};
use switchboard_tests::{Backend, TestServer, app, eventually};

struct Api {
    server: TestServer,
}

struct Reply {
    status: StatusCode,
    body: Value,
    content_type: String,
}

impl Api {
    async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.server.http.request(method, self.server.url(path));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = resp.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("json body")
        };
        Reply {
            status,
            body,
            content_type,
        }
    }

    async fn get(&self, path: &str, key: &str) -> Reply {
        self.call(Method::GET, path, Some(key), None).await
    }

    async fn post(&self, path: &str, key: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(key), Some(body)).await
    }
}

fn assert_problem(reply: &Reply, status: StatusCode, detail_contains: &str) {
    assert_eq!(reply.status, status, "body: {}", reply.body);
    assert_eq!(reply.content_type, "application/problem+json");
    assert_eq!(reply.body["status"], json!(status.as_u16()));
    let detail = reply.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(detail_contains),
        "detail `{detail}` lacks `{detail_contains}`"
    );
}

async fn start(backend: Backend) -> (Api, String, switchboard_tests::TestApp) {
    let root = key_format::generate();
    let test_app = app(backend, Some(KeyHash::of(root.expose_secret()))).await;
    let server = TestServer::start(switchboard::api::router(test_app.app.clone())).await;
    (Api { server }, root.expose_secret().to_owned(), test_app)
}

async fn new_tenant(api: &Api, root: &str, name: &str) -> (String, String) {
    let reply = api.post("/v1/tenants", root, json!({"name": name})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let key = reply.body["api_key"]["key"]
        .as_str()
        .expect("first key shown")
        .to_owned();
    assert_eq!(reply.body["api_key"]["scopes"], json!(["admin"]));
    (
        reply.body["tenant"]["id"].as_str().expect("id").to_owned(),
        key,
    )
}

async fn lifecycle(backend: Backend) {
    let (api, root, test_app) = start(backend).await;

    // Root key: tenants only.
    let (tenant_a, admin_a) = new_tenant(&api, &root, "Acme").await;
    let (_tenant_b, admin_b) = new_tenant(&api, &root, "Globex").await;
    let tenants = api.get("/v1/tenants", &root).await;
    assert_eq!(tenants.status, StatusCode::OK);
    assert_eq!(tenants.body["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        tenants.body["data"][0]["name"],
        json!("Globex"),
        "newest first"
    );
    assert_problem(
        &api.get("/v1/api-keys", &root).await,
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
        .call(
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
        .call(
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
    test_app.app.auth.flush_usage().await;
    let used = eventually(Duration::from_secs(5), || async {
        let v = api
            .get(&format!("/v1/api-keys/{reader_id}"), &admin_a)
            .await;
        test_app.app.auth.flush_usage().await;
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
        .call(
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
        &api.call(Method::GET, "/v1/api-keys", None, None).await,
        StatusCode::UNAUTHORIZED,
        "no API key",
    );
    let _ = tenant_a;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_lifecycle_on_embedded_adapters() {
    lifecycle(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_lifecycle_on_aws_adapters() {
    lifecycle(Backend::Aws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_problem_json_naming_the_field() {
    let (api, root, _app) = start(Backend::Sqlite).await;
    let (_, admin) = new_tenant(&api, &root, "Initech").await;
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
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert_eq!(reply.content_type, "application/problem+json");
        let fields: Vec<&str> = reply.body["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(|f| f["field"].as_str()).collect())
            .unwrap_or_default();
        assert!(
            fields.contains(&field),
            "{body}: expected field {field}, got {fields:?}"
        );
    }

    let raw = |body: &'static str, ct: &'static str| {
        api.server
            .http
            .post(api.server.url("/v1/api-keys"))
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
        .post(api.server.url("/v1/api-keys"))
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
