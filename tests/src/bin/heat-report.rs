//! Prints the hottest partition keys of one simulated second of a 10,000 deliveries/s tenant
//! (100 events x 100 endpoints, then 1,000 x 10), and writes the per-delivery costs the capacity
//! model reads. Usage: `heat-report [out.json]`. Run by `scripts/bench.sh`.

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut runs = Vec::new();
    for (events, endpoints) in [(100, 100), (1_000, 10)] {
        let report = switchboard_tests::heat::one_second_of(events, endpoints).await;
        println!(
            "heat {events} events x {endpoints} endpoints: hottest {}",
            report.hottest_lines(3).join("; ")
        );
        runs.push(report.to_json());
    }
    if let Some(path) = std::env::args().nth(1) {
        let text = serde_json::to_string_pretty(&runs).unwrap_or_default();
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("writing {path}: {e}");
            std::process::exit(1);
        }
    }
}
