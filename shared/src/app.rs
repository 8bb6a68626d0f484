//! The assembled service: adapters chosen by configuration, built once per process (outside any
//! handler) and shared by every request and job.

use crate::auth::Authenticator;
use crate::auth::key_format::KeyHash;
use crate::config::{AwsResources, Backend, Config};
use crate::crypto::KeyProvider;
use crate::crypto::kms::KmsKeyProvider;
use crate::crypto::local::LocalKeyProvider;
use crate::queue::Queue;
use crate::queue::embedded::EmbeddedQueue;
use crate::queue::sqs::SqsQueue;
use crate::store::Store;
use crate::store::dynamo::DynamoStore;
use crate::store::embedded::{Database, Durability, EmbeddedStore};
use std::sync::Arc;

/// The ports every operation runs against.
pub struct App {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    pub keys: Arc<dyn KeyProvider>,
    pub auth: Authenticator,
}

/// Why the service could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Keys(#[from] crate::crypto::CryptoError),
}

impl App {
    /// Assembles a service over given adapters (tests, custom embeddings).
    pub fn new(
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        keys: Arc<dyn KeyProvider>,
        root_key_hash: Option<KeyHash>,
    ) -> Arc<Self> {
        Arc::new(Self {
            auth: Authenticator::new(Arc::clone(&store), root_key_hash),
            store,
            queue,
            keys,
        })
    }

    /// Builds the adapters `config` names.
    pub async fn build(config: &Config) -> Result<Arc<Self>, BuildError> {
        match &config.backend {
            Backend::Aws(aws) => Ok(Self::build_aws(aws, config.root_key_hash).await),
            Backend::Embedded {
                data_dir,
                durability,
            } => Self::build_embedded(data_dir, *durability, config.root_key_hash),
        }
    }

    /// The AWS adapters (DynamoDB, SQS, KMS). The Lambdas call only this, so the embedded
    /// adapters are not linked into them.
    pub async fn build_aws(aws: &AwsResources, root_key_hash: Option<KeyHash>) -> Arc<Self> {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &aws.table);
        let queue = SqsQueue::new(
            aws_sdk_sqs::Client::new(&sdk),
            &aws.queue_url,
            aws.dlq_url.clone(),
        );
        let keys = KmsKeyProvider::new(aws_sdk_kms::Client::new(&sdk), &aws.kms_key_id);
        Self::new(
            Arc::new(store),
            Arc::new(queue),
            Arc::new(keys),
            root_key_hash,
        )
    }

    /// The embedded adapters: one SQLite file and a local master key in `data_dir`.
    pub fn build_embedded(
        data_dir: &std::path::Path,
        durability: Durability,
        root_key_hash: Option<KeyHash>,
    ) -> Result<Arc<Self>, BuildError> {
        let db = Database::open(&data_dir.join("switchboard.db"), durability)?;
        let keys = LocalKeyProvider::load_or_create(&data_dir.join("master.key"))?;
        Ok(Self::new(
            Arc::new(EmbeddedStore::new(Arc::clone(&db))),
            Arc::new(EmbeddedQueue::new(db)),
            Arc::new(keys),
            root_key_hash,
        ))
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
