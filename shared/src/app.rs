//! The composition root: adapters chosen by configuration, built once per process (outside any
//! handler), and the domain services built over them. Each service gets only the ports and
//! caches it uses; the HTTP layer and the worker reach the services through [`App`].

use crate::auth::Authenticator;
use crate::config::{AwsResources, Backend, Config};
use crate::crypto::KeyProvider;
use crate::crypto::kms::KmsKeyProvider;
use crate::delivery::{DeliverySettings, Engine, JobRunner};
use crate::inbound::Inbound;
use crate::metrics::Metrics;
use crate::metrics::store::MeteredStore;
use crate::outbound::Outbound;
use crate::queue::Queue;
use crate::queue::sqs::SqsQueue;
use crate::queue::worker::JobHandler;
use crate::store::Store;
use crate::store::dynamo::DynamoStore;
use crate::tenancy::key_format::KeyHash;
use crate::usage::UsageMeter;
use std::sync::Arc;

/// The services of one process, over its adapters.
pub struct App {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    pub keys: Arc<dyn KeyProvider>,
    pub auth: Authenticator,
    pub outbound: Arc<Outbound>,
    pub delivery: Arc<Engine>,
    /// Integrations, intake and inbound processing.
    pub inbound: Arc<Inbound>,
    /// The process's operational metrics (Prometheus for `serve`, EMF in the Lambdas).
    pub metrics: Arc<Metrics>,
    /// How long audit entries are kept.
    pub audit_retention: std::time::Duration,
    /// The process's usage counters (shared with the outbound and inbound services).
    pub usage: UsageMeter,
}

/// What an app needs besides its adapters.
#[derive(Debug, Clone)]
pub struct Settings {
    pub root_key_hash: Option<KeyHash>,
    pub delivery: DeliverySettings,
    /// Write metrics as CloudWatch EMF lines when flushed (the Lambdas), rather than only
    /// keeping them for a Prometheus scrape (`serve`).
    pub emf_metrics: bool,
    /// The most live endpoints a tenant may have (`SWITCHBOARD_MAX_ENDPOINTS_PER_TENANT`).
    pub max_endpoints_per_tenant: usize,
    /// What hook URLs start with (`SWITCHBOARD_PUBLIC_URL`); `None` shows them as paths.
    pub public_url: Option<String>,
    /// How long audit entries are kept (`SWITCHBOARD_AUDIT_RETENTION_DAYS`, default a year).
    pub audit_retention: std::time::Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            root_key_hash: None,
            delivery: DeliverySettings::default(),
            max_endpoints_per_tenant: crate::outbound::DEFAULT_MAX_ENDPOINTS,
            emf_metrics: false,
            public_url: None,
            audit_retention: crate::audit::DEFAULT_RETENTION,
        }
    }
}

/// Why the service could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Keys(#[from] crate::crypto::CryptoError),
    #[error(transparent)]
    Http(#[from] crate::delivery::client::ClientError),
}

impl App {
    /// Assembles the services over given adapters (tests, custom embeddings).
    pub fn new(
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        keys: Arc<dyn KeyProvider>,
        settings: Settings,
    ) -> Result<Arc<Self>, BuildError> {
        let metrics = Arc::new(if settings.emf_metrics {
            Metrics::with_emf()
        } else {
            Metrics::new()
        });
        let store: Arc<dyn Store> = Arc::new(MeteredStore::new(store, Arc::clone(&metrics)));
        let usage = UsageMeter::new(Arc::clone(&store));
        let outbound = Arc::new(
            Outbound::new(
                Arc::clone(&store),
                Arc::clone(&queue),
                Arc::clone(&keys),
                settings.delivery.retention,
            )
            .with_max_endpoints(settings.max_endpoints_per_tenant)
            .with_metrics(Arc::clone(&metrics))
            .with_usage(usage.clone()),
        );
        let delivery = Arc::new(Engine::new(
            Arc::clone(&outbound),
            &settings.delivery,
            settings.audit_retention,
        )?);
        let inbound = Arc::new(Inbound::new(
            Arc::clone(&store),
            Arc::clone(&queue),
            Arc::clone(&keys),
            Arc::clone(&outbound),
            settings.delivery.retention,
            settings.public_url.clone(),
        ));
        Ok(Arc::new(Self {
            auth: Authenticator::new(Arc::clone(&store), settings.root_key_hash),
            outbound,
            delivery,
            inbound,
            store,
            queue,
            keys,
            metrics,
            audit_retention: settings.audit_retention,
            usage,
        }))
    }

