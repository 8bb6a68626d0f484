//! The provider registry: which providers a connection may be for, the credential fields each
//! takes and how each is checked, and the action kinds each serves. Data, not code paths: a new
//! provider is a new entry in [`PROVIDERS`], and `GET /v1/providers` shows this table as it is.

use crate::error::FieldError;
use crate::ssrf::AddressPolicy;
use serde::Serialize;
use serde_json::{Map, Value};
use std::time::Duration;

/// The longest value of any credential field.
pub const MAX_FIELD_LEN: usize = 4096;
/// How long a `base_url`'s host may take to resolve when it is saved.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// How one credential field is checked (beyond being a string of 1–[`MAX_FIELD_LEN`] characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rule {
    /// Any text without control characters.
    Text,
    /// Starts with `prefix` and is `len` characters long when `len` is set.
    Prefix {
        prefix: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        len: Option<usize>,
    },
    /// An `https://` URL starting with `prefix` (Slack's incoming-webhook URLs).
    UrlPrefix { prefix: &'static str },
    /// An `https://` URL whose host is not, and does not resolve to, an address the SSRF policy
    /// refuses: requests go there with the stored credential.
    PublicHttpsUrl,
    /// An HTTP header name (letters, digits and `!#$%&'*+-.^_`|~`).
    HeaderName,
    /// An e-mail address (`local@domain`).
    Email,
}

/// One credential field of a provider.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    /// Secret fields are sealed and never shown again; the others are shown in views.
    pub secret: bool,
    pub required: bool,
    pub rule: Rule,
}

/// One provider.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Provider {
    pub id: &'static str,
    pub display_name: &'static str,
    pub fields: &'static [Field],
    /// The action kinds a connection of this provider can serve.
    pub action_kinds: &'static [&'static str],
}

const fn field(
    name: &'static str,
    label: &'static str,
    secret: bool,
    required: bool,
    rule: Rule,
) -> Field {
    Field {
        name,
        label,
        secret,
        required,
        rule,
    }
}

const TEXT: Rule = Rule::Text;

/// Every provider, in the order `GET /v1/providers` lists them.
pub static PROVIDERS: &[Provider] = &[
    Provider {
        id: "openai",
        display_name: "OpenAI",
        fields: &[
            field(
                "api_key",
                "API key",
                true,
                true,
                Rule::Prefix {
                    prefix: "sk-",
                    len: None,
                },
            ),
            field(
                "organization",
                "Organization ID",
                false,
                false,
                Rule::Prefix {
                    prefix: "org-",
                    len: None,
                },
            ),
            field(
                "project",
                "Project ID",
                false,
                false,
                Rule::Prefix {
                    prefix: "proj_",
                    len: None,
                },
            ),
        ],
        action_kinds: &[],
    },
    Provider {
        id: "anthropic",
        display_name: "Anthropic",
        fields: &[field(
            "api_key",
            "API key",
            true,
            true,
            Rule::Prefix {
                prefix: "sk-ant-",
                len: None,
            },
        )],
        action_kinds: &[],
    },
    Provider {
        id: "gemini",
        display_name: "Google Gemini",
        fields: &[field("api_key", "API key", true, true, TEXT)],
        action_kinds: &[],
    },
    Provider {
        id: "azure_openai",
        display_name: "Azure OpenAI",
        fields: &[
            field(
                "endpoint",
                "Resource endpoint",
                false,
                true,
                Rule::PublicHttpsUrl,
            ),
            field("api_key", "API key", true, true, TEXT),
            field("deployment", "Deployment name", false, true, TEXT),
            field("api_version", "API version", false, false, TEXT),
        ],
        action_kinds: &[],
    },
    Provider {
        id: "twilio",
        display_name: "Twilio",
        fields: &[
            field(
                "account_sid",
                "Account SID",
                false,
                true,
                Rule::Prefix {
                    prefix: "AC",
                    len: Some(34),
                },
            ),
            field("auth_token", "Auth token", true, true, TEXT),
            field("from", "Default sender number", false, false, TEXT),
            field(
                "messaging_service_sid",
                "Messaging service SID",
                false,
                false,
                Rule::Prefix {
                    prefix: "MG",
                    len: Some(34),
                },
            ),
        ],
        action_kinds: &["twilio_sms"],
    },
    Provider {
        id: "sendgrid",
        display_name: "SendGrid",
        fields: &[
            field(
                "api_key",
                "API key",
                true,
                true,
                Rule::Prefix {
                    prefix: "SG.",
                    len: None,
                },
            ),
            field(
                "from_email",
                "Default sender address",
                false,
                false,
                Rule::Email,
            ),
        ],
        action_kinds: &["sendgrid_email"],
    },
    Provider {
        id: "slack",
        display_name: "Slack (incoming webhook)",
        fields: &[field(
            "webhook_url",
            "Incoming webhook URL",
            true,
            true,
            Rule::UrlPrefix {
                prefix: "https://hooks.slack.com/",
            },
        )],
        action_kinds: &["slack_message"],
    },
    Provider {
        id: "github",
        display_name: "GitHub",
        fields: &[
            field("token", "Personal access or app token", true, true, TEXT),
            field(
                "api_url",
                "API URL (GitHub Enterprise)",
                false,
                false,
                Rule::PublicHttpsUrl,
            ),
        ],
        action_kinds: &[],
    },
    Provider {
        id: "gitlab",
        display_name: "GitLab",
        fields: &[
            field("token", "Access token", true, true, TEXT),
            field(
                "base_url",
                "Instance URL (self-managed)",
                false,
                false,
                Rule::PublicHttpsUrl,
            ),
        ],
        action_kinds: &[],
    },
    Provider {
        id: "generic_rest",
        display_name: "Generic REST API",
        fields: &[
            field("base_url", "Base URL", false, true, Rule::PublicHttpsUrl),
            field(
                "auth_header",
                "Auth header name (default `Authorization`)",
                false,
                false,
                Rule::HeaderName,
            ),
            field("auth_value", "Auth header value", true, true, TEXT),
        ],
        action_kinds: &["http_request"],
    },
];

