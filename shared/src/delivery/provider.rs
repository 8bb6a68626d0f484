//! The last step of an action's delivery: its rendered template and its connection's opened
//! credentials made into one provider request (Twilio, SendGrid, Slack, a REST call), and the
//! provider's answer read as success, retry, final failure or "disable the action".
//!
//! The credentials are borrowed for the build only; the request's secret-bearing headers are
//! marked sensitive, so no debug output of it shows them.

use super::client::SendResult;
use crate::credentials::connections::Credentials;
use crate::model::action::{Action, ActionKind};
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// Where the providers' APIs are. Configurable so tests (and a local tour) point them at
/// loopback fakes: `SWITCHBOARD_TWILIO_BASE_URL`, `SWITCHBOARD_SENDGRID_BASE_URL`,
/// `SWITCHBOARD_SLACK_BASE_URL` (replaces `https://hooks.slack.com` in stored hook URLs) and
/// `SWITCHBOARD_GENERIC_REST_BASE_URL` (when set, replaces the scheme, host and port of every
/// stored `generic_rest` base URL, keeping its path: for fakes only).
#[derive(Debug, Clone)]
pub struct ProviderUrls {
    pub twilio: String,
    pub sendgrid: String,
    pub slack: String,
    pub generic_rest: Option<String>,
}

/// The origin of Slack's incoming-webhook URLs as the provider registry requires them.
pub const SLACK_ORIGIN: &str = "https://hooks.slack.com";

impl Default for ProviderUrls {
    fn default() -> Self {
        Self {
            twilio: "https://api.twilio.com".into(),
            sendgrid: "https://api.sendgrid.com".into(),
            slack: SLACK_ORIGIN.into(),
            generic_rest: None,
        }
    }
}

/// One request to a provider. `url` may hold a secret (a Slack hook URL): it goes to the client
/// only, never to a log line or an attempt.
pub struct ProviderRequest {
    pub method: Method,
    pub url: Zeroizing<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why no request could be built (a credential field missing: a bug or a corrupt record).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

fn secret<'a>(creds: &'a Credentials, name: &str) -> Result<&'a str, BuildError> {
    creds
        .field(name)
        .map(|s| s.expose_secret())
        .ok_or_else(|| BuildError(format!("the connection has no `{name}`")))
}

fn sensitive(value: &str) -> Result<HeaderValue, BuildError> {
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| BuildError("a credential is not a valid header value".into()))?;
    v.set_sensitive(true);
    Ok(v)
}

fn content_type(headers: &mut HeaderMap, value: &'static str) {
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(value));
}

