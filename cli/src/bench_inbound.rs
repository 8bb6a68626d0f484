//! `switchboard bench inbound`: GitHub-signed 2 KiB requests to a running `serve`'s hook URL,
//! measuring how many the intake accepts per second (and their latency), then how fast they come
//! out the other end: processed, routed into the tenant's stream and delivered to a loopback
//! receiver subscribed to the routed event type. Every accepted request must be delivered, once.

use crate::bench::{Setup, percentile, post, setup, wait_for};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use switchboard::signing::inbound::sign_request;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The bench integration's shared secret (a throwaway tenant in a throwaway `serve`).
const SECRET: &str = "bench-github-secret";

/// What one run measured.
struct Accepted {
    elapsed: Duration,
    latencies_ms: Vec<f64>,
}

pub async fn run(base: &str, root_key: &str, requests: usize, concurrency: usize) -> Result<()> {
    let Setup {
        tally,
        receiver_url,
        http,
        key,
    } = setup(base, root_key, "bench inbound", concurrency).await?;
    post(
        &http,
        format!("{base}/v1/webhooks"),
        &key,
        json!({"url": format!("{receiver_url}/inbound"), "event_types": ["github.*"]}),
    )
    .await?;
    let integration = post(
        &http,
        format!("{base}/v1/integrations"),
        &key,
        json!({"type": "github", "name": "bench", "config": {"secret": SECRET},
               "route": {"event_type": "github.push"}}),
    )
    .await?;
    let id = integration["id"].as_str().ok_or("no integration id")?;
    let hook = format!("{base}/hooks/{id}");

    // A 2 KiB push body, signed once: GitHub signs the body only, and each request gets its own
    // X-GitHub-Delivery (the dedupe key), so every one is a new delivery.
    let body = format!(
        r#"{{"ref":"refs/heads/main","repository":{{"full_name":"acme/bench"}},"pad":"{}"}}"#,
        "a".repeat(2048 - 74)
    )
    .into_bytes();
    let signed = sign_request("github", SECRET, &json!({}), &body, &hook, 0)?;
    let signature = signed
        .headers
        .get("x-hub-signature-256")
        .ok_or("no signature header")?
        .clone();

    let started = Instant::now();
    let accepted = send_all(&http, &hook, &body, &signature, requests, concurrency).await?;
    let done = wait_for(&tally, requests as u64, Duration::from_secs(600))
        .await
        .ok_or("the accepted webhooks were not all delivered within 10 minutes")?
        - started;
    let mut lat = accepted.latencies_ms;
    lat.sort_by(f64::total_cmp);
    println!(
        "inbound accepted: {requests} GitHub-signed 2 KiB requests in {:.2}s ({:.0} req/s) at {concurrency} connections; p50 {:.2} ms, p99 {:.2} ms",
        accepted.elapsed.as_secs_f64(),
        requests as f64 / accepted.elapsed.as_secs_f64(),
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
    );
    println!(
        "inbound end to end: {requests} processed, routed and delivered in {:.2}s ({:.0}/s)",
        done.as_secs_f64(),
        requests as f64 / done.as_secs_f64(),
    );
    // Nothing delivered twice, nothing left behind: give stragglers a moment to show up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = tally.received.load(Ordering::Relaxed);
    if received != requests as u64 {
        return Err(format!("{received} deliveries for {requests} accepted webhooks").into());
    }
    Ok(())
}

/// Sends `count` requests from `concurrency` tasks; every answer must be 202.
async fn send_all(
    http: &reqwest::Client,
    hook: &str,
    body: &[u8],
    signature: &reqwest::header::HeaderValue,
    count: usize,
    concurrency: usize,
) -> Result<Accepted> {
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let body = bytes::Bytes::copy_from_slice(body);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (http, hook, body, signature, next) = (
            http.clone(),
            hook.to_owned(),
            body.clone(),
            signature.clone(),
            Arc::clone(&next),
        );
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, String>(latencies);
                }
                let sent = Instant::now();
                let resp = http
                    .post(&hook)
                    .header("content-type", "application/json")
                    .header("x-github-event", "push")
                    .header("x-github-delivery", format!("bench-{i}"))
                    .header("x-hub-signature-256", signature.clone())
                    .body(body.clone())
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = resp.status();
                let _ = resp.bytes().await;
                if status != reqwest::StatusCode::ACCEPTED {
                    return Err(format!("request {i}: {status}, not 202"));
                }
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
            }
        });
    }
    let mut latencies_ms = Vec::with_capacity(count);
    while let Some(done) = tasks.join_next().await {
        latencies_ms.extend(done??);
    }
    Ok(Accepted {
        elapsed: started.elapsed(),
        latencies_ms,
    })
}
