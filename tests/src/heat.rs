//! One simulated second of a big tenant's traffic, metered the way AWS bills it: the heat test
//! asserts on it and the bench's `heat-report` prints it (and feeds the capacity model in
//! `docs/scale.md`). The store is wrapped in the [`HeatMeter`], whose clock stands still, so the
//! whole run lands in one one-second bucket however long it takes; the queue and key provider
//! are wrapped in counters of the requests SQS and KMS would be sent. Deliveries are real: a
//! worker posts every one to a loopback receiver.

use crate::harness::TenantClient;
use crate::receiver::Receiver;
use crate::{TestServer, Worker, sqlite_db, test_settings};
use async_trait::async_trait;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use switchboard::app::App;
use switchboard::crypto::local::LocalKeyProvider;
use switchboard::crypto::{CryptoError, DataKey, EncryptionContext, KeyProvider};
use switchboard::queue::sqlite::SqliteQueue;
use switchboard::queue::{DeadLetter, Outcome, OutgoingJob, Queue, QueueError, ReceivedJob};
use switchboard::store::heat::{Heat, HeatMeter, Totals};
use switchboard::store::sqlite::SqliteStore;
use switchboard::tenancy::key_format::{self, KeyHash};
use zeroize::Zeroizing;

/// What one simulated second cost.
#[derive(Debug, Clone)]
pub struct HeatReport {
    pub events: usize,
    pub endpoints: usize,
    /// Partition keys by write units taken, hottest first.
    pub keys: Vec<(String, Heat)>,
    /// Store totals over the run.
    pub totals: Totals,
    /// SQS requests the producers would send (SendMessage, or one SendMessageBatch per 10).
    pub queue_send_requests: u64,
    /// Jobs enqueued.
    pub jobs: u64,
    /// KMS requests (GenerateDataKey + Decrypt).
    pub kms_requests: u64,
}

impl HeatReport {
    pub fn deliveries(&self) -> usize {
        self.events * self.endpoints
    }

    /// The `top` hottest keys, one line each.
    pub fn hottest_lines(&self, top: usize) -> Vec<String> {
        self.keys
            .iter()
            .take(top)
            .map(|(pk, heat)| format!("{pk}: {} writes, {} units", heat.writes, heat.units))
            .collect()
    }

    /// The run as the capacity model reads it.
    pub fn to_json(&self) -> Value {
        let per = |n: u64| n as f64 / self.deliveries() as f64;
        let hottest = self.keys.first();
        json!({
            "events": self.events,
            "endpoints": self.endpoints,
            "deliveries": self.deliveries(),
            "hottest_key": hottest.map(|(pk, _)| pk.clone()),
            "hottest_writes_per_s": hottest.map_or(0, |(_, h)| h.writes),
            "hottest_units_per_s": hottest.map_or(0, |(_, h)| h.units),
            "per_delivery": {
                "store_writes": per(self.totals.writes),
                "write_units": per(self.totals.write_units),
                "store_reads": per(self.totals.reads),
                "read_units": per(self.totals.read_units_x2) / 2.0,
                "bytes_written": per(self.totals.bytes_written),
                "sqs_send_requests": per(self.queue_send_requests),
                "kms_requests": per(self.kms_requests),
            }
        })
    }
}

/// An app over the metered store, counting queue and key provider, served over HTTP, with one
/// tenant and a loopback receiver.
struct Metered {
    meter: Arc<HeatMeter>,
    queue: Arc<CountingQueue>,
    keys: Arc<CountingKeys>,
    app: Arc<App>,
    tenant: TenantClient,
    receiver: Receiver,
    _dir: tempfile::TempDir,
}

impl Metered {
    async fn start() -> Self {
        let (db, dir) = sqlite_db();
        let meter = Arc::new(HeatMeter::with_clock(
            Arc::new(SqliteStore::new(Arc::clone(&db))),
            Arc::new(|| 0),
        ));
        let queue = Arc::new(CountingQueue::new(Arc::new(SqliteQueue::new(db))));
        let keys = Arc::new(CountingKeys::new(Arc::new(
            LocalKeyProvider::load_or_create(&dir.path().join("master.key")).expect("key"),
        )));
        let root = key_format::generate();
        let settings = test_settings(Some(KeyHash::of(root.expose_secret())));
        let app: Arc<App> =
            App::new(meter.clone(), queue.clone(), keys.clone(), settings).expect("app");
        let api = TestServer::start(switchboard::api::router(Arc::clone(&app))).await;
        let tenant = TenantClient::create(api, root.expose_secret(), "heat").await;
        Self {
            meter,
            queue,
            keys,
            app,
            tenant,
            receiver: Receiver::start().await,
            _dir: dir,
        }
    }

    /// Setup is not the traffic under test.
    fn reset(&self) {
        self.meter.reset();
        self.queue.reset();
        self.keys.reset();
    }

