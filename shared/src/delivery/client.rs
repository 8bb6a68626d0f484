//! The one HTTP client every delivery goes through: pooled connections, no redirects, the
//! SSRF-guarding resolver, a per-request timeout, and a bounded read of the response (4 KiB is
//! kept for the attempt log; a receiver that streams forever or sends a gigabyte costs at most
//! the timeout and 4 KiB).

use crate::ssrf::AddressPolicy;
use bytes::Bytes;
use http::HeaderMap;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How much of a response body is kept.
pub const RESPONSE_BODY_LIMIT: usize = 4 * 1024;

pub use crate::model::message::ErrorCode;

/// What one POST produced.
#[derive(Debug, Clone)]
pub struct SendResult {
    pub status: Option<u16>,
    pub duration: Duration,
    /// The start of the response body, lossily decoded.
    pub body: Option<String>,
    pub error: Option<(ErrorCode, String)>,
    /// A `Retry-After` the receiver sent, in seconds form or as an HTTP date.
    pub retry_after: Option<Duration>,
    /// The request body bytes the receiver got: its length when the receiver answered (only
    /// then is it known to have arrived), else 0. What usage metering counts as egress.
    pub sent_bytes: u64,
}

impl SendResult {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The host has no address a delivery may reach. A name that does not resolve and a name that
/// resolves only to refused (internal) addresses get this same error, code and text: told
/// apart, the attempt log would let a tenant probe which internal host names exist. Which of
/// the two it was goes to the log only.
#[derive(Debug, thiserror::Error)]
#[error("the host has no address deliveries may reach (no public address, or none at all)")]
struct NoReachableAddress;

/// Resolves with the system resolver and keeps only permitted addresses; reqwest then connects to
/// exactly these, so the answer is pinned for the connection.
struct GuardedResolver {
    policy: AddressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str();
            let unreachable =
                || Box::new(NoReachableAddress) as Box<dyn std::error::Error + Send + Sync>;
            if !policy.resolves_names() && !host.eq_ignore_ascii_case("localhost") {
                tracing::info!(
                    host,
                    "delivery host not looked up: egress is allow-list only"
                );
                return Err(unreachable());
            }
            let found: Vec<SocketAddr> = match tokio::net::lookup_host((host, 0)).await {
                Ok(found) => found.collect(),
                Err(e) => {
                    tracing::info!(host, error = %e, "delivery host did not resolve");
                    return Err(unreachable());
                }
            };
            let allowed = policy.filter(found.iter().copied());
            if allowed.is_empty() {
                let refused: Vec<IpAddr> = found.iter().map(SocketAddr::ip).collect();
                tracing::warn!(
                    host,
                    ?refused,
                    "delivery host resolved only to refused addresses"
                );
                return Err(unreachable());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The shared delivery client.
#[derive(Clone)]
pub struct DeliveryClient {
    http: reqwest::Client,
    policy: AddressPolicy,
}

/// Why the client could not be built (a TLS backend problem; a start-up error).
#[derive(Debug, thiserror::Error)]
#[error("building the HTTP client: {0}")]
pub struct ClientError(String);

impl DeliveryClient {
    /// The client every delivery uses, guarded by `policy`.
    ///
    /// It never goes through a proxy: reqwest would otherwise pick one up from `HTTP_PROXY`,
    /// `HTTPS_PROXY` or `ALL_PROXY`, and through a proxy the target host is resolved by the
    /// proxy, not by [`GuardedResolver`], so the SSRF guard would never see the addresses.
    pub fn new(policy: AddressPolicy) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .pool_max_idle_per_host(256)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("Switchboard-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError(e.to_string()))?;
        Ok(Self { http, policy })
    }

    pub fn policy(&self) -> &AddressPolicy {
        &self.policy
    }

    /// POSTs `body` to `url`, never taking longer than `timeout`.
    pub async fn post(
        &self,
        url: &str,
        headers: HeaderMap,
        body: Bytes,
        timeout: Duration,
    ) -> SendResult {
        self.send(http::Method::POST, url, headers, body, timeout)
            .await
    }

    /// Sends `method` with `body` to `url` (actions' provider requests), never taking longer
    /// than `timeout`. Same guard, pool and bounded read as [`Self::post`].
    pub async fn send(
        &self,
        method: http::Method,
        url: &str,
        headers: HeaderMap,
        body: Bytes,
        timeout: Duration,
    ) -> SendResult {
        let started = Instant::now();
        let fail = |code: ErrorCode, message: String| SendResult {
            status: None,
            duration: started.elapsed(),
            body: None,
            error: Some((code, message)),
            retry_after: None,
            sent_bytes: 0,
        };
        let body_len = u64::try_from(body.len()).unwrap_or(u64::MAX);
        let parsed = match reqwest::Url::parse(url) {
            Ok(u) => u,
            Err(e) => return fail(ErrorCode::Connection, format!("invalid URL: {e}")),
        };
        // IP literals never reach the resolver, so they are checked here.
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            _ => None,
        };
        if let Some(ip) = literal
            && !self.policy.permits(ip)
        {
            tracing::warn!(%ip, "delivery URL names a refused address");
            return fail(
                ErrorCode::BlockedAddress,
                format!("{ip} is not an address deliveries may reach"),
            );
        }
        let exchange = async {
            let response = self
                .http
                .request(method, parsed)
                .headers(headers)
                .body(body)
                .send()
                .await?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let mut response = response;
            let mut kept: Vec<u8> = Vec::new();
            while kept.len() < RESPONSE_BODY_LIMIT {
                match response.chunk().await {
                    Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                    // A body that breaks off after the status is still an answer.
                    Ok(None) | Err(_) => break,
                }
            }
            kept.truncate(RESPONSE_BODY_LIMIT);
            Ok::<_, reqwest::Error>((status, retry_after, kept))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Err(_) => fail(
                ErrorCode::Timeout,
                format!("no answer within {} ms", timeout.as_millis()),
            ),
            Ok(Err(e)) => {
                let (code, message) = classify(&e);
                fail(code, message)
            }
            Ok(Ok((status, retry_after, kept))) => SendResult {
                status: Some(status),
                duration: started.elapsed(),
                body: (!kept.is_empty()).then(|| String::from_utf8_lossy(&kept).into_owned()),
                error: (!(200..300).contains(&status))
                    .then(|| (ErrorCode::HttpStatus, format!("receiver answered {status}"))),
                retry_after,
                sent_bytes: body_len,
            },
        }
    }
}

fn classify(e: &reqwest::Error) -> (ErrorCode, String) {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<NoReachableAddress>() {
            return (ErrorCode::BlockedAddress, err.to_string());
        }
        source = err.source();
    }
    if e.is_timeout() {
        (ErrorCode::Timeout, "timed out".into())
    } else {
        (
            ErrorCode::Connection,
            format!("connection failed: {}", root_cause(e)),
        )
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut current = e;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// `Retry-After` (RFC 9110 §10.2.3) as the time left to wait: delta-seconds, or an HTTP-date in
/// any of the three forms a receiver may send (IMF-fixdate, obsolete RFC 850, asctime). A date
/// already past gives `None`: the receiver asked for no wait beyond the usual schedule.
fn parse_retry_after(value: &str) -> Option<Duration> {
    retry_after_from(value, SystemTime::now())
}

/// [`parse_retry_after`] as seen at `now`.
fn retry_after_from(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    when.duration_since(now).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 90 seconds from now, written with `format` (chrono's strftime syntax).
    fn in_90_seconds(format: &str) -> String {
        (chrono::Utc::now() + chrono::Duration::seconds(90))
            .format(format)
            .to_string()
    }

    /// HTTP-dates have whole seconds, so "90 s from now" reads back as a little under 90 s.
    fn about_90_seconds(parsed: Option<Duration>) {
        let parsed = parsed.expect("a future date gives a wait");
        assert!(
            parsed <= Duration::from_secs(90) && parsed >= Duration::from_secs(85),
            "{parsed:?}"
        );
    }

    #[test]
    fn retry_after_delta_seconds() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-5"), None);
    }

    /// RFC 9110's example instant, Sun, 06 Nov 1994 08:49:37 GMT, in its three HTTP-date forms.
    const EXAMPLE: [&str; 3] = [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
    ];
    const EXAMPLE_UNIX: u64 = 784_111_777;

    /// Each form, read a minute before, at, and a second after the instant it names.
    fn exact_around_the_example(form: &str) {
        let at = |secs: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
        assert_eq!(
            retry_after_from(form, at(EXAMPLE_UNIX - 60)),
            Some(Duration::from_secs(60)),
            "{form}"
        );
        assert_eq!(
            retry_after_from(form, at(EXAMPLE_UNIX)),
            Some(Duration::ZERO),
            "{form}"
        );
        assert_eq!(retry_after_from(form, at(EXAMPLE_UNIX + 1)), None, "{form}");
    }

    #[test]
    fn retry_after_imf_fixdate() {
        exact_around_the_example(EXAMPLE[0]);
        about_90_seconds(parse_retry_after(&in_90_seconds(
            "%a, %d %b %Y %H:%M:%S GMT",
        )));
        // Past dates are no wait at all.
        assert_eq!(parse_retry_after(EXAMPLE[0]), None);
    }

    #[test]
    fn retry_after_rfc850_date() {
        exact_around_the_example(EXAMPLE[1]);
        about_90_seconds(parse_retry_after(&in_90_seconds(
            "%A, %d-%b-%y %H:%M:%S GMT",
        )));
        assert_eq!(parse_retry_after(EXAMPLE[1]), None);
    }

    #[test]
    fn retry_after_asctime_date() {
        // asctime pads a one-digit day with a space (`%e`).
        exact_around_the_example(EXAMPLE[2]);
        about_90_seconds(parse_retry_after(&in_90_seconds("%a %b %e %H:%M:%S %Y")));
        assert_eq!(parse_retry_after(EXAMPLE[2]), None);
    }

    #[test]
    fn retry_after_rejects_what_is_no_http_date() {
        // An RFC 2822 date with a numeric zone is not an HTTP-date.
        assert_eq!(parse_retry_after("Sun, 06 Nov 2094 08:49:37 +0000"), None);
        // The weekday must match the date.
        assert_eq!(parse_retry_after("Mon, 06 Nov 2094 08:49:37 GMT"), None);
    }
}
