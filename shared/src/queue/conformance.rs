//! The behaviour every [`Queue`] adapter must show, run by the `tests` crate against the embedded
//! queue (a real file) and SQS (moto server). Each case needs a queue of its own, since depth
//! and dead letters are queue-wide.

// A test suite (compiled only with the `conformance` feature): a failed step panics the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::{Outcome, OutgoingJob, Queue, ReceivedJob};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

pub const CASES: &[&str] = &[
    "send_receive_done",
    "delay_hides_job",
    "unsettled_job_comes_back",
    "retry_after_delays",
    "dead_letters_keep_reason",
    "batch_sends_all_once",
    "settle_and_receive_in_one_step",
    "oldest_age_counts_from_first_send",
];

pub async fn run(queue: &dyn Queue, case: &str) {
    match case {
        "send_receive_done" => send_receive_done(queue).await,
        "delay_hides_job" => delay_hides_job(queue).await,
        "unsettled_job_comes_back" => unsettled_job_comes_back(queue).await,
        "retry_after_delays" => retry_after_delays(queue).await,
        "dead_letters_keep_reason" => dead_letters_keep_reason(queue).await,
        "batch_sends_all_once" => batch_sends_all_once(queue).await,
        "settle_and_receive_in_one_step" => settle_and_receive_in_one_step(queue).await,
        "oldest_age_counts_from_first_send" => oldest_age_counts_from_first_send(queue).await,
        other => panic!("unknown queue conformance case {other}"),
    }
}

const LONG: Duration = Duration::from_secs(60);

/// Receives until a job arrives or `deadline` passes.
async fn receive_one(
    queue: &dyn Queue,
    visibility: Duration,
    within: Duration,
) -> Option<ReceivedJob> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let mut jobs = queue.receive(1, visibility).await.expect("receive");
        if let Some(job) = jobs.pop() {
            return Some(job);
        }
        queue.wait_for_work(Duration::from_millis(100)).await;
    }
    None
}

