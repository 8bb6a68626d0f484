//! `switchboard rewrap`: wiring for `switchboard::rewrap` (the walk lives in the library), with
//! a progress bar on a terminal and plain progress lines otherwise.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use switchboard::config::process_env;
use switchboard::rewrap::{self, Options, Outcome, Progress, Report, Silent, kinds};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// How often plain progress lines are printed when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(2);

pub struct RewrapArgs {
    pub data_dir: PathBuf,
    pub to_key: String,
    pub dry_run: bool,
    pub limit: Option<u64>,
}

/// A bar over the records a dry run found to rewrap.
struct Bar(ProgressBar);

impl Progress for Bar {
    fn record(&self, kind: &'static str, outcome: Outcome) {
        if matches!(outcome, Outcome::Rewrapped(_) | Outcome::Failed) {
            self.0.inc(1);
            self.0.set_message(kind);
        }
    }
}

/// A line to stderr at most every [`LINE_EVERY`].
struct Lines {
    seen: AtomicU64,
    rewrapped: AtomicU64,
    last: std::sync::Mutex<Instant>,
}

impl Progress for Lines {
    fn record(&self, kind: &'static str, outcome: Outcome) {
        let seen = self.seen.fetch_add(1, Ordering::Relaxed) + 1;
        let rewrapped = if matches!(outcome, Outcome::Rewrapped(_)) {
            self.rewrapped.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.rewrapped.load(Ordering::Relaxed)
        };
        if let Ok(mut last) = self.last.lock()
            && last.elapsed() >= LINE_EVERY
        {
            *last = Instant::now();
            eprintln!("rewrap: {seen} records read, {rewrapped} rewrapped (now at {kind})");
        }
    }
}

pub async fn run(args: RewrapArgs) -> Result<bool> {
    let config = switchboard::config::Config::for_serve(args.data_dir, &process_env)?;
    let app = switchboard::app::App::build(&config).await?;
    let registry = kinds::registry();
    let options = Options {
        to_key: args.to_key,
        dry_run: args.dry_run,
        limit: args.limit,
    };
    let report = if args.dry_run {
        rewrap::run(
            app.store.as_ref(),
            app.keys.as_ref(),
            &registry,
            &options,
            &Silent,
        )
        .await?
    } else if std::io::stderr().is_terminal() {
        // A dry run first, for the bar's length.
        let plan = rewrap::run(
            app.store.as_ref(),
            app.keys.as_ref(),
            &registry,
            &Options {
                dry_run: true,
                limit: None,
                ..options.clone()
            },
            &Silent,
        )
        .await?;
        let total = options
            .limit
            .map_or(plan.rewrapped(), |l| l.min(plan.rewrapped()));
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} records {msg} ({eta} left)")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let bar = Bar(bar);
        let report = rewrap::run(
            app.store.as_ref(),
            app.keys.as_ref(),
            &registry,
            &options,
            &bar,
        )
        .await;
        bar.0.finish_and_clear();
        report?
    } else {
        let lines = Lines {
            seen: AtomicU64::new(0),
            rewrapped: AtomicU64::new(0),
            last: std::sync::Mutex::new(Instant::now()),
        };
        rewrap::run(
            app.store.as_ref(),
            app.keys.as_ref(),
            &registry,
            &options,
            &lines,
        )
        .await?
    };
    print_report(&report);
    Ok(report.failures.is_empty())
}

fn print_report(report: &Report) {
    let verb = if report.dry_run {
        "would rewrap"
    } else {
        "rewrapped"
    };
    println!("target key: {}", report.target_key_id);
    for (kind, c) in &report.kinds {
        println!(
            "{kind}: {} records read, {} {verb} ({} envelopes), {} already under the target key, {} failed",
            c.records, c.rewrapped, c.envelopes, c.current, c.failed
        );
    }
    for f in &report.failures {
        println!("failed: {} {}/{}: {}", f.kind, f.key.pk, f.key.sk, f.reason);
    }
    if !report.complete {
        println!("stopped at the limit: run again to rewrap the rest");
    } else if report.dry_run {
        println!("dry run: nothing was written");
    } else if report.failures.is_empty() {
        println!("done: every sealed record is under the target key");
    }
}
