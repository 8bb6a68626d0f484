//! A real HTTP receiver on loopback for delivery tests: records every request it gets and answers
//! from a per-path script (200 once the script runs out).

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16),
    /// A status with a `Retry-After` header (seconds).
    RetryAfter(u16, u64),
    /// Never answers (until the client gives up).
    Hang,
    /// 200 with a body that never ends.
    Endless,
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
    pub wall: std::time::SystemTime,
}

#[derive(Default)]
struct Inner {
    script: HashMap<String, VecDeque<Reply>>,
    seen: Vec<Received>,
}

/// The receiver; cheap to clone.
#[derive(Clone)]
pub struct Receiver {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = axum::Router::new()
            .route("/{*path}", axum::routing::post(handle))
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base: format!("http://{addr}"),
            inner,
        }
    }

    /// The URL of `path` on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    /// Queues answers for `path`.
    pub fn script(&self, path: &str, replies: impl IntoIterator<Item = Reply>) {
        let mut inner = self.inner.lock().expect("lock");
        inner
            .script
            .entry(format!("/{}", path.trim_start_matches('/')))
            .or_default()
            .extend(replies);
    }

    /// Everything received on `path` so far.
    pub fn seen(&self, path: &str) -> Vec<Received> {
        let path = format!("/{}", path.trim_start_matches('/'));
        self.inner
            .lock()
            .expect("lock")
            .seen
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Waits until `path` has received at least `n` requests.
    pub async fn wait_for(&self, path: &str, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let seen = self.seen(path);
            if seen.len() >= n {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "{path}: {} of {n} requests within {within:?}",
                seen.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/{path}");
    let reply = {
        let mut inner = inner.lock().expect("lock");
        inner.seen.push(Received {
            path: path.clone(),
            headers,
            body,
            at: Instant::now(),
            wall: std::time::SystemTime::now(),
        });
        inner.script.get_mut(&path).and_then(VecDeque::pop_front)
    };
    match reply.unwrap_or(Reply::Status(200)) {
        Reply::Status(code) => (
            StatusCode::from_u16(code).unwrap_or(StatusCode::OK),
            format!("answer {code}"),
        )
            .into_response(),
        Reply::RetryAfter(code, secs) => (
            StatusCode::from_u16(code).unwrap_or(StatusCode::TOO_MANY_REQUESTS),
            [("retry-after", secs.to_string())],
            "slow down",
        )
            .into_response(),
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        Reply::Endless => {
            let stream = futures::stream::unfold((), |()| async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                Some((
                    Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; 64 * 1024])),
                    (),
                ))
            });
            Response::new(Body::from_stream(stream))
        }
    }
}

/// Whether a Standard Webhooks delivery carries a `v1` signature by `secret` (`whsec_…`),
/// checked from the spec with the `hmac` crate, independently of Switchboard's signer.
pub fn independently_verified(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    use base64::Engine;
    use hmac::{Hmac, KeyInit, Mac};
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64
        .decode(secret.trim_start_matches("whsec_"))
        .expect("secret base64");
    let id = headers["webhook-id"].to_str().expect("id");
    let ts = headers["webhook-timestamp"].to_str().expect("ts");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("hmac");
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", b64.encode(mac.finalize().into_bytes()));
    headers["webhook-signature"]
        .to_str()
        .expect("sig")
        .split(' ')
        .any(|s| s == expected)
}
