//! The bodies of the CLI commands: thin calls into the library.

use secrecy::ExposeSecret;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use switchboard::config::process_env;
use switchboard::serve::limits::{
    DEFAULT_HEADER_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_REQUEST_TIMEOUT_MS,
};
use switchboard::serve::{NewRootKey, ServeLimits, ServeOptions, shutdown_signal, start};
use switchboard::tenancy::key_format::{self, KeyHash};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// `serve`'s listener limits as flags (each also read from its environment variable).
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct LimitArgs {
    /// A request head must arrive within this (from accept, or from its first byte on a
    /// kept-alive connection); slower clients are disconnected.
    #[arg(long, env = "SWITCHBOARD_HEADER_TIMEOUT_MS", default_value_t = DEFAULT_HEADER_TIMEOUT_MS)]
    header_timeout_ms: u64,
    /// A kept-alive connection with no request in progress is closed after this.
    #[arg(long, env = "SWITCHBOARD_IDLE_TIMEOUT_MS", default_value_t = DEFAULT_IDLE_TIMEOUT_MS)]
    idle_timeout_ms: u64,
    /// A request (body and handling) not answered within this gets a 408; at least 30000, as
    /// a webhook test send may wait 25 s for its receiver.
    #[arg(long, env = "SWITCHBOARD_REQUEST_TIMEOUT_MS", default_value_t = DEFAULT_REQUEST_TIMEOUT_MS)]
    request_timeout_ms: u64,
    /// Connections held at once; beyond it new ones wait until one closes.
    #[arg(long, env = "SWITCHBOARD_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
}

impl From<LimitArgs> for ServeLimits {
    fn from(args: LimitArgs) -> Self {
        Self {
            header_timeout: Duration::from_millis(args.header_timeout_ms),
            idle_timeout: Duration::from_millis(args.idle_timeout_ms),
            request_timeout: Duration::from_millis(args.request_timeout_ms),
            max_connections: args.max_connections,
        }
    }
}

pub async fn serve(
    addr: SocketAddr,
    data_dir: PathBuf,
    limits: ServeLimits,
    metrics_addr: Option<SocketAddr>,
) -> Result<()> {
    switchboard::telemetry::init(false);
    let mut running = start(
        ServeOptions {
            addr,
            data_dir,
            limits,
            metrics_addr,
        },
        &process_env,
    )
    .await?;
    if let Some(root) = running.new_root_key.take()
        && let Err(e) = show_root_key(root)
    {
        running.stop().await;
        return Err(e);
    }
    println!(
        "Switchboard listening on http://{} ({})",
        running.addr,
        running.app.describe()
    );
    println!("Admin console on http://{}/console", running.addr);
    if let Some(metrics) = running.metrics_addr {
        println!("Prometheus metrics on http://{metrics}/metrics");
    }
    shutdown_signal().await;
    println!("Shutting down: finishing requests and jobs in flight…");
    running.stop().await;
    Ok(())
}

/// Prints a new root key, and only once it is out saves its hash: if printing fails, or the
/// process dies first, the next start makes and prints a new key instead of printing nothing.
fn show_root_key(root: NewRootKey) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "First run: this is the root key. It is shown once and only its hash is kept"
    )?;
    writeln!(
        out,
        "(in {}). It may only create and list tenants and issue recovery keys.",
        root.path().display()
    )?;
    writeln!(out)?;
    writeln!(out, "    ROOT_KEY={}", root.key().expose_secret())?;
    writeln!(out)?;
    out.flush()?;
    drop(out);
    root.persist()?;
    Ok(())
}

pub fn root_key() {
    let key = key_format::generate();
    println!("ROOT_KEY={}", key.expose_secret());
    println!(
        "ROOT_KEY_SHA256={}",
        KeyHash::of(key.expose_secret()).to_hex()
    );
}

pub async fn demo_seed(data_dir: PathBuf, receiver: &str) -> Result<()> {
    let config = switchboard::config::Config::for_serve(data_dir, &process_env)?;
    let app = switchboard::app::App::build(&config).await?;
    switchboard::demo::seed(app.store.as_ref()).await?;
    switchboard::demo::seed_outbound(&app.outbound, receiver).await?;
    switchboard::demo::seed_inbound(&app.inbound).await?;
    switchboard::demo::seed_actions(&app.outbound, app.delivery.policy()).await?;
    println!(
        "Seeded demo tenant {} into the {} store.",
        switchboard::demo::TENANT_ID,
        app.store.kind()
    );
    println!(
        "Demo admin key (public, for events/ only): {}",
        switchboard::demo::admin_key().expose_secret()
    );
    println!(
        "Demo root key hash: ROOT_KEY_SHA256={}",
        switchboard::demo::root_key_sha256()
    );
    Ok(())
}

pub async fn aws_init(table: &str, queue: &str) -> Result<()> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let (store, sqs, kms) = (
        aws_sdk_dynamodb::Client::new(&sdk),
        aws_sdk_sqs::Client::new(&sdk),
        aws_sdk_kms::Client::new(&sdk),
    );
    switchboard::store::dynamo::create_table(&store, table).await?;
    let (queue_url, dlq_url) =
        switchboard::queue::sqs::create_queues(&sqs, queue, std::time::Duration::from_secs(180))
            .await?;
    let key_id = kms
        .create_key()
        .description("switchboard envelope key")
        .send()
        .await?
        .key_metadata
        .map(|m| m.key_id)
        .ok_or("KMS returned no key")?;
    println!("export TABLE_NAME={table}");
    println!("export QUEUE_URL={queue_url}");
    println!("export DLQ_URL={dlq_url}");
    println!("export KMS_KEY_ID={key_id}");
    Ok(())
}

pub async fn receive(addr: SocketAddr, secrets: &[String]) -> Result<()> {
    let keys = secrets
        .iter()
        .map(|s| switchboard::signing::standard::SigningKey::parse(s))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("Receiving webhooks on http://{addr}/ (Ctrl-C to stop)");
    tokio::select! {
        _ = crate::receiver::serve(listener, keys, false, Default::default()) => {}
        _ = shutdown_signal() => {}
    }
    Ok(())
}
