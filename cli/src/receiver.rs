//! `switchboard receive`: a local webhook receiver that checks every delivery's Standard Webhooks
//! signature and prints it, for trying Switchboard out (and for the benchmark, which also uses it
//! to measure publish→delivery latency).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use switchboard::signing::standard::{DEFAULT_TOLERANCE_SECONDS, SigningKey, verify};

/// What the receiver has seen.
#[derive(Default)]
pub struct Tally {
    pub received: AtomicU64,
    pub bad_signatures: AtomicU64,
    /// Publish→delivery latency of each delivery, in milliseconds.
    pub latencies_ms: Mutex<Vec<f64>>,
}

struct Shared {
    keys: Vec<SigningKey>,
    quiet: bool,
    tally: Arc<Tally>,
}

/// Serves on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    keys: Vec<SigningKey>,
    quiet: bool,
    tally: Arc<Tally>,
) {
    let shared = Arc::new(Shared { keys, quiet, tally });
    let app = axum::Router::new()
        .fallback(axum::routing::post(receive))
        .with_state(shared);
    let _ = axum::serve(listener, app).await;
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let now = chrono::Utc::now();
    let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if let Some(sent) = parsed["timestamp"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        && let Ok(mut l) = shared.tally.latencies_ms.lock()
    {
        l.push(
            (now - sent.with_timezone(&chrono::Utc))
                .num_microseconds()
                .unwrap_or(0) as f64
                / 1000.0,
        );
    }
    shared.tally.received.fetch_add(1, Ordering::Relaxed);
    let verdict = if shared.keys.is_empty() {
        "signature not checked (no --secret)".to_owned()
    } else {
        match verify(
            &shared.keys,
            header("webhook-id"),
            header("webhook-timestamp"),
            header("webhook-signature"),
            &body,
            now.timestamp(),
            DEFAULT_TOLERANCE_SECONDS,
        ) {
            Ok(()) => "signature verified".to_owned(),
            Err(e) => {
                shared.tally.bad_signatures.fetch_add(1, Ordering::Relaxed);
                format!("SIGNATURE REJECTED: {e}")
            }
        }
    };
    if !shared.quiet {
        println!(
            "{} {} {} ({verdict})",
            header("webhook-id"),
            parsed["type"].as_str().unwrap_or("?"),
            parsed["data"]
        );
    }
    StatusCode::NO_CONTENT
}
