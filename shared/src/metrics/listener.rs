//! `GET /metrics` for `serve`, on a listener of its own: the public port never serves it, so
//! metrics (which name outcomes, volumes and store health) are reachable only where the operator
//! binds this listener (loopback by default in the docs, or a private interface).

use super::Metrics;
use super::prometheus::CONTENT_TYPE;
use crate::queue::Queue;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Clone)]
struct Scrape {
    metrics: Arc<Metrics>,
    queue: Arc<dyn Queue>,
}

async fn scrape(State(scrape): State<Scrape>) -> impl IntoResponse {
    let text = scrape
        .metrics
        .render_prometheus(scrape.queue.as_ref())
        .await;
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text)
}

async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        "this listener serves only GET /metrics\n",
    )
}

/// Binds `addr` and serves `GET /metrics` there (the queue sampled on each scrape) until
/// `shutdown` turns true. Returns the bound address (useful with port 0) and the server task.
pub async fn serve_listener(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    queue: Arc<dyn Queue>,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let router = Router::new()
        .route("/metrics", get(scrape))
        .fallback(not_found)
        .with_state(Scrape { metrics, queue });
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        });
        if let Err(e) = server.await {
            tracing::error!(error = %e, "metrics listener failed");
        }
    });
    tracing::info!(addr = %bound, "serving Prometheus metrics at /metrics");
    Ok((bound, task))
}
