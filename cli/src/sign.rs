//! `switchboard sign` and `switchboard verify`: sign a test request as a provider would, or
//! check a received one, offline. Both go through the shared verifiers
//! (`switchboard::signing::inbound`), the same code the intake runs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use switchboard::signing::inbound::{DEFAULT_TOLERANCE_SECONDS, ProviderConfig, Request};
use switchboard::signing::standard::SigningKey;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The exit code of a request that did not verify (usage errors exit 2).
const INVALID: u8 = 1;

fn read_body(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()).into())
}

fn options(config: Option<&str>) -> Result<serde_json::Value> {
    match config {
        None => Ok(serde_json::Value::Null),
        Some(text) => serde_json::from_str(text).map_err(|e| format!("--config: {e}").into()),
    }
}

fn provider_config(
    provider: &str,
    secrets: &[String],
    config: Option<&str>,
) -> Result<ProviderConfig> {
    ProviderConfig::from_secrets(provider, secrets, &options(config)?).map_err(|e| {
        let field = e.field_error();
        format!("{}: {}", field.field, field.message).into()
    })
}

/// `name: value` lines into a header map (repeats kept, so a repeated header is seen as one).
fn header_map(headers: &[String]) -> Result<http::HeaderMap> {
    let mut map = http::HeaderMap::new();
    for line in headers {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("--header `{line}` is not `Name: value`"))?;
        let name = http::HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("--header `{line}`: bad header name"))?;
        let value = http::HeaderValue::from_str(value.trim())
            .map_err(|_| format!("--header `{line}`: bad header value"))?;
        map.append(name, value);
    }
    Ok(map)
}

/// What `switchboard sign` was asked.
pub struct SignArgs {
    pub provider: String,
    pub secret: String,
    pub config: Option<String>,
    pub body_file: PathBuf,
    pub url: Option<String>,
    pub now: Option<i64>,
    /// The Standard Webhooks message id: with it, only the `webhook-signature` is printed.
    pub id: Option<String>,
    pub body_out: Option<PathBuf>,
    pub curl: bool,
}

/// Prints the headers (or a curl command) of a request signed as the provider would send it.
pub fn sign(args: SignArgs) -> Result<()> {
    let body = read_body(&args.body_file)?;
    let now = args.now.unwrap_or_else(|| chrono::Utc::now().timestamp());
    if let Some(id) = &args.id {
        if args.provider != "standard_webhooks" {
            return Err("--id is for --provider standard_webhooks".into());
        }
        println!("{}", SigningKey::parse(&args.secret)?.sign(id, now, &body));
        return Ok(());
    }
    let config = provider_config(
        &args.provider,
        std::slice::from_ref(&args.secret),
        args.config.as_deref(),
    )?;
    let url = args.url.as_deref().unwrap_or("");
    let signed = config.sign(&body, url, now)?;
    let mut body_file = args.body_file.display().to_string();
    if signed.body != body {
        let out = args.body_out.as_ref().ok_or(
            "this provider carries its signature or timestamp in the body: give --body-out FILE for the signed body",
        )?;
        std::fs::write(out, &signed.body).map_err(|e| format!("writing {}: {e}", out.display()))?;
        body_file = out.display().to_string();
    }
    if args.curl {
        println!("{}", signed.curl(&body_file));
        return Ok(());
    }
    if signed.url != url {
        println!("# url: {}", signed.url);
    }
    for (name, value) in &signed.headers {
        println!("{name}: {}", String::from_utf8_lossy(value.as_bytes()));
    }
    Ok(())
}

/// What `switchboard verify` was asked.
pub struct VerifyArgs {
    pub provider: String,
    pub secrets: Vec<String>,
    pub config: Option<String>,
    pub headers: Vec<String>,
    pub body_file: PathBuf,
    pub url: Option<String>,
    pub now: Option<i64>,
    pub tolerance: Option<u32>,
}

/// Checks a request; prints `valid` (and the dedupe key and handshake reply, if any) or
/// `invalid: <which check failed>` and exits 1.
pub fn verify(args: VerifyArgs) -> Result<ExitCode> {
    let config = provider_config(&args.provider, &args.secrets, args.config.as_deref())?;
    let headers = header_map(&args.headers)?;
    let body = read_body(&args.body_file)?;
    let request = Request {
        method: &http::Method::POST,
        url: args.url.as_deref().unwrap_or(""),
        headers: &headers,
        body: &body,
        now: args.now.unwrap_or_else(|| chrono::Utc::now().timestamp()),
    };
    match config.verify(
        &request,
        args.tolerance.unwrap_or(DEFAULT_TOLERANCE_SECONDS),
    ) {
        Ok(verified) => {
            println!("valid");
            if let Some(key) = verified.dedupe_key {
                println!("dedupe key: {key}");
            }
            if let Some(reply) = verified.immediate_reply {
                println!(
                    "reply ({}): {}",
                    reply.content_type,
                    String::from_utf8_lossy(&reply.body)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(rejection) => {
            println!("invalid: {rejection}");
            Ok(ExitCode::from(INVALID))
        }
    }
}
