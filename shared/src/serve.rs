//! `switchboard serve`: admin and intake on one port plus the delivery worker, in one process,
//! on the embedded store, queue and key by default (or AWS when the environment says so).

use crate::api;
use crate::app::{App, BuildError};
use crate::config::{Config, ConfigError};
use crate::queue::worker::{WorkerOptions, run_worker};
use crate::tenancy::key_format::{self, KeyHash};
use secrecy::ExposeSecret;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::watch;

/// Where to listen and keep data.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// Where to serve `GET /metrics` (Prometheus text); `None` serves no metrics. Never the
    /// public `addr`: metrics get a listener of their own.
    pub metrics_addr: Option<SocketAddr>,
}

/// Why `serve` could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("{0}")]
    Io(String),
}

/// A running server: its address, and a handle to stop it.
pub struct Running {
    pub addr: SocketAddr,
    /// Where `GET /metrics` is served, when it is.
    pub metrics_addr: Option<SocketAddr>,
    pub app: Arc<App>,
    /// Set when this start created a root key; shown to the operator once.
    pub new_root_key: Option<String>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting requests, finishes in-flight requests and jobs, flushes usage counters.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }

    /// Waits until the server stops by itself (it does not, unless told to).
    pub async fn wait(self) {
        let _ = self.task.await;
    }

    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// The root key's hash: from the environment, else from the data directory, else a new key is
/// made, its hash saved, and the key returned so it can be printed once.
fn root_key(config: &mut Config, data_dir: &Path) -> Result<Option<String>, ServeError> {
    if config.root_key_hash.is_some() {
        return Ok(None);
    }
    let path = data_dir.join("root_key.sha256");
    let io = |e: std::io::Error| ServeError::Io(format!("{}: {e}", path.display()));
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(io)?;
        config.root_key_hash = Some(KeyHash::from_hex(&text).ok_or_else(|| {
            ServeError::Io(format!("{} does not hold a SHA-256 hex", path.display()))
        })?);
        return Ok(None);
    }
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let key = key_format::generate();
    let hash = KeyHash::of(key.expose_secret());
    std::fs::write(&path, format!("{}\n", hash.to_hex())).map_err(io)?;
    config.root_key_hash = Some(hash);
    Ok(Some(key.expose_secret().to_owned()))
}

/// Starts serving; returns once the port is bound.
pub async fn start(
    options: ServeOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Running, ServeError> {
    let mut config = Config::for_serve(options.data_dir.clone(), env)?;
    let new_root_key = root_key(&mut config, &options.data_dir)?;
    let app = App::build(&config).await?;
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|e| ServeError::Io(format!("bind {}: {e}", options.addr)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Io(e.to_string()))?;
    let (shutdown, stop) = watch::channel(false);
    let metrics_addr = match options.metrics_addr {
        Some(at) => Some(metrics_listener(at, &app, stop.clone()).await?),
        None => None,
    };
    let worker = tokio::spawn(run_worker(
        Arc::clone(&app.queue),
        app.job_handler(),
        WorkerOptions::default(),
        stop.clone(),
    ));
    let router = api::router(Arc::clone(&app));
    let task_app = Arc::clone(&app);
    let mut http_stop = stop.clone();
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = http_stop.wait_for(|stop| *stop).await;
        });
        if let Err(e) = server.await {
            tracing::error!(error = %e, "server failed");
        }
        let _ = worker.await;
        task_app.auth.flush_usage().await;
        tracing::info!("stopped cleanly");
    });
    tracing::info!(%addr, adapters = %app.describe(), "serving admin and intake APIs");
    Ok(Running {
        addr,
        metrics_addr,
        app,
        new_root_key,
        shutdown,
        task,
    })
}

/// Starts the metrics listener; it stops with the server.
async fn metrics_listener(
    addr: SocketAddr,
    app: &App,
    stop: watch::Receiver<bool>,
) -> Result<SocketAddr, ServeError> {
    let metrics = Arc::clone(&app.metrics);
    let (bound, _task) =
        crate::metrics::serve_listener(addr, metrics, Arc::clone(&app.queue), stop)
            .await
            .map_err(|e| ServeError::Io(format!("bind metrics listener {addr}: {e}")))?;
    Ok(bound)
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