/// The provider `id`, if known.
pub fn find(id: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|p| p.id == id)
}

/// Every provider id, in registry order.
pub fn known() -> Vec<&'static str> {
    PROVIDERS.iter().map(|p| p.id).collect()
}

/// `provider` as a known provider, or a field error naming `provider` and listing them.
pub fn lookup(provider: &str) -> Result<&'static Provider, FieldError> {
    find(provider).ok_or_else(|| {
        FieldError::new(
            "provider",
            format!("unknown provider; known: {}", known().join(", ")),
        )
    })
}

/// Credentials that passed [`Provider::check`]: every field as a string, and the URL fields
/// still to resolve.
pub struct Checked {
    pub values: Map<String, Value>,
    /// The `PublicHttpsUrl` fields whose hosts still need resolving.
    urls: Vec<(&'static str, String)>,
}

impl Provider {
    /// The field `name`.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The first secret field: the one whose last characters a fingerprint shows.
    pub fn main_secret(&self) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.secret)
    }

    /// Checks `credentials` against this provider's fields without any lookup: an object, every
    /// field known and a string passing its rule, every required field present. Every bad field
    /// is named (`credentials.<field>`).
    pub fn check(&self, credentials: &Value) -> Result<Checked, Vec<FieldError>> {
        let Value::Object(given) = credentials else {
            return Err(vec![FieldError::new(
                "credentials",
                "must be a JSON object",
            )]);
        };
        let mut errors = Vec::new();
        let mut values = Map::new();
        let mut urls = Vec::new();
        for (name, value) in given {
            let path = format!("credentials.{name}");
            let Some(field) = self.field(name) else {
                let names: Vec<&str> = self.fields.iter().map(|f| f.name).collect();
                errors.push(FieldError::new(
                    path,
                    format!(
                        "unknown field for `{}`; its fields: {}",
                        self.id,
                        names.join(", ")
                    ),
                ));
                continue;
            };
            let Value::String(text) = value else {
                errors.push(FieldError::new(path, "must be a string"));
                continue;
            };
            match check_rule(field.rule, text) {
                Ok(()) => {
                    if field.rule == Rule::PublicHttpsUrl {
                        urls.push((field.name, text.clone()));
                    }
                    values.insert(name.clone(), Value::String(text.clone()));
                }
                Err(message) => errors.push(FieldError::new(path, message)),
            }
        }
        for field in self.fields.iter().filter(|f| f.required) {
            if !given.contains_key(field.name) {
                errors.push(FieldError::new(
                    format!("credentials.{}", field.name),
                    format!("is required for `{}` ({})", self.id, field.label),
                ));
            }
        }
        if errors.is_empty() {
            Ok(Checked { values, urls })
        } else {
            values.values_mut().for_each(wipe);
            Err(errors)
        }
    }
}

