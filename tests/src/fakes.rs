//! Loopback fakes of the providers actions call, on one port, each checking auth and body
//! shape as the provider documents it: Twilio (HTTP basic auth `sid:token`, a form with `To`,
//! `From` or `MessagingServiceSid`, `Body`; answers 201), SendGrid (bearer key, JSON
//! personalizations; answers 202), Slack (incoming webhook under `/services/`, JSON `text`;
//! answers `ok` or a queued error text) and a generic REST API under `/api/` or `/demo-api/` (the `X-Api-Key`
//! header; answers 200). A wrong credential gets the provider's 401; a wrong shape is recorded
//! as refused and fails the test that reads what the fakes saw.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method as AxMethod, StatusCode as AxStatus, Uri};
use axum::response::IntoResponse;
use base64::Engine as _;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// One request a fake saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Default)]
struct FakeState {
    /// The credential each provider accepts now: `twilio` → "sid:token", `sendgrid` → key,
    /// `rest` → header value.
    accept: HashMap<&'static str, String>,
    /// Queued Slack answers (`ok` once they run out).
    slack: VecDeque<(u16, &'static str)>,
    seen: Vec<Seen>,
    /// What a fake refused and why (a bad shape is a test failure).
    refused: Vec<String>,
}

/// The loopback fakes of every provider, on one port.
#[derive(Clone)]
pub struct Fakes {
    pub base: String,
    state: Arc<Mutex<FakeState>>,
}

pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

impl Fakes {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let shared = Arc::clone(&state);
        let app = axum::Router::new().fallback(
            move |method: AxMethod, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = Arc::clone(&shared);
                async move { answer(&state, method, uri, headers, body) }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fakes");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base: format!("http://{addr}"),
            state,
        }
    }

    pub fn accept(&self, provider: &'static str, credential: String) {
        self.state
            .lock()
            .expect("lock")
            .accept
            .insert(provider, credential);
    }

    pub fn slack_answers(&self, answers: impl IntoIterator<Item = (u16, &'static str)>) {
        self.state.lock().expect("lock").slack.extend(answers);
    }

    pub fn seen(&self, prefix: &str) -> Vec<Seen> {
        let state = self.state.lock().expect("lock");
        assert!(state.refused.is_empty(), "refused: {:?}", state.refused);
        state
            .seen
            .iter()
            .filter(|s| s.path.starts_with(prefix))
            .cloned()
            .collect()
    }

    pub async fn wait_for(&self, prefix: &str, n: usize) -> Vec<Seen> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let seen = self.seen(prefix);
            if seen.len() >= n {
                return seen;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{prefix}: {} of {n} requests",
                seen.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The fakes' behaviour, per provider, as each documents its API.
fn answer(
    state: &Mutex<FakeState>,
    method: AxMethod,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let path = uri.path().to_owned();
    let mut s = state.lock().expect("lock");
    s.seen.push(Seen {
        method: method.to_string(),
        path: path.clone(),
        headers: headers.clone(),
        body: body.clone(),
    });
    if let Some(rest) = path.strip_prefix("/2010-04-01/Accounts/") {
        let expected = s.accept.get("twilio").cloned().unwrap_or_default();
        let sid = rest.trim_end_matches("/Messages.json");
        let auth = header(&headers, "authorization");
        let decoded = auth
            .strip_prefix("Basic ")
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        if decoded != expected || !expected.starts_with(&format!("{sid}:")) {
            // A wrong credential is what rotation tests; Twilio answers 401.
            return (AxStatus::UNAUTHORIZED, "{\"code\":20003}").into_response();
        }
        if method != AxMethod::POST
            || header(&headers, "content-type") != "application/x-www-form-urlencoded"
        {
            return refuse(
                &mut s,
                format!("twilio: {method} {:?}", headers),
                AxStatus::BAD_REQUEST,
            );
        }
        let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
        if !form.contains_key("To")
            || !form.contains_key("Body")
            || !(form.contains_key("From") || form.contains_key("MessagingServiceSid"))
        {
            return refuse(
                &mut s,
                format!("twilio form: {form:?}"),
                AxStatus::BAD_REQUEST,
            );
        }
        return (
            AxStatus::CREATED,
            "{\"sid\":\"SM00000000000000000000000000000000\"}",
        )
            .into_response();
    }
    if path == "/v3/mail/send" {
        let expected = format!(
            "Bearer {}",
            s.accept.get("sendgrid").cloned().unwrap_or_default()
        );
        if header(&headers, "authorization") != expected {
            return AxStatus::UNAUTHORIZED.into_response();
        }
        let parsed: Value = serde_json::from_slice(&body).unwrap_or_default();
        let ok = parsed["personalizations"][0]["to"][0]["email"].is_string()
            && parsed["from"]["email"].is_string()
            && parsed["subject"].is_string()
            && parsed["content"][0]["type"].is_string()
            && parsed["content"][0]["value"].is_string();
        if !ok || header(&headers, "content-type") != "application/json" {
            return refuse(
                &mut s,
                format!("sendgrid body: {parsed}"),
                AxStatus::BAD_REQUEST,
            );
        }
        return AxStatus::ACCEPTED.into_response();
    }
    if path.starts_with("/services/") {
        let parsed: Value = serde_json::from_slice(&body).unwrap_or_default();
        if !parsed["text"].is_string() {
            return (AxStatus::BAD_REQUEST, "invalid_payload").into_response();
        }
        let (status, text) = s.slack.pop_front().unwrap_or((200, "ok"));
        return (AxStatus::from_u16(status).expect("status"), text).into_response();
    }
    if path.starts_with("/api/") || path.starts_with("/demo-api/") {
        let expected = s.accept.get("rest").cloned().unwrap_or_default();
        if header(&headers, "x-api-key") != expected {
            return AxStatus::UNAUTHORIZED.into_response();
        }
        return (AxStatus::OK, "{\"received\":true}").into_response();
    }
    refuse(&mut s, format!("unknown path {path}"), AxStatus::NOT_FOUND)
}

/// Records why a fake refused a request (a test failure: the request had the wrong shape).
fn refuse(s: &mut FakeState, why: String, status: AxStatus) -> axum::response::Response {
    s.refused.push(why);
    status.into_response()
}
