//! The delivery budget on both adapter sets: the endpoint's `max_attempts` (not the queue's
//! receive count) decides when a delivery is dead, rate-limit waits spend no receives, and a job
//! the queue gives up on leaves its delivery `failed` with the reason.

use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use switchboard::delivery::schedule::RetrySchedule;
use switchboard::queue::{DeadLetter, MAX_RECEIVES, Outcome, ReceivedJob};
use switchboard_tests::receiver::Reply;
use switchboard_tests::{Backend, Harness, WAIT, eventually};

/// Dead letters of the app's queue, read until `n` have been seen or `within` passes.
async fn dead_letters(h: &Harness, n: usize, within: Duration) -> Vec<DeadLetter> {
    let deadline = std::time::Instant::now() + within;
    let mut seen: Vec<DeadLetter> = Vec::new();
    loop {
        for letter in h.app.queue.dead_letters(10).await.expect("dead letters") {
            if !seen.iter().any(|l| l.id == letter.id) {
                seen.push(letter);
            }
        }
        if seen.len() >= n || std::time::Instant::now() >= deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How long 12 attempts take at most: a 0.2 s schedule, which SQS rounds up to whole seconds.
fn twelve_attempts_within(backend: Backend) -> Duration {
    match backend {
        Backend::Sqlite => Duration::from_secs(15),
        Backend::Aws => Duration::from_secs(30),
    }
}

async fn twelve_attempts_then_failed(backend: Backend) {
    let h = Harness::with(backend, |s| {
        s.delivery.schedule = RetrySchedule::parse("0,0.2").expect("schedule");
    })
    .await;
    h.receiver
        .script("down", (0..30).map(|_| Reply::Status(500)));
    let (ep, _) = h.endpoint("down", json!({"max_attempts": 12})).await;
    let worker = h.worker();
    let id = h.publish_id("order.paid").await;

    let event = h
        .delivery_status(&id, "failed", twelve_attempts_within(backend))
        .await;
    let delivery = &event["deliveries"][0];
    assert_eq!(delivery["attempts"], json!(12), "{event}");
    assert_eq!(delivery["last_status_code"], json!(500), "{event}");
    assert!(delivery["next_attempt_at"].is_null(), "{event}");

    let attempts = h.attempts(&ep, 12).await;
    let numbers: Vec<u64> = attempts["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|a| a["attempt"].as_u64().expect("attempt"))
        .collect();
    assert_eq!(
        numbers,
        (1..=12).rev().collect::<Vec<u64>>(),
        "newest first"
    );
    assert!(
        attempts["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|a| a["status_code"] == json!(500) && a["message_id"] == json!(id)),
        "{attempts}"
    );
    // The queue would hand the job out again within a second on either adapter: give it that
    // long, and a little more, to show that nothing comes.
    let thirteenth = eventually(Duration::from_secs(3), || async {
        (h.receiver.seen("down").len() > 12).then_some(())
    })
    .await;
    assert!(thirteenth.is_none(), "a 13th attempt was made");
    worker.stop().await;
    assert_eq!(h.receiver.seen("down").len(), 12);
    let logged = h.get(&format!("/v1/webhooks/{ep}/attempts")).await;
    assert_eq!(logged["data"].as_array().map(Vec::len), Some(12));
    let dead = dead_letters(&h, 1, Duration::from_secs(5)).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(dead[0].reason.contains("12 attempts"), "{dead:?}");
    assert_eq!(h.app.queue.depth().await.expect("depth"), 0);
}

/// How long a backlog of 20 seconds' worth of deliveries may take in all.
fn backlog_within(backend: Backend) -> Duration {
    match backend {
        Backend::Sqlite => Duration::from_secs(30),
        Backend::Aws => Duration::from_secs(35),
    }
}

async fn backlog_of_twenty_seconds_is_delivered_in_full(backend: Backend) {
    let h = Harness::start(backend).await;
    let (_ep, _) = h.endpoint("limited", json!({"rate_limit_per_s": 2})).await;
    let mut published = BTreeSet::new();
    for i in 0..40 {
        let reply = h
            .post("/v1/events", json!({"type": "bulk.item", "data": {"i": i}}))
            .await;
        assert_eq!(
            reply.status,
            reqwest::StatusCode::ACCEPTED,
            "{}",
            reply.body
        );
        published.insert(reply.body["id"].as_str().expect("id").to_owned());
    }
    let worker = h.worker();
    let got = h
        .receiver
        .wait_for("limited", 40, backlog_within(backend))
        .await;
    let delivered: BTreeSet<String> = got
        .iter()
        .map(|r| r.headers["webhook-id"].to_str().expect("id").to_owned())
        .collect();
    assert_eq!(delivered, published, "every event delivered");
    // At 2 per second, 40 deliveries span at least 19 windows.
    let span = got.last().expect("last").at - got[0].at;
    assert!(span >= Duration::from_secs(18), "the limit held: {span:?}");
    for id in &published {
        let event = h.delivery_status(id, "succeeded", WAIT).await;
        assert_eq!(event["deliveries"][0]["attempts"], json!(1), "{event}");
    }
    // The queue drains with the worker still running: a deferral whose job came back (at least
    // once) leaves a second deferred copy, which finds the delivery recorded and settles
    // without sending; the receiver's count below shows no copy sent again.
    let drained = eventually(WAIT, || async {
        (h.app.queue.depth().await.expect("depth") == 0).then_some(())
    })
    .await;
    worker.stop().await;
    assert!(drained.is_some(), "the queue drained");
    assert_eq!(got.len(), 40, "each delivered once");
    assert_eq!(h.receiver.seen("limited").len(), 40, "each delivered once");
    let dead = h.app.queue.dead_letters(10).await.expect("dead letters");
    assert!(dead.is_empty(), "nothing dead-lettered: {dead:?}");
    assert_eq!(h.app.queue.depth().await.expect("depth"), 0);
}

async fn a_job_the_queue_gives_up_on_fails_its_delivery(backend: Backend) {
    let h = Harness::start(backend).await;
    h.receiver
        .script("flaky", (0..5).map(|_| Reply::Status(500)));
    let (ep, _) = h.endpoint("flaky", json!({"max_attempts": 5})).await;
    let id = h.publish_id("invoice.created").await;
    // No worker: this test is the worker. Take the job off the queue.
    let job = eventually(WAIT, || async {
        h.app
            .queue
            .receive(1, Duration::from_secs(60))
            .await
            .expect("receive")
            .pop()
    })
    .await
    .expect("the delivery job is queued");
    let handler = h.app.job_handler();

    // Control: on an early receive a failed attempt is retried, and the delivery says so.
    let outcome = handler.handle(&job).await;
    assert!(matches!(outcome, Outcome::RetryAfter(_)), "{outcome:?}");
    let event = h.get(&format!("/v1/events/{id}")).await;
    assert_eq!(
        event["deliveries"][0]["status"],
        json!("retrying"),
        "{event}"
    );

    // On the queue's last receive, the same failure is final.
    let last = ReceivedJob {
        receive_count: MAX_RECEIVES,
        ..job.clone()
    };
    let outcome = handler.handle(&last).await;
    let Outcome::Dead(reason) = &outcome else {
        panic!("expected a dead job, got {outcome:?}");
    };
    assert!(reason.contains("queue"), "{reason}");
    let event = h.get(&format!("/v1/events/{id}")).await;
    let delivery = &event["deliveries"][0];
    assert_eq!(delivery["status"], json!("failed"), "{event}");
    assert_eq!(delivery["attempts"], json!(2), "{event}");
    assert!(delivery["next_attempt_at"].is_null(), "{event}");
    assert!(
        delivery["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("queue") && e.contains(&MAX_RECEIVES.to_string())),
        "{event}"
    );
    assert_eq!(h.receiver.seen("flaky").len(), 2);
    let attempts = h.get(&format!("/v1/webhooks/{ep}/attempts")).await;
    assert_eq!(attempts["data"].as_array().map(Vec::len), Some(2));

    // Settled as dead, the job is in the dead-letter state with the same reason.
    h.app.queue.settle(&last, &outcome).await.expect("settle");
    let dead = dead_letters(&h, 1, Duration::from_secs(5)).await;
    assert_eq!(
        dead.iter().map(|d| d.reason.as_str()).collect::<Vec<_>>(),
        [reason.as_str()]
    );
    let body: Value = serde_json::from_str(&dead[0].body).expect("job body");
    assert_eq!(body["message"], json!(id), "{body}");
}

switchboard_tests::on_both_backends!(
    twelve_attempts_then_failed,
    backlog_of_twenty_seconds_is_delivered_in_full,
    a_job_the_queue_gives_up_on_fails_its_delivery,
);
