//! The one client and harness every integration test drives the API through: a [`Reply`] for any
//! request (with any key, or none), a [`TenantClient`] that sends its tenant's admin key, and a
//! [`Harness`] that starts an app on a backend (optionally with tuned settings) behind a real
//! HTTP server, creates a tenant with the root key, and runs a loopback receiver for deliveries.
//! [`on_both_backends!`](crate::on_both_backends) turns an `async fn name(backend: Backend)` into
//! one test per adapter set.

use crate::receiver::Receiver;
use crate::{Backend, TestApp, TestServer, Worker, app_with, eventually, test_settings};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use switchboard::app::{App, Settings};
use switchboard::tenancy::key_format::{self, KeyHash};

/// How long a test waits for something the worker does (a delivery, an attempt, a status).
pub const WAIT: Duration = Duration::from_secs(20);

/// Asserts a problem+json answer with `status` whose `detail` contains `detail_contains`.
#[track_caller]
pub fn assert_problem(reply: &Reply, status: StatusCode, detail_contains: &str) {
    assert_eq!(reply.status, status, "body: {}", reply.body);
    assert_eq!(reply.content_type, "application/problem+json");
    assert_eq!(reply.body["status"], json!(status.as_u16()));
    let detail = reply.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(detail_contains),
        "detail `{detail}` lacks `{detail_contains}`"
    );
}

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    /// The JSON body (`null` when the body is empty).
    pub body: Value,
    pub content_type: String,
    pub headers: http::HeaderMap,
}

impl Reply {
    /// Reads an answer: its JSON body (`null` when empty, the text itself when not JSON) and
    /// the raw text.
    pub async fn read(resp: reqwest::Response) -> (Self, String) {
        let status = resp.status();
        let headers = resp.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = resp.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()))
        };
        let reply = Self {
            status,
            body,
            content_type,
            headers,
        };
        (reply, text)
    }

    /// The `field` of every entry of a problem's `errors`.
    pub fn fields(&self) -> Vec<&str> {
        self.body["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(|f| f["field"].as_str()).collect())
            .unwrap_or_default()
    }

    /// Asserts a problem+json answer with `status` that names `field` among its errors.
    #[track_caller]
    pub fn assert_field(&self, status: StatusCode, field: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(
            self.content_type, "application/problem+json",
            "{}",
            self.body
        );
        assert!(
            self.fields().contains(&field),
            "expected field `{field}`, got {:?}: {}",
            self.fields(),
            self.body
        );
    }
}

impl TestServer {
    /// POSTs `body` to hook `integration` as GitHub sends a push, signed with `secret` (or a
    /// wrong one) by the same signer `switchboard sign` uses.
    pub async fn github_push(&self, integration: &str, secret: &str, body: &Value) -> Reply {
        let signed = switchboard::signing::inbound::sign_request(
            "github",
            secret,
            &Value::Null,
            body.to_string().as_bytes(),
            "",
            chrono::Utc::now().timestamp(),
        )
        .expect("sign");
        let request = self
            .http
            .post(self.url(&format!("/hooks/{integration}")))
            .headers(signed.headers)
            .header("x-github-event", "push")
            .body(signed.body);
        Reply::read(request.send().await.expect("hook")).await.0
    }

    /// Sends a request with `key` as bearer token (or no key) and a JSON body (or none).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.http.request(method, self.url(path));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request");
        let (reply, text) = Reply::read(resp).await;
        if !text.is_empty()
            && let Err(e) = serde_json::from_str::<Value>(&text)
        {
            panic!("{path}: {} body is not JSON ({e}): {text}", reply.status);
        }
        reply
    }

    pub async fn get(&self, path: &str, key: &str) -> Reply {
        self.request(Method::GET, path, Some(key), None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(key), Some(body))
            .await
    }
}

/// A tenant's view of a running API: its id, its admin key and request helpers.
#[derive(Clone)]
pub struct TenantClient {
    pub api: TestServer,
    pub id: String,
    pub key: String,
}

impl TenantClient {
    /// Creates a tenant named `name` with the root key and keeps its first (admin) key.
    pub async fn create(api: TestServer, root: &str, name: &str) -> Self {
        let reply = api.post("/v1/tenants", root, json!({"name": name})).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        assert_eq!(reply.body["api_key"]["scopes"], json!(["admin"]));
        let key = reply.body["api_key"]["key"]
            .as_str()
            .expect("first key shown")
            .to_owned();
        let id = reply.body["tenant"]["id"].as_str().expect("id").to_owned();
        Self { api, id, key }
    }

