//! `switchboard`: the local all-in-one server and operator tools.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

mod bench;
mod commands;
mod receiver;
mod sign;

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Webhooks in and out, API keys and credentials for multi-tenant SaaS"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run admin + intake APIs and the delivery worker in one process (embedded store by default).
    Serve {
        #[arg(long, env = "SWITCHBOARD_ADDR", default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        #[arg(long, env = "SWITCHBOARD_DATA_DIR", default_value = ".switchboard")]
        data_dir: PathBuf,
        /// Serve Prometheus metrics at `GET /metrics` on this address (off when unset; never on
        /// the public port). Unauthenticated: bind loopback or a private interface.
        #[arg(long, env = "SWITCHBOARD_METRICS_ADDR")]
        metrics_addr: Option<SocketAddr>,
        #[command(flatten)]
        limits: commands::LimitArgs,
    },
    /// Print the OpenAPI document (the checked-in `shared/openapi.json`).
    Openapi,
    /// Make a new root key and print it with its SHA-256 (for `ROOT_KEY_SHA256`).
    RootKey,
    /// Demo data for local invokes of the sample events (public keys: never in production).
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Print the `webhook-signature` of a message (Standard Webhooks).
    Sign {
        #[arg(long)]
        secret: String,
        #[arg(long)]
        id: String,
        #[arg(long)]
        timestamp: i64,
        #[arg(long)]
        body_file: PathBuf,
    },
    /// Check a delivery's signature; exits non-zero if it does not verify.
    Verify {
        #[arg(long, default_value = "standard_webhooks")]
        provider: String,
        #[arg(long)]
        secret: String,
        /// A header as `name: value`; repeat for each (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
        #[arg(long = "header")]
        headers: Vec<String>,
        #[arg(long)]
        body_file: PathBuf,
        /// Check the timestamp against this time (epoch seconds) instead of now.
        #[arg(long)]
        now: Option<i64>,
    },
    /// A local webhook receiver that verifies and prints every delivery.
    Receive {
        #[arg(long, default_value = "127.0.0.1:9000")]
        addr: SocketAddr,
        /// The endpoint's `whsec_` secret; repeat during a rotation.
        #[arg(long)]
        secret: Vec<String>,
    },
    /// Benchmarks (see scripts/bench.sh).
    #[command(hide = true)]
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    /// Create the table, queues and KMS key in an AWS account or emulator (`AWS_ENDPOINT_URL`).
    AwsInit {
        #[arg(long, default_value = "switchboard")]
        table: String,
        #[arg(long, default_value = "switchboard-delivery")]
        queue: String,
    },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Write the demo tenant and admin key used by `events/` to the configured store.
    Seed {
        #[arg(long, env = "SWITCHBOARD_DATA_DIR", default_value = ".switchboard")]
        data_dir: PathBuf,
        /// Where the demo endpoints deliver (`/demo`, `/demo-retry` below it).
        #[arg(long, default_value = "http://127.0.0.1:9000")]
        receiver: String,
    },
}

/// `serve` allocates per request and per delivery on many threads; mimalloc's thread-local heaps
/// cost a fraction of glibc malloc there (measured with `perf` under the outbound bench).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            addr,
            data_dir,
            limits,
            metrics_addr,
        } => commands::serve(addr, data_dir, limits.into(), metrics_addr).await,
        Command::Openapi => {
            print!("{}", switchboard::api::openapi::document_json());
            Ok(())
        }
        Command::RootKey => {
            commands::root_key();
            Ok(())
        }
        Command::Demo {
            command: DemoCommand::Seed { data_dir, receiver },
        } => commands::demo_seed(data_dir, &receiver).await,
        Command::AwsInit { table, queue } => commands::aws_init(&table, &queue).await,
        Command::Sign {
            secret,
            id,
            timestamp,
            body_file,
        } => sign::sign(&secret, &id, timestamp, &body_file),
        Command::Verify {
            provider,
            secret,
            headers,
            body_file,
            now,
        } => sign::verify_delivery(&provider, &secret, &headers, &body_file, now),
        Command::Receive { addr, secret } => commands::receive(addr, &secret).await,
        Command::Bench { command } => bench::run(command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
