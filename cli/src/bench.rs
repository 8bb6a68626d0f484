//! The benchmark drivers behind `scripts/bench.sh`: outbound throughput and latency against a
//! running `serve`, actions beside webhooks, and the sign+verify micro-benchmark.

use crate::receiver::{self, Tally};
use clap::Subcommand;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use switchboard::signing::standard::{SigningKey, signature_header, verify};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Publish events to a running `serve` and measure delivery to a local receiver.
    Outbound {
        #[arg(long)]
        base: String,
        #[arg(long)]
        root_key: String,
        #[arg(long, default_value_t = 20_000)]
        events: usize,
        #[arg(long, default_value_t = 10)]
        endpoints: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Seconds of the paced run at half the measured rate (latency).
        #[arg(long, default_value_t = 10)]
        paced_seconds: u64,
    },
    /// Sign and verify a 2 KiB body in a loop on one core, ours beside the `standardwebhooks`
    /// crate's, and print both rates and their ratio.
    Sign {
        #[arg(long, default_value_t = 300_000)]
        iterations: u32,
    },
    /// Send GitHub-signed 2 KiB webhooks to a running `serve`'s hook URL and measure the
    /// accepted rate, then the rate at which they are processed and delivered.
    Inbound {
        #[arg(long)]
        base: String,
        #[arg(long)]
        root_key: String,
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
    /// Publish events to a running `serve` whose Twilio base URL is
    /// `http://127.0.0.1:{receiver_port}`, alternately to one webhook and to one `twilio_sms`
    /// action, both received on that port, and print the cost of an action beside a delivery.
    Actions {
        #[arg(long)]
        base: String,
        #[arg(long)]
        root_key: String,
        #[arg(long, default_value_t = 10_000)]
        events: usize,
        /// The loopback port serve's `SWITCHBOARD_TWILIO_BASE_URL` names.
        #[arg(long)]
        receiver_port: u16,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Webhook/action rounds, alternated so that drift hits both.
        #[arg(long, default_value_t = 2)]
        rounds: usize,
    },
    /// Verify alone, per inbound provider, on a 2 KiB body on one core; standard_webhooks also
    /// through the `standardwebhooks` crate's `verify`, side by side.
    Verify {
        #[arg(long, default_value_t = 100_000)]
        iterations: u32,
    },
}

pub async fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Outbound {
            base,
            root_key,
            events,
            endpoints,
            concurrency,
            paced_seconds,
        } => {
            outbound(
                &base,
                &root_key,
                events,
                endpoints,
                concurrency,
                paced_seconds,
            )
            .await
        }
        BenchCommand::Sign { iterations } => sign(iterations),
        BenchCommand::Verify { iterations } => verify_inbound(iterations),
        BenchCommand::Inbound {
            base,
            root_key,
            requests,
            concurrency,
        } => crate::bench_inbound::run(&base, &root_key, requests, concurrency).await,
        BenchCommand::Actions {
            base,
            root_key,
            events,
            receiver_port,
            concurrency,
            rounds,
        } => {
            let run = crate::bench_actions::Run {
                base: &base,
                root_key: &root_key,
                events,
                receiver_port,
                concurrency,
                rounds,
            };
            run.go().await
        }
    }
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn latencies(tally: &Tally) -> (f64, f64) {
    let mut l = tally
        .latencies_ms
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    l.sort_by(f64::total_cmp);
    (percentile(&l, 0.50), percentile(&l, 0.99))
}

pub(crate) async fn post(
    http: &reqwest::Client,
    url: String,
    key: &str,
    body: Value,
) -> Result<Value> {
    let resp = http.post(url).bearer_auth(key).json(&body).send().await?;
    let status = resp.status();
    let value: Value = resp.json().await?;
    if !status.is_success() {
        return Err(format!("{status}: {value}").into());
    }
    Ok(value)
}

/// What every load run starts from: a loopback receiver counting deliveries, an HTTP client
/// pooled for `concurrency`, and a fresh tenant's admin key.
pub(crate) struct Setup {
    pub tally: Arc<Tally>,
    pub receiver_url: String,
    pub http: reqwest::Client,
    pub key: String,
}

pub(crate) async fn setup(
    base: &str,
    root_key: &str,
    tenant_name: &str,
    concurrency: usize,
) -> Result<Setup> {
    setup_on(base, root_key, tenant_name, concurrency, 0).await
}

/// [`setup`] with the receiver on loopback port `port` (0: any free one).
pub(crate) async fn setup_on(
    base: &str,
    root_key: &str,
    tenant_name: &str,
    concurrency: usize,
    port: u16,
) -> Result<Setup> {
    let tally = Arc::new(Tally::default());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let receiver_url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(receiver::serve(
        listener,
        Vec::new(),
        true,
        Arc::clone(&tally),
    ));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let tenant = post(
        &http,
        format!("{base}/v1/tenants"),
        root_key,
        json!({ "name": tenant_name }),
    )
    .await?;
    let key = tenant["api_key"]["key"]
        .as_str()
        .ok_or("no tenant key")?
        .to_owned();
    Ok(Setup {
        tally,
        receiver_url,
        http,
        key,
    })
}

