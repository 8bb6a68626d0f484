//! The assembled service: adapters chosen by configuration, built once per process (outside any
//! handler) and shared by every request and job.

use crate::auth::Authenticator;
use crate::auth::key_format::KeyHash;
use crate::config::{AwsResources, Backend, Config, DeliverySettings};
use crate::crypto::KeyProvider;
use crate::crypto::kms::KmsKeyProvider;
use crate::crypto::local::LocalKeyProvider;
use crate::delivery::client::DeliveryClient;
use crate::outbound::Outbound;
use crate::queue::Queue;
use crate::queue::embedded::EmbeddedQueue;
use crate::queue::sqs::SqsQueue;
use crate::store::Store;
use crate::store::dynamo::DynamoStore;
use crate::store::embedded::{Database, Durability, EmbeddedStore};
use std::sync::Arc;

/// The ports every operation runs against, and the per-process caches over them.
pub struct App {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    pub keys: Arc<dyn KeyProvider>,
    pub auth: Authenticator,
    pub outbound: Outbound,
}

/// What an app needs besides its adapters.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub root_key_hash: Option<KeyHash>,
    pub delivery: DeliverySettings,
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
    /// Assembles a service over given adapters (tests, custom embeddings).
    pub fn new(
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        keys: Arc<dyn KeyProvider>,
        settings: Settings,
    ) -> Result<Arc<Self>, BuildError> {
        let client = DeliveryClient::new(settings.delivery.policy.clone())?;
        Ok(Arc::new(Self {
            auth: Authenticator::new(Arc::clone(&store), settings.root_key_hash),
            outbound: Outbound::new(settings.delivery, client),
            store,
            queue,
            keys,
        }))
    }

    /// Builds the adapters `config` names.
    pub async fn build(config: &Config) -> Result<Arc<Self>, BuildError> {
        match &config.backend {
            Backend::Aws(aws) => Self::build_aws(aws, settings(config)).await,
            Backend::Embedded {
                data_dir,
                durability,
            } => Self::build_embedded(data_dir, *durability, settings(config)),
        }
    }

    /// The AWS adapters (DynamoDB, SQS, KMS). The Lambdas call only this, so the embedded
    /// adapters are not linked into them.
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

    /// The embedded adapters: one SQLite file and a local master key in `data_dir`.
    pub fn build_embedded(
        data_dir: &std::path::Path,
        durability: Durability,
        settings: Settings,
    ) -> Result<Arc<Self>, BuildError> {
        let db = Database::open(&data_dir.join("switchboard.db"), durability)?;
        let keys = LocalKeyProvider::load_or_create(&data_dir.join("master.key"))?;
        Self::new(
            Arc::new(EmbeddedStore::new(Arc::clone(&db))),
            Arc::new(EmbeddedQueue::new(db)),
            Arc::new(keys),
            settings,
        )
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

fn settings(config: &Config) -> Settings {
    Settings {
        root_key_hash: config.root_key_hash,
        delivery: config.delivery.clone(),
    }
}
