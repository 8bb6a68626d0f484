//! `switchboard serve`: admin and intake on one port plus the delivery worker, in one process,
//! on the embedded store, queue and key by default (or AWS when the environment says so).
//!
//! The listener ([`listener`]) bounds what a client can hold: [`ServeLimits`] (header, idle and
//! request timeouts, a connection cap) and the head limits of [`head`].

mod guard;
pub mod head;
pub mod limits;
mod listener;
pub mod root_key;

use crate::api;
use crate::app::{App, BuildError};
use crate::config::{Backend, Config, ConfigError};
use crate::queue::worker::{WorkerOptions, run_worker};
pub use limits::{LimitError, ServeLimits};
pub use root_key::NewRootKey;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;

/// Where to listen, where to keep data, and the listener's limits.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub limits: ServeLimits,
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
    Limit(#[from] LimitError),
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
    /// Set when this start made a root key: show it to the operator once, then
    /// [`NewRootKey::persist`] its hash.
    pub new_root_key: Option<NewRootKey>,
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

/// Starts serving; returns once the port is bound. Every check that can fail (configuration,
/// limits, the data directory, the saved root key hash, the port, the store and the master key)
/// runs before anything about a new root key is saved: its hash is written only by
/// [`NewRootKey::persist`], once the caller has shown the key.
pub async fn start(
    options: ServeOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Running, ServeError> {
    let mut config = Config::for_serve(options.data_dir.clone(), env)?;
    options.limits.validate()?;
    if matches!(config.backend, Backend::Sqlite { .. }) {
        crate::private_fs::create_dir(&options.data_dir)
            .map_err(|e| ServeError::Io(format!("{}: {e}", options.data_dir.display())))?;
    }
    if config.root_key_hash.is_none() {
        config.root_key_hash = root_key::load(&options.data_dir)?;
    }
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|e| ServeError::Io(format!("bind {}: {e}", options.addr)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Io(e.to_string()))?;
    // Hook URLs are shown absolute, so a provider can be pointed at one as it is: without
    // `SWITCHBOARD_PUBLIC_URL`, `serve`'s own address is the URL it is reached at.
    if config.public_url.is_none() {
        config.public_url = Some(if addr.ip().is_unspecified() {
            format!("http://localhost:{}", addr.port())
        } else {
            format!("http://{addr}")
        });
    }
    let new_root_key = match config.root_key_hash {
        Some(_) => None,
        None => {
            let key = NewRootKey::generate(&options.data_dir);
            config.root_key_hash = Some(key.hash());
            Some(key)
        }
    };
    let app = App::build(&config).await?;
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
    let router = api::serve_router(Arc::clone(&app), options.limits.request_timeout);
    let task_app = Arc::clone(&app);
    let http = listener::run(listener, router, options.limits, stop);
    let task = tokio::spawn(async move {
        http.await;
        let _ = worker.await;
        task_app.flush_counters().await;
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