async fn send_receive_done(queue: &dyn Queue) {
    queue
        .send(OutgoingJob::now(r#"{"kind":"a","n":1}"#))
        .await
        .expect("send");
    let job = receive_one(queue, LONG, Duration::from_secs(5))
        .await
        .expect("job arrives");
    assert_eq!(job.body, r#"{"kind":"a","n":1}"#);
    assert_eq!(job.receive_count, 1);
    assert_eq!(
        queue.depth().await.expect("depth"),
        1,
        "in flight still counts"
    );
    queue.settle(&job, &Outcome::Done).await.expect("settle");
    assert_eq!(queue.depth().await.expect("depth"), 0, "done jobs are gone");
}

async fn delay_hides_job(queue: &dyn Queue) {
    let sent = Instant::now();
    queue
        .send(OutgoingJob {
            body: "later".into(),
            delay: Duration::from_secs(2),
        })
        .await
        .expect("send");
    assert!(
        queue.receive(10, LONG).await.expect("receive").is_empty(),
        "hidden while delayed"
    );
    let job = receive_one(queue, LONG, Duration::from_secs(10))
        .await
        .expect("arrives after delay");
    assert!(
        sent.elapsed() >= Duration::from_millis(1900),
        "not before its delay"
    );
    assert_eq!(job.body, "later");
    queue.settle(&job, &Outcome::Done).await.expect("settle");
}

async fn unsettled_job_comes_back(queue: &dyn Queue) {
    queue.send(OutgoingJob::now("crashy")).await.expect("send");
    let first = receive_one(queue, Duration::from_secs(1), Duration::from_secs(5))
        .await
        .expect("first receipt");
    // The worker "dies" here: no settle. The job must come back, counted twice.
    let second = receive_one(queue, LONG, Duration::from_secs(10))
        .await
        .expect("redelivered");
    assert_eq!(second.id, first.id);
    assert_eq!(second.receive_count, 2);
    queue.settle(&second, &Outcome::Done).await.expect("settle");
    assert_eq!(queue.depth().await.expect("depth"), 0);
}

async fn retry_after_delays(queue: &dyn Queue) {
    queue
        .send(OutgoingJob::now("retry me"))
        .await
        .expect("send");
    let first = receive_one(queue, LONG, Duration::from_secs(5))
        .await
        .expect("job");
    let settled = Instant::now();
    queue
        .settle(&first, &Outcome::RetryAfter(Duration::from_secs(2)))
        .await
        .expect("settle");
    assert!(
        queue.receive(10, LONG).await.expect("receive").is_empty(),
        "hidden during backoff"
    );
    let again = receive_one(queue, LONG, Duration::from_secs(10))
        .await
        .expect("back after backoff");
    assert!(
        settled.elapsed() >= Duration::from_millis(1500),
        "backoff honoured"
    );
    assert_eq!(again.id, first.id);
    assert_eq!(again.receive_count, 2);
    queue.settle(&again, &Outcome::Done).await.expect("settle");
}

async fn dead_letters_keep_reason(queue: &dyn Queue) {
    queue.send(OutgoingJob::now("poison")).await.expect("send");
    let job = receive_one(queue, LONG, Duration::from_secs(5))
        .await
        .expect("job");
    queue
        .settle(&job, &Outcome::Dead("max attempts reached".into()))
        .await
        .expect("settle");
    assert_eq!(
        queue.depth().await.expect("depth"),
        0,
        "dead jobs leave the work queue"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let dead = queue.dead_letters(10).await.expect("dead letters");
        if let Some(letter) = dead.iter().find(|d| d.body == "poison") {
            assert_eq!(letter.reason, "max attempts reached");
            assert_eq!(letter.id, job.id);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "dead letter never appeared: {dead:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn batch_sends_all_once(queue: &dyn Queue) {
    let bodies: BTreeSet<String> = (0..25).map(|i| format!("job-{i}")).collect();
    queue
        .send_batch(bodies.iter().cloned().map(OutgoingJob::now).collect())
        .await
        .expect("send batch");
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while seen.len() < bodies.len() && Instant::now() < deadline {
        for job in queue.receive(10, LONG).await.expect("receive") {
            assert!(seen.insert(job.body.clone()), "{} received twice", job.body);
            queue.settle(&job, &Outcome::Done).await.expect("settle");
        }
    }
    assert_eq!(seen, bodies);
    assert_eq!(queue.depth().await.expect("depth"), 0);
}

async fn settle_and_receive_in_one_step(queue: &dyn Queue) {
    queue.send(OutgoingJob::now("first")).await.expect("send");
    let first = receive_one(queue, LONG, Duration::from_secs(5))
        .await
        .expect("first");
    queue.send(OutgoingJob::now("second")).await.expect("send");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut settling = vec![(first.clone(), Outcome::Done)];
    let second = loop {
        let mut got = queue
            .settle_and_receive(std::mem::take(&mut settling), 10, LONG)
            .await
            .expect("settle and receive");
        if let Some(job) = got.pop() {
            break job;
        }
        assert!(Instant::now() < deadline, "the next job never arrived");
        queue.wait_for_work(Duration::from_millis(100)).await;
    };
    assert_eq!(second.body, "second");
    assert_eq!(
        queue.depth().await.expect("depth"),
        1,
        "the first job was settled as done"
    );
    queue
        .settle_and_receive(vec![(second, Outcome::Done)], 10, LONG)
        .await
        .expect("settle");
    assert_eq!(queue.depth().await.expect("depth"), 0);
}

/// The oldest job's age runs from its first send, through retries, and is gone with the job.
/// An adapter that cannot tell (SQS) must say so for every queue state, never guess.
async fn oldest_age_counts_from_first_send(queue: &dyn Queue) {
    assert_eq!(
        queue.oldest_age().await.expect("age"),
        None,
        "an empty queue has no oldest job"
    );
    let before_send = Instant::now();
    queue.send(OutgoingJob::now("aging")).await.expect("send");
    let first = receive_one(queue, LONG, Duration::from_secs(5))
        .await
        .expect("job");
    queue
        .settle(&first, &Outcome::RetryAfter(Duration::from_millis(500)))
        .await
        .expect("settle");
    let again = receive_one(queue, LONG, Duration::from_secs(10))
        .await
        .expect("back after backoff");
    let age = queue.oldest_age().await.expect("age");
    let upper = before_send.elapsed();
    if let Some(age) = age {
        assert!(
            age >= Duration::from_millis(480),
            "counted from the first send, not the retry: {age:?}"
        );
        assert!(
            age <= upper + Duration::from_millis(5),
            "{age:?} > {upper:?}"
        );
    }
    queue.settle(&again, &Outcome::Done).await.expect("settle");
    assert_eq!(
        queue.oldest_age().await.expect("age"),
        None,
        "a done job no longer counts"
    );
}
