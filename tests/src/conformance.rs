//! The conformance suites of the queue and store ports, written once: see
//! [`conformance_suite!`](crate::conformance_suite).

/// Runs a port's conformance cases against each adapter, one test per case and adapter, plus an
/// `every_case_is_run` test that fails when the port's `CASES` list has a case this suite does
/// not name.
///
/// ```text
/// switchboard_tests::conformance_suite! {
///     cases: CASES,
///     run: run,
///     adapters: {
///         // Each builder evaluates to `(adapter, guard)`; the guard lives for the test.
///         embedded => { let (db, dir) = sqlite_db(); (SqliteQueue::new(db), dir) },
///         sqs => (sqs_queue().await, ()),
///     },
///     tests: [send_receive_done, delay_hides_job],
/// }
/// ```
///
/// `run(&adapter, case_name)` is awaited in a multi-threaded runtime; builders may `.await`.
#[macro_export]
macro_rules! conformance_suite {
    (
        cases: $cases:expr,
        run: $run:path,
        adapters: { $($adapter:ident => $build:expr),+ $(,)? },
        tests: $tests:tt $(,)?
    ) => {
        #[test]
        fn every_case_is_run() {
            let listed: Vec<&str> = $crate::conformance_suite!(@names $tests);
            assert_eq!(listed, $cases, "add new conformance cases to this suite");
        }
        $($crate::conformance_suite!(@adapter $adapter, $run, $build, $tests);)+
    };
    (@names [$($case:ident),* $(,)?]) => {
        vec![$(stringify!($case)),*]
    };
    (@adapter $adapter:ident, $run:path, $build:expr, [$($case:ident),* $(,)?]) => {
        mod $adapter {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let (adapter, _guard) = $build;
                    $run(&adapter, stringify!($case)).await;
                }
            )*
        }
    };
}
