//! The one queue port and its two adapters, plus the worker core that consumes it.
//!
//! Jobs are small JSON bodies naming ids, never payloads. A consumer receives jobs (each becomes
//! invisible for a visibility timeout), works on them, and settles each with an [`Outcome`]:
//! done (deleted), retry after a delay (made invisible for that long), or dead (moved to the
//! dead-letter state with a reason). A job that is received but never settled, because its
//! worker died, becomes visible again when its visibility timeout ends: nothing is lost.

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "embedded")]
pub mod sqlite;
pub mod sqs;
pub mod worker;

use async_trait::async_trait;
use std::time::Duration;

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingJob {
    pub body: String,
    /// How long the job stays invisible after sending. SQS caps this at 15 minutes.
    pub delay: Duration,
}

impl OutgoingJob {
    pub fn now(body: impl Into<String>) -> Self {
        Self {
            body: body.into(),
            delay: Duration::ZERO,
        }
    }
}

/// A job handed to a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedJob {
    /// The queue's id for the message (stable across redeliveries).
    pub id: String,
    pub body: String,
    /// How many times the job has been received, this time included.
    pub receive_count: u32,
    /// The handle that settles this one receipt of the job.
    pub receipt: String,
}

/// What became of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Finished: remove the job.
    Done,
    /// Not yet: receive it again after this long.
    RetryAfter(Duration),
    /// Never: move it to the dead-letter state with this reason.
    Dead(String),
}

/// A job in the dead-letter state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub id: String,
    pub body: String,
    pub reason: String,
}

/// What can go wrong in a queue call.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    #[error("invalid queue request: {0}")]
    Invalid(String),
}

/// The longest delay or visibility change SQS accepts for one message.
pub const MAX_SQS_DELAY: Duration = Duration::from_secs(900);
/// The longest visibility timeout SQS accepts.
pub const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 3600 - 1);
/// How many times a job may be received before the queue dead-letters it on its own (matches the
/// SQS redrive policy in `template.yaml`). It is a safety net for jobs that crash their worker,
/// not a retry budget: the delivery record counts attempts against the endpoint's
/// `max_attempts`, rate-limit waits re-queue a fresh job, and store-down backoffs double, so a
/// healthy delivery never comes near it. On the last receive the worker records the delivery
/// as failed before the queue takes it away.
pub const MAX_RECEIVES: u32 = 100;

/// The queue port.
#[async_trait]
pub trait Queue: Send + Sync + 'static {
    async fn send(&self, job: OutgoingJob) -> Result<(), QueueError>;
    /// Sends many jobs, in batches of up to 10 per call to the backing service.
    async fn send_batch(&self, jobs: Vec<OutgoingJob>) -> Result<(), QueueError>;
    /// Receives up to `max` (1..=10) visible jobs, hiding each for `visibility`.
    async fn receive(
        &self,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<ReceivedJob>, QueueError>;
    /// Records what became of one received job.
    async fn settle(&self, job: &ReceivedJob, outcome: &Outcome) -> Result<(), QueueError>;
    /// Settles many jobs at once (one round trip where the adapter can).
    async fn settle_many(&self, settled: Vec<(ReceivedJob, Outcome)>) -> Result<(), QueueError> {
        let mut first_error = None;
        for (job, outcome) in &settled {
            if let Err(e) = self.settle(job, outcome).await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
    /// Settles a worker's previous batch and receives its next one. Adapters that can do both
    /// in one round trip (the embedded queue: one commit) override this.
    async fn settle_and_receive(
        &self,
        settled: Vec<(ReceivedJob, Outcome)>,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<ReceivedJob>, QueueError> {
        if !settled.is_empty()
            && let Err(e) = self.settle_many(settled).await
        {
            tracing::warn!(error = %e, "settling a batch failed; its jobs will come back");
        }
        self.receive(max, visibility).await
    }
    /// Records a received job as dead with `reason` without settling its receipt. The Lambda
    /// adapter uses this: Lambda itself deletes the message once the batch reports it done.
    async fn dead_letter(&self, job: &ReceivedJob, reason: &str) -> Result<(), QueueError>;
    /// Jobs waiting or in flight (not dead). Approximate on SQS.
    async fn depth(&self) -> Result<u64, QueueError>;
    /// How long ago the oldest job that is not dead was first sent (retries keep their first
    /// send time), or `None` when the adapter cannot tell: SQS publishes that age only as the
    /// CloudWatch metric `ApproximateAgeOfOldestMessage` (`template.yaml` alarms on it), not
    /// through its API. `/metrics` samples it on each scrape.
    async fn oldest_age(&self) -> Result<Option<Duration>, QueueError>;
    /// Up to `max` jobs in the dead-letter state, for inspection.
    async fn dead_letters(&self, max: usize) -> Result<Vec<DeadLetter>, QueueError>;
    /// Waits until a job may have been sent or `timeout` passes: lets pollers sleep cheaply.
    async fn wait_for_work(&self, timeout: Duration) {
        tokio::time::sleep(timeout).await;
    }
    fn kind(&self) -> &'static str;
}
