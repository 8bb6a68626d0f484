//! `switchboard`: the local all-in-one server and operator tools.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

mod bench;
mod bench_actions;
mod bench_inbound;
mod commands;
mod fake;
mod receiver;
mod rewrap;
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

/// The providers `switchboard fake` stands in for.
#[derive(Subcommand)]
enum FakeProvider {
    /// Twilio's Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`): checks basic auth
    /// and the form fields as Twilio does, prints each SMS it would send.
    Twilio {
        #[arg(long, default_value = "127.0.0.1:9100")]
        addr: SocketAddr,
        /// The account SID the fake accepts (`AC` + 32 characters).
        #[arg(long)]
        account_sid: String,
        /// The auth token the fake accepts.
        #[arg(long, env = "FAKE_TWILIO_AUTH_TOKEN")]
        auth_token: String,
    },
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
    /// Sign a test request as a provider would and print its headers (`Name: value` lines, for
    /// curl's `-H`) or, with `--curl`, a whole curl command. Shared-secret providers only.
    Sign {
        #[arg(long, default_value = "standard_webhooks")]
        provider: String,
        /// The secret as pasted in the integration's config.
        #[arg(long)]
        secret: String,
        /// The provider's other options, as the integration's `config` JSON (without the secret).
        #[arg(long)]
        config: Option<String>,
        #[arg(long)]
        body_file: PathBuf,
        /// The public URL the request is sent to (Twilio and Square sign it).
        #[arg(long)]
        url: Option<String>,
        /// Sign at this time (Unix seconds) instead of now.
        #[arg(long, alias = "timestamp")]
        now: Option<i64>,
        /// Standard Webhooks only: sign this message id and print just the `webhook-signature`.
        #[arg(long)]
        id: Option<String>,
        /// Where to write the signed body when the provider signs inside it (Mailgun, Linear).
        #[arg(long)]
        body_out: Option<PathBuf>,
        /// Print a curl command instead of the headers.
        #[arg(long)]
        curl: bool,
    },
    /// Check a received request as the intake would: prints `valid` and exits 0, or prints which
    /// check failed (missing header, stale by N seconds, no signature matched) and exits 1.
    Verify {
        #[arg(long, default_value = "standard_webhooks")]
        provider: String,
        /// The secret (or public key) as pasted in the integration's config; repeat for
        /// secrets in rotation grace, current first.
        #[arg(long, required = true)]
        secret: Vec<String>,
        /// The provider's other options, as the integration's `config` JSON (without the secret).
        #[arg(long)]
        config: Option<String>,
        /// A header as `Name: value`; repeat for each.
        #[arg(long = "header")]
        headers: Vec<String>,
        #[arg(long)]
        body_file: PathBuf,
        /// The public URL the provider called (Twilio and Square sign it).
        #[arg(long)]
        url: Option<String>,
        /// Check the timestamp against this time (Unix seconds) instead of now.
        #[arg(long)]
        now: Option<i64>,
        /// How far a signed timestamp may be from now, in seconds (default 300).
        #[arg(long)]
        tolerance: Option<u32>,
    },
    /// A local webhook receiver that verifies and prints every delivery.
    Receive {
        #[arg(long, default_value = "127.0.0.1:9000")]
        addr: SocketAddr,
        /// The endpoint's `whsec_` secret; repeat during a rotation.
        #[arg(long)]
        secret: Vec<String>,
    },
    /// Loopback stand-ins for provider APIs, to try actions without an account.
    Fake {
        #[command(subcommand)]
        provider: FakeProvider,
    },
    /// Benchmarks (see scripts/bench.sh).
    #[command(hide = true)]
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    /// Re-wrap the data key of every sealed record (webhook signing secrets and headers,
    /// integration configs) under another master key, without downtime: reads keep working
    /// throughout, since each envelope names its key.
    ///
    /// Uses the store and key provider `serve` would: the embedded data directory (local key
    /// ring), or DynamoDB and KMS when `TABLE_NAME` is set (with `QUEUE_URL`, `DLQ_URL` and
    /// `KMS_KEY_ID`, as for `serve`). Idempotent and resumable: records already under the target
    /// key are skipped, so a run that was stopped can simply be run again. Each record is
    /// written back conditional on its version, so concurrent API writes are never lost.
    ///
    /// New envelopes are sealed under the active key: switch it to the target too (KMS:
    /// `KMS_KEY_ID`; local: `SWITCHBOARD_LOCAL_KEY=NAME`), before the rewrap, or after it and
    /// then run the rewrap once more. Keep the old key until a dry run reports nothing left.
    #[command(verbatim_doc_comment)]
    Rewrap {
        /// The master key to wrap under. KMS: a key id, key ARN, alias name (`alias/…`) or
        /// alias ARN of an enabled key (the data keys are moved with `ReEncrypt`, so they never
        /// leave KMS). Local: a key name (letters, digits, `-`, `_`): `master` is
        /// `<data-dir>/master.key`, any other NAME is `<data-dir>/keys/NAME.key`, created
        /// (mode 0600) if it does not exist; or the `local:…` id of a key of the ring.
        #[arg(long, value_name = "KEY_ID")]
        to_key: String,
        /// Count, per kind of record, what would be rewrapped, and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Stop after rewrapping this many records (run again to go on).
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        #[arg(long, env = "SWITCHBOARD_DATA_DIR", default_value = ".switchboard")]
        data_dir: PathBuf,
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
            provider,
            secret,
            config,
            body_file,
            url,
            now,
            id,
            body_out,
            curl,
        } => sign::sign(sign::SignArgs {
            provider,
            secret,
            config,
            body_file,
            url,
            now,
            id,
            body_out,
            curl,
        }),
        Command::Verify {
            provider,
            secret,
            config,
            headers,
            body_file,
            url,
            now,
            tolerance,
        } => {
            return match sign::verify(sign::VerifyArgs {
                provider,
                secrets: secret,
                config,
                headers,
                body_file,
                url,
                now,
                tolerance,
            }) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            };
        }
        Command::Receive { addr, secret } => commands::receive(addr, &secret).await,
        Command::Fake {
            provider:
                FakeProvider::Twilio {
                    addr,
                    account_sid,
                    auth_token,
                },
        } => {
            fake::twilio(
                addr,
                fake::Account {
                    sid: account_sid,
                    auth_token: auth_token.into(),
                },
            )
            .await
        }
        Command::Rewrap {
            to_key,
            dry_run,
            limit,
            data_dir,
        } => {
            let args = rewrap::RewrapArgs {
                data_dir,
                to_key,
                dry_run,
                limit,
            };
            return match rewrap::run(args).await {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            };
        }
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
