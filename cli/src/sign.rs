//! `switchboard sign` and `switchboard verify`: compute or check a Standard Webhooks signature
//! offline, to debug a receiver.

use std::path::Path;
use switchboard::signing::standard::{DEFAULT_TOLERANCE_SECONDS, SigningKey, verify};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn read_body(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()).into())
}

/// Prints the `webhook-signature` value for a message.
pub fn sign(secret: &str, id: &str, timestamp: i64, body_file: &Path) -> Result<()> {
    let key = SigningKey::parse(secret)?;
    println!("{}", key.sign(id, timestamp, &read_body(body_file)?));
    Ok(())
}

/// Checks a delivery's headers against a secret. `headers` are `name: value` strings.
pub fn verify_delivery(
    provider: &str,
    secret: &str,
    headers: &[String],
    body_file: &Path,
    now: Option<i64>,
) -> Result<()> {
    if provider != "standard_webhooks" {
        return Err(format!(
            "provider `{provider}` is not supported yet (supported: standard_webhooks)"
        )
        .into());
    }
    let find = |name: &str| -> Result<String> {
        headers
            .iter()
            .filter_map(|h| h.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
            .ok_or_else(|| format!("missing --header '{name}: …'").into())
    };
    let key = SigningKey::parse(secret)?;
    let now = now.unwrap_or_else(|| chrono::Utc::now().timestamp());
    verify(
        &[key],
        &find("webhook-id")?,
        &find("webhook-timestamp")?,
        &find("webhook-signature")?,
        &read_body(body_file)?,
        now,
        DEFAULT_TOLERANCE_SECONDS,
    )?;
    println!("valid");
    Ok(())
}