    /// Builds the adapters `config` names.
    pub async fn build(config: &Config) -> Result<Arc<Self>, BuildError> {
        let settings = Settings {
            root_key_hash: config.root_key_hash,
            delivery: config.delivery.clone(),
            max_endpoints_per_tenant: config.max_endpoints_per_tenant,
            emf_metrics: false,
            public_url: config.public_url.clone(),
            audit_retention: config.audit_retention,
        };
        match &config.backend {
            Backend::Aws(aws) => Self::build_aws(aws, settings).await,
            #[cfg(feature = "embedded")]
            Backend::Sqlite {
                data_dir,
                durability,
                local_key,
            } => Self::build_sqlite(data_dir, *durability, local_key, settings),
        }
    }

    /// The AWS adapters (DynamoDB, SQS, KMS). The Lambdas call only this; they are built
    /// without the `embedded` feature, so the SQLite adapters are not even compiled into them.
    pub async fn build_aws(
        aws: &AwsResources,
        settings: Settings,
    ) -> Result<Arc<Self>, BuildError> {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &aws.table);
        let queue = SqsQueue::new(
            aws_sdk_sqs::Client::new(&sdk),
            &aws.queue_url,
            aws.dlq_url.clone(),
        );
        let keys = KmsKeyProvider::new(aws_sdk_kms::Client::new(&sdk), &aws.kms_key_id);
        Self::new(Arc::new(store), Arc::new(queue), Arc::new(keys), settings)
    }

    /// The embedded adapters: one SQLite file and the local key ring in `data_dir`, sealing new
    /// envelopes under the key named `local_key`.
    #[cfg(feature = "embedded")]
    pub fn build_sqlite(
        data_dir: &std::path::Path,
        durability: crate::store::sqlite::Durability,
        local_key: &str,
        settings: Settings,
    ) -> Result<Arc<Self>, BuildError> {
        use crate::crypto::local::LocalKeyProvider;
        use crate::queue::sqlite::SqliteQueue;
        use crate::store::sqlite::{Database, SqliteStore};
        let db = Database::open(&data_dir.join("switchboard.db"), durability)?;
        let keys = LocalKeyProvider::open(data_dir, local_key)?;
        Self::new(
            Arc::new(SqliteStore::new(Arc::clone(&db))),
            Arc::new(SqliteQueue::new(db)),
            Arc::new(keys),
            settings,
        )
    }

    /// Writes every counter gathered in memory now (API key usage, refused webhooks, usage
    /// metering): at shutdown, and in tests before reading them.
    pub async fn flush_counters(&self) {
        self.auth.flush_usage().await;
        self.inbound.flush_rejections().await;
        self.usage.flush().await;
    }

    /// Writes the counters whose last write is a second old: at the end of a Lambda
    /// invocation, since the runtime may freeze the instance before a scheduled flush runs.
    /// Each counter still writes at most once a second per instance.
    pub async fn flush_counters_if_due(&self) {
        self.auth.flush_usage_if_due().await;
        self.inbound.flush_rejections_if_due().await;
        self.usage.flush_if_due().await;
    }

    /// The handler the delivery worker (Lambda or `serve`'s poller) runs every job through.
    pub fn job_handler(&self) -> Arc<dyn JobHandler> {
        Arc::new(JobRunner::new(
            Arc::clone(&self.delivery),
            Arc::clone(&self.inbound),
        ))
    }

    /// The audit recorder of writes from `origin`, with this deployment's retention.
    pub fn recorder(&self, origin: crate::audit::Origin) -> crate::audit::Recorder {
        crate::audit::Recorder::new(origin, self.audit_retention)
    }

    /// One line for start-up logs: which adapters are in use.
    pub fn describe(&self) -> String {
        format!(
            "store={} queue={} keys={}",
            self.store.kind(),
            self.queue.kind(),
            self.keys.kind()
        )
    }
}