pub(crate) async fn wait_for(tally: &Tally, expected: u64, within: Duration) -> Option<Instant> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if tally.received.load(Ordering::Relaxed) >= expected {
            return Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    None
}

/// Publishes `count` events of type `bench.event` from `concurrency` tasks, every one `pace`
/// apart when given; answers how long it took.
pub(crate) async fn publish_many(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    count: usize,
    concurrency: usize,
    pace: Option<Duration>,
) -> Result<Duration> {
    publish_typed(http, base, key, "bench.event", count, concurrency, pace).await
}

/// [`publish_many`] with events of type `event_type`.
pub(crate) async fn publish_typed(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    event_type: &str,
    count: usize,
    concurrency: usize,
    pace: Option<Duration>,
) -> Result<Duration> {
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (http, url, key, next, event_type) = (
            http.clone(),
            format!("{base}/v1/events"),
            key.to_owned(),
            Arc::clone(&next),
            event_type.to_owned(),
        );
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, String>(());
                }
                if let Some(gap) = pace {
                    let due = started + gap * i as u32;
                    tokio::time::sleep_until(due.into()).await;
                }
                post(
                    &http,
                    url.clone(),
                    &key,
                    json!({"type": event_type, "data": {"i": i, "pad": "x".repeat(512)}}),
                )
                .await
                .map_err(|e| e.to_string())?;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(started.elapsed())
}

async fn outbound(
    base: &str,
    root_key: &str,
    events: usize,
    endpoints: usize,
    concurrency: usize,
    paced_seconds: u64,
) -> Result<()> {
    let Setup {
        tally,
        receiver_url,
        http,
        key,
    } = setup(base, root_key, "bench", concurrency).await?;
    for i in 0..endpoints {
        post(
            &http,
            format!("{base}/v1/webhooks"),
            &key,
            json!({"url": format!("{receiver_url}/e{i}"), "event_types": ["bench.*"]}),
        )
        .await?;
    }

    // Throughput: publish as fast as `concurrency` publishers can, then wait for every delivery.
    let expected = (events * endpoints) as u64;
    let started = Instant::now();
    let publish_time = publish_many(&http, base, &key, events, concurrency, None).await?;
    let done = wait_for(&tally, expected, Duration::from_secs(600))
        .await
        .ok_or("deliveries did not finish in 10 minutes")?;
    let total = done - started;
    let deliveries_per_s = expected as f64 / total.as_secs_f64();
    let events_per_s = events as f64 / publish_time.as_secs_f64();
    let sustained_events = events as f64 / total.as_secs_f64();
    let (p50_all, p99_all) = latencies(&tally);
    println!(
        "outbound, {endpoints} endpoints: {events} events published in {:.2}s ({events_per_s:.0} events/s), \
              {expected} deliveries in {:.2}s ({deliveries_per_s:.0} deliveries/s); publish->delivery p50 {p50_all:.1} ms, p99 {p99_all:.1} ms (saturated)",
        publish_time.as_secs_f64(),
        total.as_secs_f64()
    );

    // Latency at half the sustained rate.
    if let Ok(mut l) = tally.latencies_ms.lock() {
        l.clear();
    }
    let rate = (sustained_events / 2.0).max(1.0);
    let count = (rate * paced_seconds as f64) as usize;
    let before = tally.received.load(Ordering::Relaxed);
    publish_many(
        &http,
        base,
        &key,
        count,
        concurrency,
        Some(Duration::from_secs_f64(1.0 / rate)),
    )
    .await?;
    wait_for(
        &tally,
        before + (count * endpoints) as u64,
        Duration::from_secs(300),
    )
    .await
    .ok_or("paced deliveries did not finish")?;
    let (p50, p99) = latencies(&tally);
    println!(
        "outbound, {endpoints} endpoints, paced at {rate:.0} events/s ({:.0} deliveries/s): publish->delivery p50 {p50:.1} ms, p99 {p99:.1} ms",
        rate * endpoints as f64
    );
    let bad = tally.bad_signatures.load(Ordering::Relaxed);
    if bad > 0 {
        return Err(format!("{bad} deliveries failed signature checks").into());
    }
    Ok(())
}

