//! The queue conformance suite on both adapters: the embedded queue (a SQLite file) and SQS (moto).

use switchboard::queue::conformance::{CASES, run};
use switchboard::queue::sqlite::SqliteQueue;
use switchboard::queue::{OutgoingJob, Queue};
use switchboard::store::sqlite::{Database, Durability};
use switchboard_tests::{sqlite_db, sqs_queue};

switchboard_tests::conformance_suite! {
    cases: CASES,
    run: run,
    adapters: {
        embedded => {
            let (db, dir) = sqlite_db();
            (SqliteQueue::new(db), dir)
        },
        sqs => (sqs_queue().await, ()),
    },
    tests: [
        send_receive_done,
        delay_hides_job,
        unsettled_job_comes_back,
        retry_after_delays,
        dead_letters_keep_reason,
        batch_sends_all_once,
        settle_and_receive_in_one_step,
        oldest_age_counts_from_first_send,
    ],
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_queue_keeps_jobs_across_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("q.db");
    {
        let queue = SqliteQueue::new(Database::open(&path, Durability::Normal).expect("open"));
        queue
            .send(OutgoingJob::now("survivor"))
            .await
            .expect("send");
        // Received but never settled: the process "dies" holding it.
        let held = queue
            .receive(1, std::time::Duration::from_millis(300))
            .await
            .expect("receive");
        assert_eq!(held.len(), 1);
    }
    let queue = SqliteQueue::new(Database::open(&path, Durability::Normal).expect("reopen"));
    let job = switchboard_tests::eventually(std::time::Duration::from_secs(5), || async {
        queue
            .receive(1, std::time::Duration::from_secs(30))
            .await
            .expect("receive")
            .pop()
    })
    .await
    .expect("the job comes back after restart");
    assert_eq!(job.body, "survivor");
    assert_eq!(job.receive_count, 2);
}
