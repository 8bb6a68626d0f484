//! The embedded queue: messages in the same SQLite file as the store, with `visible_at`,
//! `receive_count` and a dead-letter flag. A job survives restarts; an unsettled one comes back
//! when its visibility ends.

use super::{DeadLetter, MAX_RECEIVES, Outcome, OutgoingJob, Queue, QueueError, ReceivedJob};
use crate::store::StoreError;
use crate::store::sqlite::{Database, exec};
use async_trait::async_trait;
use rusqlite::{Connection, params};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The embedded queue.
#[derive(Clone)]
pub struct SqliteQueue {
    db: Arc<Database>,
    wake: Arc<Notify>,
}

impl SqliteQueue {
    pub fn new(db: Arc<Database>) -> Self {
        Self {
            db,
            wake: Arc::new(Notify::new()),
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

fn unavailable(e: StoreError) -> QueueError {
    QueueError::Unavailable(e.to_string())
}

fn sql(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("sqlite: {e}"))
}

#[async_trait]
impl Queue for SqliteQueue {
    async fn send(&self, job: OutgoingJob) -> Result<(), QueueError> {
        self.send_batch(vec![job]).await
    }

    async fn send_batch(&self, jobs: Vec<OutgoingJob>) -> Result<(), QueueError> {
        if jobs.is_empty() {
            return Ok(());
        }
        self.db
            .write(move |tx| {
                let now = now_ms();
                let mut stmt = tx
                    .prepare_cached(
                        "INSERT INTO queue (id, body, visible_at, sent_at) VALUES (?1, ?2, ?3, ?4)",
                    )
                    .map_err(sql)?;
                for job in jobs {
                    let id = ulid::Ulid::new().to_string();
                    stmt.execute(params![id, job.body, now + millis(job.delay), now])
                        .map_err(sql)?;
                }
                Ok(())
            })
            .await
            .map_err(unavailable)?;
        self.wake.notify_waiters();
        Ok(())
    }

    async fn receive(
        &self,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<ReceivedJob>, QueueError> {
        if !(1..=10).contains(&max) {
            return Err(QueueError::Invalid("max must be 1..=10".into()));
        }
        self.db
            .write(move |tx| receive_in(tx, max, visibility))
            .await
            .map_err(unavailable)
    }

    async fn settle(&self, job: &ReceivedJob, outcome: &Outcome) -> Result<(), QueueError> {
        self.settle_many(vec![(job.clone(), outcome.clone())]).await
    }

    async fn settle_many(&self, settled: Vec<(ReceivedJob, Outcome)>) -> Result<(), QueueError> {
        // A stale receipt (the job timed out and another worker holds it now) changes nothing:
        // the current holder settles it.
        self.db
            .write(move |tx| settle_in(tx, &settled))
            .await
            .map_err(unavailable)
    }

    async fn settle_and_receive(
        &self,
        settled: Vec<(ReceivedJob, Outcome)>,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<ReceivedJob>, QueueError> {
        if !(1..=10).contains(&max) {
            return Err(QueueError::Invalid("max must be 1..=10".into()));
        }
        // One commit for both: a polling worker waits on the writer once per batch, not twice.
        self.db
            .write(move |tx| {
                settle_in(tx, &settled)?;
                receive_in(tx, max, visibility)
            })
            .await
            .map_err(unavailable)
    }

    async fn dead_letter(&self, job: &ReceivedJob, reason: &str) -> Result<(), QueueError> {
        self.settle(job, &Outcome::Dead(reason.to_owned())).await
    }

    async fn depth(&self) -> Result<u64, QueueError> {
        self.db
            .read(|conn| {
                conn.query_row("SELECT COUNT(*) FROM queue WHERE dead = 0", [], |row| {
                    row.get::<_, i64>(0)
                })
                .map(|n| n.max(0) as u64)
                .map_err(sql)
            })
            .await
            .map_err(unavailable)
    }

    async fn oldest_age(&self) -> Result<Option<Duration>, QueueError> {
        let oldest = self
            .db
            .read(|conn| {
                conn.query_row("SELECT MIN(sent_at) FROM queue WHERE dead = 0", [], |row| {
                    row.get::<_, Option<i64>>(0)
                })
                .map_err(sql)
            })
            .await
            .map_err(unavailable)?;
        Ok(oldest.map(|sent| Duration::from_millis((now_ms() - sent).max(0) as u64)))
    }

    async fn dead_letters(&self, max: usize) -> Result<Vec<DeadLetter>, QueueError> {
        self.db
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT id, body, COALESCE(dead_reason, '') FROM queue
                         WHERE dead = 1 ORDER BY id LIMIT ?1",
                    )
                    .map_err(sql)?;
                let rows = stmt
                    .query_map(params![max as i64], |row| {
                        Ok(DeadLetter {
                            id: row.get(0)?,
                            body: row.get(1)?,
                            reason: row.get(2)?,
                        })
                    })
                    .map_err(sql)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql)
            })
            .await
            .map_err(unavailable)
    }

    async fn wait_for_work(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.wake.notified()).await;
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }
}

/// Takes up to `max` visible jobs, hiding each for `visibility`; dead-letters jobs received too
/// often without being settled.
fn receive_in(
    tx: &Connection,
    max: usize,
    visibility: Duration,
) -> Result<Vec<ReceivedJob>, StoreError> {
    let now = now_ms();
    let mut select = tx
        .prepare_cached(
            "SELECT id, body, receive_count FROM queue
             WHERE dead = 0 AND visible_at <= ?1 ORDER BY visible_at LIMIT ?2",
        )
        .map_err(sql)?;
    let rows = select
        .query_map(params![now, max as i64], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, u32>(2)?,
            ))
        })
        .map_err(sql)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql)?;
    let mut jobs = Vec::with_capacity(rows.len());
    for (id, body, count) in rows {
        if count >= MAX_RECEIVES {
            exec(
                tx,
                "UPDATE queue SET dead = 1, dead_reason = ?2 WHERE id = ?1",
                params![id, "received too many times without being settled"],
            )
            .map_err(sql)?;
            continue;
        }
        let receipt = format!("{id}:{}", ulid::Ulid::new());
        exec(
            tx,
            "UPDATE queue SET visible_at = ?2, receive_count = receive_count + 1,
             receipt = ?3 WHERE id = ?1",
            params![id, now + millis(visibility), receipt],
        )
        .map_err(sql)?;
        jobs.push(ReceivedJob {
            id,
            body,
            receive_count: count + 1,
            receipt,
        });
    }
    Ok(jobs)
}

/// Applies outcomes to received jobs. A stale receipt (the job timed out and another worker
/// holds it now) changes nothing: the current holder settles it.
fn settle_in(tx: &Connection, settled: &[(ReceivedJob, Outcome)]) -> Result<(), StoreError> {
    let now = now_ms();
    for (job, outcome) in settled {
        let (id, receipt) = (&job.id, &job.receipt);
        match outcome {
            Outcome::Done => exec(
                tx,
                "DELETE FROM queue WHERE id = ?1 AND receipt = ?2",
                params![id, receipt],
            ),
            Outcome::RetryAfter(after) => exec(
                tx,
                "UPDATE queue SET visible_at = ?3 WHERE id = ?1 AND receipt = ?2",
                params![id, receipt, now + millis(*after)],
            ),
            Outcome::Dead(reason) => exec(
                tx,
                "UPDATE queue SET dead = 1, dead_reason = ?3 WHERE id = ?1 AND receipt = ?2",
                params![id, receipt, reason],
            ),
        }
        .map_err(sql)?;
    }
    Ok(())
}