impl Checked {
    /// Resolves the hosts of the URL fields and refuses any that reaches an address `policy`
    /// would not let a request be saved for (an IP literal is checked as it is). A name that
    /// does not resolve is refused too: a credential for an unreachable API is a mistake. When
    /// the policy reaches only its allow-list (a sandbox), names are not looked up: what a tenant
    /// may save does not depend on the sandbox, and the send-time guard refuses them anyway.
    pub async fn resolve(
        self,
        policy: &AddressPolicy,
    ) -> Result<Map<String, Value>, Vec<FieldError>> {
        let mut errors = Vec::new();
        for (name, raw) in &self.urls {
            if let Err(message) = check_reachable(raw, policy).await {
                errors.push(FieldError::new(format!("credentials.{name}"), message));
            }
        }
        let mut values = self.values;
        if errors.is_empty() {
            Ok(values)
        } else {
            values.values_mut().for_each(wipe);
            Err(errors)
        }
    }
}

/// Overwrites every string in `value` (credentials on their way out of memory).
pub fn wipe(value: &mut Value) {
    use zeroize::Zeroize;
    match value {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(wipe),
        Value::Object(map) => map.values_mut().for_each(wipe),
        _ => {}
    }
}

fn check_rule(rule: Rule, text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("must not be empty".into());
    }
    if text.chars().count() > MAX_FIELD_LEN {
        return Err(format!("must be at most {MAX_FIELD_LEN} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    match rule {
        Rule::Text => Ok(()),
        Rule::Prefix { prefix, len } => {
            if !text.starts_with(prefix) {
                return Err(format!("must start with `{prefix}`"));
            }
            match len {
                Some(n) if text.len() != n || !text.is_ascii() => Err(format!(
                    "must be `{prefix}` followed by {} letters or digits",
                    n - prefix.len()
                )),
                Some(_) if !text.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                    Err(format!("must be `{prefix}` followed by letters or digits"))
                }
                _ => Ok(()),
            }
        }
        Rule::UrlPrefix { prefix } => {
            if !text.starts_with(prefix) {
                return Err(format!("must start with `{prefix}`"));
            }
            https_url(text).map(|_| ())
        }
        Rule::PublicHttpsUrl => https_url(text).map(|_| ()),
        Rule::HeaderName => {
            let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            if text.len() <= 256 && text.bytes().all(token) {
                Ok(())
            } else {
                Err("must be an HTTP header name (letters, digits, `-`, …)".into())
            }
        }
        Rule::Email => match text.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !text.contains(char::is_whitespace)
                    && !domain.contains('@') =>
            {
                Ok(())
            }
            _ => Err("must be an e-mail address".into()),
        },
    }
}

/// An `https://` URL with a host and no credentials.
fn https_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    if url.scheme() != "https" {
        return Err("must be an https:// URL".into());
    }
    if url.host().is_none() {
        return Err("must have a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials in the URL".into());
    }
    if url.port() == Some(0) {
        return Err("must not use port 0".into());
    }
    Ok(url)
}

const REFUSED: &str = "resolves to a private, loopback or otherwise internal address (see \
                       SWITCHBOARD_ALLOW_CIDRS)";