    /// Runs a worker until the receiver's `paths` have `deliveries` requests between them.
    async fn deliver_all(&self, paths: &[String], deliveries: usize) {
        let worker = Worker::start(&self.app);
        let deadline = std::time::Instant::now() + Duration::from_secs(600);
        loop {
            let seen: usize = paths.iter().map(|p| self.receiver.seen(p).len()).sum();
            if seen >= deliveries {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "only {seen} of {deliveries} delivered"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        worker.stop().await;
        // What the run counted in memory (usage, key uses) is part of what it wrote.
        self.app.flush_counters().await;
    }

    fn report(&self, events: usize, endpoints: usize) -> HeatReport {
        let mut keys_by_heat: Vec<(String, Heat)> = self
            .meter
            .snapshot()
            .into_iter()
            .map(|((pk, _), heat)| (pk, heat))
            .collect();
        keys_by_heat.sort_by_key(|(_, heat)| std::cmp::Reverse((heat.units, heat.writes)));
        HeatReport {
            events,
            endpoints,
            keys: keys_by_heat,
            totals: self.meter.totals(),
            queue_send_requests: self.queue.send_requests.load(Ordering::Relaxed),
            jobs: self.queue.jobs.load(Ordering::Relaxed),
            kms_requests: self.keys.requests.load(Ordering::Relaxed),
        }
    }
}

/// `events` events published to `endpoints` endpoints of one tenant, all delivered, metered.
pub async fn one_second_of(events: usize, endpoints: usize) -> HeatReport {
    let m = Metered::start().await;
    let paths: Vec<String> = (0..endpoints).map(|i| format!("/ep{i}")).collect();
    for path in &paths {
        m.tenant
            .endpoint_at(m.receiver.url(path), json!({"event_types": ["heat.*"]}))
            .await;
    }
    m.reset();
    for i in 0..events {
        m.tenant.publish("heat.tick", json!({"i": i})).await;
    }
    m.deliver_all(&paths, events * endpoints).await;
    m.report(events, endpoints)
}

/// `webhooks` GitHub-signed webhooks to one integration of one tenant, each accepted through
/// the HTTP intake, processed, routed and delivered to one endpoint, metered. The report counts
/// each webhook as one event to one endpoint.
pub async fn one_second_of_webhooks(webhooks: usize) -> HeatReport {
    use futures::StreamExt;
    const SECRET: &str = "heat-github-secret-0123";
    let m = Metered::start().await;
    let path = "/inbound".to_owned();
    m.tenant
        .endpoint_at(m.receiver.url(&path), json!({"event_types": ["github.*"]}))
        .await;
    let created = m
        .tenant
        .post(
            "/v1/integrations",
            json!({"type": "github", "name": "heat", "config": {"secret": SECRET},
                   "mapping": {"n": "$.n"}, "route": {"event_type": "github.push"}}),
        )
        .await;
    assert_eq!(
        created.status,
        reqwest::StatusCode::CREATED,
        "{}",
        created.body
    );
    let hook = m.tenant.api.url(&format!(
        "/hooks/{}",
        created.body["id"].as_str().expect("id")
    ));
    m.reset();
    let http = m.tenant.api.http.clone();
    let now = chrono::Utc::now().timestamp();
    futures::stream::iter(0..webhooks)
        .map(|n| {
            let (http, hook) = (http.clone(), hook.clone());
            async move {
                let body = json!({"n": n}).to_string();
                let signed = switchboard::signing::inbound::sign_request(
                    "github",
                    SECRET,
                    &Value::Null,
                    body.as_bytes(),
                    "",
                    now,
                )
                .expect("sign");
                let status = http
                    .post(&hook)
                    .headers(signed.headers)
                    .body(signed.body)
                    .send()
                    .await
                    .expect("hook")
                    .status();
                assert_eq!(status, reqwest::StatusCode::ACCEPTED);
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    m.deliver_all(&[path], webhooks).await;
    m.report(webhooks, 1)
}

/// The usage writes of one simulated second of `deliveries` deliveries (and as many published
/// events) for one tenant, made by `workers` workers (Lambda instances) at once: each worker
/// counts its share in its own meter, on its own random shard, and writes it once, as each does
/// at most once a second. Only the store is metered; the counts are checked against what was
/// counted.
pub async fn one_second_of_usage(workers: usize, deliveries: usize) -> UsageHeat {
    use futures::StreamExt;
    use switchboard::usage::{Counter, Month, UsageMeter, ledger};
    let (db, _dir) = sqlite_db();
    let meter = Arc::new(HeatMeter::with_clock(
        Arc::new(SqliteStore::new(db)),
        Arc::new(|| 0),
    ));
    let store: Arc<dyn switchboard::store::Store> = meter.clone();
    let tenant = switchboard::model::TenantId::generate();
    let meters: Vec<UsageMeter> = (0..workers)
        .map(|_| UsageMeter::new(Arc::clone(&store)))
        .collect();
    // Counted on a thread outside the runtime, where a meter schedules no flush of its own: the
    // one explicit flush below is each worker's one write of the second.
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for n in 0..deliveries {
                let worker = &meters[n % workers];
                worker.published(tenant);
                worker.attempt(tenant, n % 10 != 0, 700);
            }
        });
    });
    futures::stream::iter(meters.iter())
        .map(UsageMeter::flush)
        .buffer_unordered(64)
        .collect::<Vec<()>>()
        .await;
    let usage = ledger::usage(store.as_ref(), tenant, Month::current())
        .await
        .expect("usage");
    let mut keys: Vec<(String, Heat)> = meter
        .snapshot()
        .into_iter()
        .map(|((pk, _), heat)| (pk, heat))
        .collect();
    keys.sort_by_key(|(_, heat)| std::cmp::Reverse((heat.units, heat.writes)));
    UsageHeat {
        keys,
        shards_used: meters
            .iter()
            .map(UsageMeter::shard)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        attempted: usage.get(Counter::DeliveriesAttempted),
        published: usage.get(Counter::EventsPublished),
    }
}

/// What [`one_second_of_usage`] wrote, and what the counters read afterwards.
#[derive(Debug, Clone)]
pub struct UsageHeat {
    /// Partition keys by write units taken, hottest first.
    pub keys: Vec<(String, Heat)>,
    /// How many distinct shards the workers drew.
    pub shards_used: usize,
    pub attempted: u64,
    pub published: u64,
}

/// Counts what producers send, as SQS requests; everything else passes through.
struct CountingQueue {
    inner: Arc<dyn Queue>,
    send_requests: AtomicU64,
    jobs: AtomicU64,
}

impl CountingQueue {
    fn new(inner: Arc<dyn Queue>) -> Self {
        Self {
            inner,
            send_requests: AtomicU64::new(0),
            jobs: AtomicU64::new(0),
        }
    }