/// Sign+verify of a 2 KiB body on one thread, by our signer and by the `standardwebhooks` crate
/// (the Standard Webhooks project's own Rust library), with the same secret, body, ids and
/// timestamp. Both run through their public API as a sender plus a receiver would: ours takes
/// the header values as strings, theirs a `HeaderMap` (the timestamp is inserted once; the id and
/// signature per message). The two alternate in rounds so that clock or cache drift hits both.
fn sign(iterations: u32) -> Result<()> {
    use secrecy::ExposeSecret;
    use standardwebhooks::{HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE, HEADER_WEBHOOK_TIMESTAMP};

    const ROUNDS: u32 = 6;
    let (key, secret) = SigningKey::generate(32);
    let theirs = standardwebhooks::Webhook::new(secret.expose_secret())?;
    let body = vec![b'a'; 2048];
    let keys = [key];
    // standardwebhooks checks the timestamp against the clock, so it must be now.
    let now = chrono::Utc::now().timestamp();
    let now_text = now.to_string();
    let mut headers = http::HeaderMap::new();
    headers.insert(HEADER_WEBHOOK_TIMESTAMP, now_text.parse()?);

    // Both produce the same signature and accept each other's.
    let ours_header = signature_header(&keys, "msg_check", now, &body);
    let theirs_header = theirs.sign("msg_check", now, &body)?;
    if ours_header != theirs_header {
        return Err(format!("signatures differ: {ours_header} vs {theirs_header}").into());
    }
    headers.insert(HEADER_WEBHOOK_ID, "msg_check".parse()?);
    headers.insert(HEADER_WEBHOOK_SIGNATURE, ours_header.parse()?);
    theirs.verify(&body, &headers)?;

    let per_round = (iterations / ROUNDS).max(1);
    let ours_round = |first: u32| -> Result<Duration> {
        let started = Instant::now();
        for i in first..first + per_round {
            let id = format!("msg_{i}");
            let header = signature_header(&keys, &id, now, &body);
            verify(&keys, &id, &now_text, &header, &body, now, 300)?;
        }
        Ok(started.elapsed())
    };
    let mut theirs_round = |first: u32| -> Result<Duration> {
        let started = Instant::now();
        for i in first..first + per_round {
            let id = format!("msg_{i}");
            let signature = theirs.sign(&id, now, &body)?;
            headers.insert(HEADER_WEBHOOK_ID, id.parse()?);
            headers.insert(HEADER_WEBHOOK_SIGNATURE, signature.parse()?);
            theirs.verify(&body, &headers)?;
        }
        Ok(started.elapsed())
    };

    // Warm-up, untimed: page in code and data, let the CPU clock settle.
    ours_round(0)?;
    theirs_round(0)?;
    let (mut ours_time, mut theirs_time) = (Duration::ZERO, Duration::ZERO);
    for round in 0..ROUNDS {
        ours_time += ours_round(round * per_round)?;
        theirs_time += theirs_round(round * per_round)?;
    }
    let done = f64::from(per_round * ROUNDS);
    let ours_rate = done / ours_time.as_secs_f64();
    let theirs_rate = done / theirs_time.as_secs_f64();
    println!(
        "sign+verify, 2 KiB body, one core: switchboard {:.0}/s, standardwebhooks {:.0}/s, \
         ratio {:.2} (target >= 1.0; {} each in {:.2}s and {:.2}s)",
        ours_rate,
        theirs_rate,
        ours_rate / theirs_rate,
        per_round * ROUNDS,
        ours_time.as_secs_f64(),
        theirs_time.as_secs_f64(),
    );
    Ok(())
}

/// Verify alone on a 2 KiB JSON body, per provider that can sign its own test request (SendGrid
/// and Discord sign with private keys the bench does not have), each through the shared
/// verifier the intake uses. standard_webhooks is also timed through the `standardwebhooks`
/// crate's `verify` with the same secret, headers and body.
fn verify_inbound(iterations: u32) -> Result<()> {
    use switchboard::signing::inbound::{KNOWN, ProviderConfig, Request};

    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let body = format!(r#"{{"id":"evt_1","pad":"{}"}}"#, "a".repeat(2048 - 23)).into_bytes();
    let url = "https://hooks.example/hooks/int_01";
    let now = chrono::Utc::now().timestamp();
    let time = |f: &mut dyn FnMut() -> bool| -> Result<f64> {
        let started = Instant::now();
        for _ in 0..iterations {
            if !f() {
                return Err("a bench request did not verify".into());
            }
        }
        Ok(f64::from(iterations) / started.elapsed().as_secs_f64())
    };
    for provider in KNOWN {
        if matches!(provider, "sendgrid" | "discord") {
            println!("verify {provider}: skipped (signed with a private key the bench lacks)");
            continue;
        }
        let options = match provider {
            "basic_auth" => json!({"username": "hooks"}),
            _ => Value::Null,
        };
        let config = ProviderConfig::from_secrets(provider, &[secret.to_owned()], &options)
            .map_err(|e| format!("{provider}: {e}"))?;
        let signed = config
            .sign(&body, url, now)
            .map_err(|e| format!("{provider}: {e}"))?;
        let request = Request {
            method: &http::Method::POST,
            url: &signed.url,
            headers: &signed.headers,
            body: &signed.body,
            now,
        };
        let ours = time(&mut || config.verify(&request, 300).is_ok())?;
        if provider == "standard_webhooks" {
            let theirs = standardwebhooks::Webhook::new(secret)?;
            let rate = time(&mut || theirs.verify(&signed.body, &signed.headers).is_ok())?;
            println!(
                "verify {provider}, 2 KiB: switchboard {ours:.0}/s, standardwebhooks {rate:.0}/s, ratio {:.2}",
                ours / rate
            );
        } else {
            println!("verify {provider}, 2 KiB: {ours:.0}/s");
        }
    }
    Ok(())
}