    /// Sends a request with this tenant's key.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.api.request(method, path, Some(&self.key), body).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    /// GETs `path`, whatever the answer.
    pub async fn fetch(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    /// GETs `path`, expecting 200; returns the body.
    pub async fn get(&self, path: &str) -> Value {
        let reply = self.fetch(path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        reply.body
    }

    /// Creates an endpoint for `url` with `extra` fields; returns (id, secret).
    pub async fn endpoint_at(&self, url: String, extra: Value) -> (String, String) {
        let mut body = json!({"url": url});
        if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
            b.extend(extra);
        }
        let created = self.post("/v1/webhooks", body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        (
            created.body["id"].as_str().expect("id").to_owned(),
            created.body["secret"].as_str().expect("secret").to_owned(),
        )
    }

    /// Publishes an event; asserts 202 when deliveries were queued and 200 when nothing matched.
    /// Returns the answer (`id`, `matched`).
    pub async fn publish(&self, event_type: &str, data: Value) -> Value {
        let reply = self
            .post("/v1/events", json!({"type": event_type, "data": data}))
            .await;
        let expected = if reply.body["matched"] == json!(0) {
            StatusCode::OK
        } else {
            StatusCode::ACCEPTED
        };
        assert_eq!(
            reply.status, expected,
            "202 when deliveries are queued, 200 when nothing matched: {}",
            reply.body
        );
        reply.body
    }

    /// Publishes an event that must match at least one endpoint (202); returns its id.
    pub async fn publish_id(&self, event_type: &str) -> String {
        let reply = self
            .post("/v1/events", json!({"type": event_type, "data": {}}))
            .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
        reply.body["id"].as_str().expect("id").to_owned()
    }

    /// Waits until endpoint `ep` has logged at least `n` attempts; returns the attempt list.
    pub async fn attempts(&self, ep: &str, n: usize) -> Value {
        self.attempts_within(ep, n, WAIT).await
    }

    pub async fn attempts_within(&self, ep: &str, n: usize, within: Duration) -> Value {
        eventually(within, || async {
            let a = self.get(&format!("/v1/webhooks/{ep}/attempts")).await;
            (a["data"].as_array().map(Vec::len) >= Some(n)).then_some(a)
        })
        .await
        .unwrap_or_else(|| panic!("{n} attempts for {ep} within {within:?}"))
    }

    /// Waits until event `id`'s first delivery has `status`; returns the event.
    pub async fn delivery_status(&self, id: &str, status: &str, within: Duration) -> Value {
        let found = eventually(within, || async {
            let e = self.get(&format!("/v1/events/{id}")).await;
            (e["deliveries"][0]["status"] == json!(status)).then_some(e)
        })
        .await;
        match found {
            Some(event) => event,
            None => panic!(
                "{id}: no delivery `{status}` within {within:?}: {}",
                self.get(&format!("/v1/events/{id}")).await
            ),
        }
    }
}

/// An app on one backend, served over HTTP, with a root key, one tenant and a receiver.
/// Derefs to the tenant's client.
pub struct Harness {
    pub backend: Backend,
    pub app: Arc<App>,
    pub api: TestServer,
    /// The root key (tenants only).
    pub root: String,
    pub tenant: TenantClient,
    pub receiver: Receiver,
    _guard: TestApp,
}

impl std::ops::Deref for Harness {
    type Target = TenantClient;
    fn deref(&self) -> &TenantClient {
        &self.tenant
    }
}

impl Harness {
    /// The test settings ([`test_settings`]) on `backend`.
    pub async fn start(backend: Backend) -> Self {
        Self::with(backend, |_| {}).await
    }

    /// The test settings on `backend`, changed by `tune` first.
    pub async fn with(backend: Backend, tune: impl FnOnce(&mut Settings)) -> Self {
        let root = key_format::generate();
        let mut settings = test_settings(Some(KeyHash::of(root.expose_secret())));
        tune(&mut settings);
        let guard = app_with(backend, settings).await;
        let app = Arc::clone(&guard.app);
        let api = TestServer::start(switchboard::api::router(Arc::clone(&app))).await;
        let root = root.expose_secret().to_owned();
        let tenant = TenantClient::create(api.clone(), &root, "test tenant").await;
        Self {
            backend,
            app,
            api,
            root,
            tenant,
            receiver: Receiver::start().await,
            _guard: guard,
        }
    }

    /// Every byte the app's store holds (the SQLite files, or a scan of the DynamoDB table).
    pub async fn raw_store(&self) -> Vec<u8> {
        self._guard.raw.dump().await
    }

    /// Another tenant on the same app.
    pub async fn new_tenant(&self, name: &str) -> TenantClient {
        TenantClient::create(self.api.clone(), &self.root, name).await
    }

    /// The embedded app's data directory (its SQLite file and local key ring); `None` on AWS.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self._guard.data_dir()
    }

    /// Starts a delivery worker on the app's queue.
    pub fn worker(&self) -> Worker {
        Worker::start(&self.app)
    }

    /// Creates an endpoint on the receiver's `path`; returns (id, secret).
    pub async fn endpoint(&self, path: &str, extra: Value) -> (String, String) {
        self.endpoint_at(self.receiver.url(path), extra).await
    }
}

/// Turns each `async fn name(backend: Backend)` named into one test per adapter set:
/// `sqlite::name` (the embedded SQLite file) and `aws::name` (DynamoDB, SQS and KMS on moto).
/// Invoke once per test file, after the functions.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::Backend::Sqlite).await;
            })*
        }
        mod aws {
            $(#[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::Backend::Aws).await;
            })*
        }
    };
}
