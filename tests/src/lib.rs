//! Helpers for the integration tests: real adapters (a SQLite file in a temp dir, moto server
//! over HTTP for DynamoDB/SQS/KMS) and a real HTTP server on loopback.
//!
//! Moto is started by `scripts/test.sh`, which exports `MOTO_ENDPOINT`. A test that needs it
//! fails loudly when it is missing; none skips.
//!
//! Every integration test drives the API through [`harness`] ([`Harness`], [`TenantClient`],
//! [`Reply`]) and runs on both adapter sets with [`on_both_backends!`]; the port conformance
//! suites are [`conformance_suite!`]. Both macros expand to `#[tokio::test]`s, so the calling
//! crate needs `tokio` (this crate's test targets have it).

pub mod conformance;
pub mod fakes;
pub mod harness;
pub mod heat;
pub mod receiver;
pub mod served;

pub use harness::{Harness, Reply, TenantClient, WAIT, assert_problem};

use std::sync::Arc;
use switchboard::app::{App, Settings};
use switchboard::crypto::kms::KmsKeyProvider;
use switchboard::crypto::local::LocalKeyProvider;
use switchboard::delivery::DeliverySettings;
use switchboard::delivery::schedule::RetrySchedule;
use switchboard::queue::sqlite::SqliteQueue;
use switchboard::queue::sqs::{SqsQueue, create_queues};
use switchboard::ssrf::AddressPolicy;
use switchboard::store::dynamo::{DynamoStore, create_table};
use switchboard::store::sqlite::{Database, Durability, SqliteStore};
use switchboard::tenancy::key_format::KeyHash;
use tempfile::TempDir;

/// The moto server the test script started.
pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "MOTO_ENDPOINT is not set: run ./scripts/test.sh, which installs and starts moto server"
        )
    })
}

/// An SDK configuration pointing at moto with dummy credentials.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// A DynamoDB store over a fresh table in moto.
pub async fn dynamo_store() -> DynamoStore {
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let table = unique("table");
    create_table(&client, &table)
        .await
        .expect("create table in moto");
    DynamoStore::new(client, table)
}

/// A fresh SQS queue pair in moto.
pub async fn sqs_queue() -> SqsQueue {
    let client = aws_sdk_sqs::Client::new(&sdk_config().await);
    let (url, dlq) = create_queues(
        &client,
        &unique("queue"),
        std::time::Duration::from_secs(30),
    )
    .await
    .expect("create queues in moto");
    SqsQueue::new(client, url, Some(dlq))
}

/// A KMS provider over a fresh key in moto.
pub async fn kms_provider() -> KmsKeyProvider {
    let client = aws_sdk_kms::Client::new(&sdk_config().await);
    let key = client
        .create_key()
        .send()
        .await
        .expect("create key in moto")
        .key_metadata
        .expect("key metadata")
        .key_id;
    KmsKeyProvider::new(client, key)
}

/// A fresh embedded database in a temp dir (kept alive by the returned guard).
pub fn sqlite_db() -> (Arc<Database>, TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(&dir.path().join("switchboard.db"), Durability::Normal)
        .expect("open embedded db");
    (db, dir)
}

/// Which adapters an app test runs on.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Aws,
}

/// An app over real adapters, and what keeps them alive.
pub struct TestApp {
    pub app: Arc<App>,
    /// Where the app's records really are, for tests that read the raw bytes.
    pub raw: RawStore,
    _dir: Option<TempDir>,
}

/// The storage under an app, read around the app: the SQLite files, or the DynamoDB table.
pub enum RawStore {
    /// The data directory holding the database file (and its WAL).
    Sqlite(std::path::PathBuf),
    Dynamo {
        client: aws_sdk_dynamodb::Client,
        table: String,
    },
}

