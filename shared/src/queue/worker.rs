//! The worker core: a batch of received jobs in, one outcome per job out, and the polling loop
//! that `serve` runs over it. The Lambda adapter (see [`crate::lambda`]) feeds the same core from
//! SQS events, so both paths settle jobs identically.

use super::{Outcome, Queue, ReceivedJob};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Decides what becomes of one job. Implementations must record the job's effect durably
/// before returning `Done`: the queue forgets the job as soon as it is settled.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    async fn handle(&self, job: &ReceivedJob) -> Outcome;
}

/// Runs every job of a batch concurrently; outcome `i` belongs to job `i`.
pub async fn process_batch(handler: &dyn JobHandler, jobs: &[ReceivedJob]) -> Vec<Outcome> {
    futures::future::join_all(jobs.iter().map(|job| handler.handle(job))).await
}

/// How the polling worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// How long a received job stays hidden from other workers.
    pub visibility: Duration,
    /// How long to wait for work when the queue is empty before polling again.
    pub idle_wait: Duration,
    /// Batches in flight at once (polling loops). Deliveries mostly wait on the network and on
    /// commits, not the CPU, so many loops keep both busy.
    pub concurrency: usize,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            visibility: Duration::from_secs(180),
            idle_wait: Duration::from_millis(250),
            concurrency: 32,
        }
    }
}

/// Polls `queue` and settles every job through `handler` until `shutdown` turns true. A batch
/// already received is finished and settled before the loop returns, so a clean shutdown leaves
/// every job either settled or still queued.
pub async fn run_worker(
    queue: Arc<dyn Queue>,
    handler: Arc<dyn JobHandler>,
    options: WorkerOptions,
    shutdown: watch::Receiver<bool>,
) {
    let mut loops = tokio::task::JoinSet::new();
    for _ in 0..options.concurrency.max(1) {
        let (queue, handler, options, mut shutdown) = (
            Arc::clone(&queue),
            Arc::clone(&handler),
            options.clone(),
            shutdown.clone(),
        );
        loops.spawn(async move {
            // The outcomes of the last batch, settled together with the next receive.
            let mut finished: Vec<(ReceivedJob, Outcome)> = Vec::new();
            while !*shutdown.borrow() {
                let settling = std::mem::take(&mut finished);
                let jobs = match queue
                    .settle_and_receive(settling, 10, options.visibility)
                    .await
                {
                    Ok(jobs) => jobs,
                    Err(_) if *shutdown.borrow() => break,
                    Err(e) => {
                        // Unsettled jobs stay hidden until their visibility ends, then come back.
                        tracing::warn!(error = %e, "receiving jobs failed; backing off");
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                            _ = shutdown.changed() => {}
                        }
                        continue;
                    }
                };
                if jobs.is_empty() {
                    tokio::select! {
                        _ = queue.wait_for_work(options.idle_wait) => {}
                        _ = shutdown.changed() => {}
                    }
                    continue;
                }
                let outcomes = process_batch(handler.as_ref(), &jobs).await;
                finished = jobs.into_iter().zip(outcomes).collect();
            }
            if !finished.is_empty()
                && let Err(e) = queue.settle_many(finished).await
            {
                tracing::warn!(error = %e, "settling the last batch failed; its jobs will come back");
            }
        });
    }
    while loops.join_next().await.is_some() {}
}