    fn reset(&self) {
        self.send_requests.store(0, Ordering::Relaxed);
        self.jobs.store(0, Ordering::Relaxed);
    }
}

#[async_trait]
impl Queue for CountingQueue {
    async fn send(&self, job: OutgoingJob) -> Result<(), QueueError> {
        self.send_requests.fetch_add(1, Ordering::Relaxed);
        self.jobs.fetch_add(1, Ordering::Relaxed);
        self.inner.send(job).await
    }
    async fn send_batch(&self, jobs: Vec<OutgoingJob>) -> Result<(), QueueError> {
        let n = jobs.len() as u64;
        self.send_requests
            .fetch_add(n.div_ceil(10), Ordering::Relaxed);
        self.jobs.fetch_add(n, Ordering::Relaxed);
        self.inner.send_batch(jobs).await
    }
    async fn receive(
        &self,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<ReceivedJob>, QueueError> {
        self.inner.receive(max, visibility).await
    }
    async fn settle(&self, job: &ReceivedJob, outcome: &Outcome) -> Result<(), QueueError> {
        self.inner.settle(job, outcome).await
    }
    async fn settle_many(&self, settled: Vec<(ReceivedJob, Outcome)>) -> Result<(), QueueError> {
        self.inner.settle_many(settled).await
    }
    async fn settle_and_receive(
        &self,
        settled: Vec<(ReceivedJob, Outcome)>,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<ReceivedJob>, QueueError> {
        self.inner
            .settle_and_receive(settled, max, visibility)
            .await
    }
    async fn dead_letter(&self, job: &ReceivedJob, reason: &str) -> Result<(), QueueError> {
        self.inner.dead_letter(job, reason).await
    }
    async fn depth(&self) -> Result<u64, QueueError> {
        self.inner.depth().await
    }
    async fn oldest_age(&self) -> Result<Option<Duration>, QueueError> {
        self.inner.oldest_age().await
    }
    async fn dead_letters(&self, max: usize) -> Result<Vec<DeadLetter>, QueueError> {
        self.inner.dead_letters(max).await
    }
    async fn wait_for_work(&self, timeout: Duration) {
        self.inner.wait_for_work(timeout).await;
    }
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
}

/// Counts key-provider calls (each would be one KMS request).
struct CountingKeys {
    inner: Arc<dyn KeyProvider>,
    requests: AtomicU64,
}

impl CountingKeys {
    fn new(inner: Arc<dyn KeyProvider>) -> Self {
        Self {
            inner,
            requests: AtomicU64::new(0),
        }
    }

    fn reset(&self) {
        self.requests.store(0, Ordering::Relaxed);
    }
}

#[async_trait]
impl KeyProvider for CountingKeys {
    async fn generate_data_key(&self, ctx: &EncryptionContext) -> Result<DataKey, CryptoError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.inner.generate_data_key(ctx).await
    }
    async fn decrypt_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
        ctx: &EncryptionContext,
    ) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.inner.decrypt_data_key(key_id, wrapped, ctx).await
    }
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
}