/// Builds the provider request of `action` from its rendered fields and the opened credentials.
pub fn build(
    action: &Action,
    rendered: &BTreeMap<String, String>,
    creds: &Credentials,
    urls: &ProviderUrls,
) -> Result<ProviderRequest, BuildError> {
    let field = |name: &str| rendered.get(name).map(String::as_str);
    let mut headers = HeaderMap::new();
    match action.kind {
        ActionKind::TwilioSms => {
            let sid = secret(creds, "account_sid")?;
            let token = secret(creds, "auth_token")?;
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("To", field("to").unwrap_or_default());
            match (field("from"), field("messaging_service_sid")) {
                (Some(from), _) => form.append_pair("From", from),
                (None, Some(mg)) => form.append_pair("MessagingServiceSid", mg),
                (None, None) => return Err(BuildError("no sender".into())),
            };
            form.append_pair("Body", field("body").unwrap_or_default());
            let basic = Zeroizing::new(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{sid}:{token}"))
            ));
            headers.insert(http::header::AUTHORIZATION, sensitive(&basic)?);
            content_type(&mut headers, "application/x-www-form-urlencoded");
            Ok(ProviderRequest {
                method: Method::POST,
                url: Zeroizing::new(format!(
                    "{}/2010-04-01/Accounts/{sid}/Messages.json",
                    urls.twilio.trim_end_matches('/')
                )),
                headers,
                body: Bytes::from(form.finish()),
            })
        }
        ActionKind::SendgridEmail => {
            let key = secret(creds, "api_key")?;
            let bearer = Zeroizing::new(format!("Bearer {key}"));
            headers.insert(http::header::AUTHORIZATION, sensitive(&bearer)?);
            content_type(&mut headers, "application/json");
            let mut content = Vec::new();
            if let Some(text) = field("text") {
                content.push(json!({"type": "text/plain", "value": text}));
            }
            if let Some(html) = field("html") {
                content.push(json!({"type": "text/html", "value": html}));
            }
            let body = json!({
                "personalizations": [{"to": [{"email": field("to").unwrap_or_default()}]}],
                "from": {"email": field("from").unwrap_or_default()},
                "subject": field("subject").unwrap_or_default(),
                "content": content,
            });
            Ok(ProviderRequest {
                method: Method::POST,
                url: Zeroizing::new(format!(
                    "{}/v3/mail/send",
                    urls.sendgrid.trim_end_matches('/')
                )),
                headers,
                body: Bytes::from(body.to_string()),
            })
        }
        ActionKind::SlackMessage => {
            let hook = secret(creds, "webhook_url")?;
            let url = match hook.strip_prefix(SLACK_ORIGIN) {
                Some(rest) => format!("{}{rest}", urls.slack.trim_end_matches('/')),
                None => hook.to_owned(),
            };
            content_type(&mut headers, "application/json");
            let mut body = json!({"text": field("text").unwrap_or_default()});
            if let Some(blocks) = field("blocks") {
                let parsed: Value = serde_json::from_str(blocks).map_err(|_| {
                    BuildError("template field `blocks` did not render to JSON".into())
                })?;
                body["blocks"] = parsed;
            }
            Ok(ProviderRequest {
                method: Method::POST,
                url: Zeroizing::new(url),
                headers,
                body: Bytes::from(body.to_string()),
            })
        }
        ActionKind::HttpRequest => {
            let stored = secret(creds, "base_url")?;
            let base = match &urls.generic_rest {
                Some(origin) => {
                    let path = url::Url::parse(stored)
                        .map(|u| u.path().trim_end_matches('/').to_owned())
                        .unwrap_or_default();
                    Zeroizing::new(format!("{}{path}", origin.trim_end_matches('/')))
                }
                None => Zeroizing::new(stored.to_owned()),
            };
            let name = creds
                .field("auth_header")
                .map_or("authorization", |s| s.expose_secret());
            let value = secret(creds, "auth_value")?;
            for (k, v) in rendered {
                if let Some(h) = k.strip_prefix("headers.")
                    && let (Ok(n), Ok(v)) = (
                        HeaderName::from_bytes(h.as_bytes()),
                        HeaderValue::from_str(v),
                    )
                {
                    headers.insert(n, v);
                }
            }
            if !headers.contains_key(http::header::CONTENT_TYPE) && field("body").is_some() {
                content_type(&mut headers, "application/json");
            }
            // The stored auth header last, so a template header cannot replace it.
            let auth = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| BuildError("the stored auth header name is invalid".into()))?;
            headers.insert(auth, sensitive(value)?);
            let method = Method::from_bytes(field("method").unwrap_or("POST").as_bytes())
                .map_err(|_| BuildError("the rendered method is invalid".into()))?;
            Ok(ProviderRequest {
                method,
                url: Zeroizing::new(format!(
                    "{}{}",
                    base.trim_end_matches('/'),
                    field("path").unwrap_or("/")
                )),
                headers,
                body: Bytes::from(field("body").unwrap_or_default().to_owned()),
            })
        }
    }
}

/// What the provider's answer means for the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Succeeded,
    /// Failed; retried on the schedule.
    Retry,
    /// Failed for good: not retried.
    Final,
    /// Failed for good, and the action is disabled with this reason.
    Disable(String),
}

/// Slack's answers that say the hook is gone for good.
pub const SLACK_GONE: [&str; 6] = [
    "invalid_token",
    "no_service",
    "channel_not_found",
    "channel_is_archived",
    "action_prohibited",
    "no_active_hooks",
];

/// Reads a provider's answer.
pub fn verdict(kind: ActionKind, result: &SendResult) -> Verdict {
    let Some(status) = result.status else {
        return Verdict::Retry;
    };
    match kind {
        ActionKind::SendgridEmail if status == 202 => Verdict::Succeeded,
        ActionKind::SendgridEmail => Verdict::Retry,
        ActionKind::SlackMessage => {
            let body = result.body.as_deref().unwrap_or("").trim();
            if (200..300).contains(&status) && body == "ok" {
                Verdict::Succeeded
            } else if let Some(gone) = SLACK_GONE.iter().find(|g| **g == body) {
                Verdict::Disable(format!("Slack answered `{gone}`"))
            } else if body == "invalid_payload" {
                Verdict::Final
            } else {
                Verdict::Retry
            }
        }
        _ if (200..300).contains(&status) => Verdict::Succeeded,
        _ => Verdict::Retry,
    }
}