async fn check_reachable(text: &str, policy: &AddressPolicy) -> Result<(), String> {
    let url = https_url(text)?;
    let host = match url.host() {
        Some(url::Host::Ipv4(v4)) => {
            return permitted(policy, [std::net::IpAddr::V4(v4)]);
        }
        Some(url::Host::Ipv6(v6)) => {
            return permitted(policy, [std::net::IpAddr::V6(v6)]);
        }
        Some(url::Host::Domain(d)) => d.to_owned(),
        None => return Err("must have a host".into()),
    };
    if !policy.resolves_names() && !host.eq_ignore_ascii_case("localhost") {
        return Ok(());
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let found = tokio::time::timeout(
        RESOLVE_TIMEOUT,
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    .map_err(|_| format!("the host `{host}` did not resolve in time"))?
    .map_err(|_| format!("the host `{host}` does not resolve"))?;
    let addresses: Vec<std::net::IpAddr> = found.map(|a| a.ip()).collect();
    if addresses.is_empty() {
        return Err(format!("the host `{host}` does not resolve"));
    }
    permitted(policy, addresses)
}

fn permitted(
    policy: &AddressPolicy,
    addresses: impl IntoIterator<Item = std::net::IpAddr>,
) -> Result<(), String> {
    if addresses.into_iter().all(|ip| policy.permits_saving(ip)) {
        Ok(())
    } else {
        Err(REFUSED.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(result: Result<Checked, Vec<FieldError>>) -> Vec<String> {
        match result {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn every_provider_is_unique_and_has_a_required_secret() {
        let ids = known();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len());
        assert_eq!(ids.len(), 10);
        for p in PROVIDERS {
            let secret = p.main_secret();
            assert!(
                secret.is_some_and(|f| f.required),
                "{} has a required secret",
                p.id
            );
        }
        assert!(
            lookup("nope").is_err_and(|e| e.field == "provider" && e.message.contains("twilio"))
        );
    }

    #[test]
    fn twilio_fields_are_checked_one_by_one() {
        let twilio = lookup("twilio")
            .map_err(|e| e.message)
            .unwrap_or_else(|m| panic!("{m}"));
        let good = json!({"account_sid": format!("AC{}", "a".repeat(32)), "auth_token": "t0k3n"});
        assert!(twilio.check(&good).is_ok());
        assert_eq!(
            fields(twilio.check(&json!({"account_sid": "XX", "auth_token": 5, "region": "x"}))),
            [
                "credentials.account_sid",
                "credentials.auth_token",
                "credentials.region"
            ]
        );
        assert_eq!(fields(twilio.check(&json!({}))).len(), 2);
        assert_eq!(fields(twilio.check(&json!([]))), ["credentials"]);
    }

    #[test]
    fn urls_must_be_https_and_slack_must_be_a_slack_hook() {
        let slack = lookup("slack")
            .map_err(|e| e.message)
            .unwrap_or_else(|m| panic!("{m}"));
        assert!(
            slack
                .check(&json!({"webhook_url": "https://hooks.slack.com/services/T/B/x"}))
                .is_ok()
        );
        assert!(
            slack
                .check(&json!({"webhook_url": "https://example.com/services/T/B/x"}))
                .is_err()
        );
        assert!(
            slack
                .check(&json!({"webhook_url": "http://hooks.slack.com/services/T"}))
                .is_err()
        );
        let rest = lookup("generic_rest")
            .map_err(|e| e.message)
            .unwrap_or_else(|m| panic!("{m}"));
        assert_eq!(
            fields(rest.check(&json!({"base_url": "http://api.example.com", "auth_value": "x"}))),
            ["credentials.base_url"]
        );
    }

    #[tokio::test]
    async fn a_base_url_reaching_an_internal_address_is_refused() {
        let rest = lookup("generic_rest")
            .map_err(|e| e.message)
            .unwrap_or_else(|m| panic!("{m}"));
        let strict = AddressPolicy::default();
        for url in [
            "https://10.0.0.1/",
            "https://169.254.169.254/",
            "https://[::1]:8443",
            "https://localhost/",
        ] {
            let checked = rest
                .check(&json!({"base_url": url, "auth_value": "x"}))
                .map_err(|_| ())
                .unwrap_or_else(|()| panic!("{url} passes the sync checks"));
            let errors = checked.resolve(&strict).await.err().unwrap_or_default();
            assert_eq!(errors.len(), 1, "{url} must be refused");
            assert_eq!(errors[0].field, "credentials.base_url");
        }
        let public = rest
            .check(&json!({"base_url": "https://93.184.216.34/v1", "auth_value": "x"}))
            .map_err(|_| ())
            .unwrap_or_else(|()| panic!("passes"));
        assert!(public.resolve(&strict).await.is_ok());
    }
}