impl RawStore {
    /// Every byte stored: the files of the data directory concatenated, or every item of a full
    /// table scan (its `Debug` form, in which strings appear as they are stored).
    pub async fn dump(&self) -> Vec<u8> {
        match self {
            RawStore::Sqlite(dir) => {
                let mut out = Vec::new();
                for entry in std::fs::read_dir(dir).expect("read data dir") {
                    let path = entry.expect("dir entry").path();
                    if path.is_file() {
                        out.extend(std::fs::read(&path).expect("read store file"));
                    }
                }
                out
            }
            RawStore::Dynamo { client, table } => {
                let mut out = Vec::new();
                let mut start = None;
                loop {
                    let page = client
                        .scan()
                        .table_name(table)
                        .set_exclusive_start_key(start)
                        .send()
                        .await
                        .expect("scan the moto table");
                    for item in page.items() {
                        out.extend(format!("{item:?}\n").into_bytes());
                    }
                    match page.last_evaluated_key {
                        Some(key) if !key.is_empty() => start = Some(key),
                        _ => return out,
                    }
                }
            }
        }
    }
}

/// Builds an app on `backend` with the given root key hash and default delivery settings
/// (loopback allowed, so deliveries reach test receivers).
pub async fn app(backend: Backend, root: Option<KeyHash>) -> TestApp {
    app_with(backend, test_settings(root)).await
}

/// Delivery settings for tests: loopback allowed, a fast retry schedule.
pub fn test_settings(root: Option<KeyHash>) -> Settings {
    Settings {
        root_key_hash: root,
        delivery: DeliverySettings {
            policy: AddressPolicy::from_allow_list("127.0.0.0/8").expect("cidr"),
            schedule: RetrySchedule::parse("0,0.5,1,1,1,1,1,1").expect("schedule"),
            ..DeliverySettings::default()
        },
        ..Settings::default()
    }
}

/// Builds an app on `backend` with `settings`.
pub async fn app_with(backend: Backend, settings: Settings) -> TestApp {
    match backend {
        Backend::Sqlite => {
            let (db, dir) = sqlite_db();
            let keys = LocalKeyProvider::load_or_create(&dir.path().join("master.key"))
                .expect("local key");
            TestApp {
                app: App::new(
                    Arc::new(SqliteStore::new(Arc::clone(&db))),
                    Arc::new(SqliteQueue::new(db)),
                    Arc::new(keys),
                    settings,
                )
                .expect("app"),
                raw: RawStore::Sqlite(dir.path().to_owned()),
                _dir: Some(dir),
            }
        }
        Backend::Aws => {
            let store = dynamo_store().await;
            let raw = RawStore::Dynamo {
                client: aws_sdk_dynamodb::Client::new(&sdk_config().await),
                table: store.table().to_owned(),
            };
            TestApp {
                app: App::new(
                    Arc::new(store),
                    Arc::new(sqs_queue().await),
                    Arc::new(kms_provider().await),
                    settings,
                )
                .expect("app"),
                raw,
                _dir: None,
            }
        }
    }
}

impl TestApp {
    /// The embedded app's data directory (its SQLite file and local key ring); `None` on AWS.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self._dir.as_ref().map(TempDir::path)
    }
}

/// A router served on a loopback port for the life of the test. Requests go through
/// [`TestServer::request`] (see [`harness`]), with any key or none.
#[derive(Clone)]
pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
}

impl TestServer {
    pub async fn start(router: axum::Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            // With the client's address, as `serve` and the Lambda adapter give it.
            let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
            let _ = axum::serve(listener, service).await;
        });
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Polls `check` until it returns `Some` or `within` passes.
pub async fn eventually<T, F, Fut>(within: std::time::Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A delivery worker polling an app's queue for the life of the guard.
pub struct Worker {
    stop: tokio::sync::watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Worker {
    pub fn start(app: &Arc<App>) -> Self {
        let (stop, rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(switchboard::queue::worker::run_worker(
            Arc::clone(&app.queue),
            app.job_handler(),
            switchboard::queue::worker::WorkerOptions {
                visibility: std::time::Duration::from_secs(30),
                idle_wait: std::time::Duration::from_millis(50),
                concurrency: 2,
            },
            rx,
        ));
        Self {
            stop,
            task: Some(task),
        }
    }

    /// Stops polling and waits for the batches in flight to settle.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
