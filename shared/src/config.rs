//! Which adapters a process uses, from its environment.
//!
//! A Lambda requires `TABLE_NAME`, `QUEUE_URL` and `KMS_KEY_ID` (and `ROOT_KEY_SHA256` for the
//! admin function, `DLQ_URL` for delivery) and never falls back to local storage or keys: a
//! missing variable is a start-up error naming it. `serve` uses the embedded adapters in its
//! data directory unless `TABLE_NAME` is set, in which case it needs the AWS variables too.
//! `AWS_ENDPOINT_URL` (read by the AWS SDK itself) points the AWS adapters at an emulator.

use crate::delivery::DeliverySettings;
use crate::delivery::schedule::RetrySchedule;
use crate::ssrf::AddressPolicy;
use crate::tenancy::key_format::KeyHash;
use std::time::Duration;

/// Why the environment does not describe a runnable process.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing environment variable {0}")]
    Missing(&'static str),
    #[error("environment variable {var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

/// The AWS resources a process talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsResources {
    pub table: String,
    pub queue_url: String,
    pub dlq_url: Option<String>,
    pub kms_key_id: String,
}

/// Where state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Aws(AwsResources),
    /// One SQLite file and a local key in a data directory (`serve` only).
    #[cfg(feature = "embedded")]
    Sqlite {
        data_dir: std::path::PathBuf,
        durability: crate::store::sqlite::Durability,
        /// The name of the local master key new envelopes are sealed under
        /// (`SWITCHBOARD_LOCAL_KEY`, default `master`); every key of the ring still opens the
        /// envelopes that name it.
        local_key: String,
    },
}

/// Which Lambda is starting: each needs a slightly different set of variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Intake,
    Delivery,
}

/// Reads the delivery settings from the environment.
fn delivery_settings(env: Lookup<'_>) -> Result<DeliverySettings, ConfigError> {
    let mut s = DeliverySettings::default();
    if let Some(list) = env("SWITCHBOARD_ALLOW_CIDRS") {
        s.policy = AddressPolicy::from_allow_list(&list).map_err(|e| ConfigError::Invalid {
            var: "SWITCHBOARD_ALLOW_CIDRS",
            reason: e.to_string(),
        })?;
    }
    match env("SWITCHBOARD_EGRESS").as_deref() {
        None | Some("" | "public") => {}
        Some("allow-list") => s.policy = s.policy.allow_list_only(),
        Some(other) => {
            return Err(ConfigError::Invalid {
                var: "SWITCHBOARD_EGRESS",
                reason: format!("`{other}` is not `public` or `allow-list`"),
            });
        }
    }
    if let Some(text) = env("SWITCHBOARD_RETRY_SCHEDULE").filter(|t| !t.is_empty()) {
        s.schedule = RetrySchedule::parse(&text).map_err(|e| ConfigError::Invalid {
            var: "SWITCHBOARD_RETRY_SCHEDULE",
            reason: e.to_string(),
        })?;
    }
    let seconds = |var: &'static str| -> Result<Option<u64>, ConfigError> {
        env(var)
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.trim().parse::<u64>().map_err(|_| ConfigError::Invalid {
                    var,
                    reason: "expected a whole number".into(),
                })
            })
            .transpose()
    };
    if let Some(secs) = seconds("SWITCHBOARD_DISABLE_AFTER_SECONDS")? {
        s.disable_after = Duration::from_secs(secs);
    }
    if let Some(days) = seconds("SWITCHBOARD_RETENTION_DAYS")? {
        s.retention = Duration::from_secs(days.max(1) * 24 * 3600);
    }
    for (var, slot) in [
        ("SWITCHBOARD_TWILIO_BASE_URL", &mut s.providers.twilio),
        ("SWITCHBOARD_SENDGRID_BASE_URL", &mut s.providers.sendgrid),
        ("SWITCHBOARD_SLACK_BASE_URL", &mut s.providers.slack),
    ] {
        if let Some(url) = env(var).filter(|t| !t.trim().is_empty()) {
            let parsed = url::Url::parse(url.trim()).map_err(|e| ConfigError::Invalid {
                var,
                reason: e.to_string(),
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(ConfigError::Invalid {
                    var,
                    reason: "expected an http(s) URL".into(),
                });
            }
            *slot = url.trim().trim_end_matches('/').to_owned();
        }
    }
    if let Some(url) = env("SWITCHBOARD_GENERIC_REST_BASE_URL").filter(|t| !t.trim().is_empty()) {
        url::Url::parse(url.trim()).map_err(|e| ConfigError::Invalid {
            var: "SWITCHBOARD_GENERIC_REST_BASE_URL",
            reason: e.to_string(),
        })?;
        s.providers.generic_rest = Some(url.trim().trim_end_matches('/').to_owned());
    }
    Ok(s)
}

/// The highest `SWITCHBOARD_MAX_ENDPOINTS_PER_TENANT` accepted: an event record lists every
/// destination (30 bytes each), and 4,000 of them (120 KB) plus the largest event body (256 KiB)
/// stay below DynamoDB's 400 KB item limit.
pub const MAX_ENDPOINTS_PER_TENANT_LIMIT: usize = 4_000;

/// Reads `SWITCHBOARD_MAX_ENDPOINTS_PER_TENANT` (default 1,000; 1 to 4,000).
fn max_endpoints(env: Lookup<'_>) -> Result<usize, ConfigError> {
    const VAR: &str = "SWITCHBOARD_MAX_ENDPOINTS_PER_TENANT";
    let Some(text) = env(VAR).filter(|t| !t.trim().is_empty()) else {
        return Ok(crate::outbound::DEFAULT_MAX_ENDPOINTS);
    };
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_ENDPOINTS_PER_TENANT_LIMIT).contains(&n) => Ok(n),
        _ => Err(ConfigError::Invalid {
            var: VAR,
            reason: format!("expected a whole number from 1 to {MAX_ENDPOINTS_PER_TENANT_LIMIT}"),
        }),
    }
}

/// Reads `SWITCHBOARD_PUBLIC_URL`: the http(s) URL the API is reached at from outside (hook
/// URLs are this plus `/hooks/{id}`), without a trailing slash, query or fragment.
fn public_url(env: Lookup<'_>) -> Result<Option<String>, ConfigError> {
    const VAR: &str = "SWITCHBOARD_PUBLIC_URL";
    let Some(text) = env(VAR).filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    let text = text.trim().trim_end_matches('/');
    match url::Url::parse(text) {
        Ok(u)
            if matches!(u.scheme(), "http" | "https")
                && u.host().is_some()
                && u.query().is_none()
                && u.fragment().is_none() =>
        {
            Ok(Some(text.to_owned()))
        }
        _ => Err(ConfigError::Invalid {
            var: VAR,
            reason: "expected an http(s) URL such as `https://hooks.example.com`, without query \
                     or fragment"
                .into(),
        }),
    }
}

/// Reads `SWITCHBOARD_AUDIT_RETENTION_DAYS` (default 365): how long audit entries are kept.
fn audit_retention(env: Lookup<'_>) -> Result<Duration, ConfigError> {
    const VAR: &str = "SWITCHBOARD_AUDIT_RETENTION_DAYS";
    let Some(text) = env(VAR).filter(|t| !t.trim().is_empty()) else {
        return Ok(crate::audit::DEFAULT_RETENTION);
    };
    match text.trim().parse::<u64>() {
        Ok(days) if (1..=36_500).contains(&days) => Ok(Duration::from_secs(days * 24 * 3600)),
        _ => Err(ConfigError::Invalid {
            var: VAR,
            reason: "expected a whole number of days from 1 to 36500".into(),
        }),
    }
}

/// Reads `SWITCHBOARD_LOCAL_KEY` (default `master`): which key of the local ring seals new
/// envelopes (`<data dir>/master.key`, or `<data dir>/keys/<name>.key`, created if missing).
#[cfg(feature = "embedded")]
fn local_key(env: Lookup<'_>) -> Result<String, ConfigError> {
    use crate::crypto::local::{DEFAULT_KEY, MAX_KEY_NAME, valid_key_name};
    const VAR: &str = "SWITCHBOARD_LOCAL_KEY";
    let Some(text) = env(VAR).filter(|t| !t.trim().is_empty()) else {
        return Ok(DEFAULT_KEY.to_owned());
    };
    let name = text.trim();
    if valid_key_name(name) {
        Ok(name.to_owned())
    } else {
        Err(ConfigError::Invalid {
            var: VAR,
            reason: format!("expected a key name: 1 to {MAX_KEY_NAME} letters, digits, `-` or `_`"),
        })
    }
}

/// Everything a process needs to build its `App` (the composition root in `app.rs`).
#[derive(Debug, Clone)]
pub struct Config {
    pub backend: Backend,
    /// SHA-256 of the root key; `None` means no root access (intake, delivery).
    pub root_key_hash: Option<KeyHash>,
    pub delivery: DeliverySettings,
    /// The most live endpoints a tenant may have.
    pub max_endpoints_per_tenant: usize,
    /// `SWITCHBOARD_PUBLIC_URL`, the base of hook URLs.
    pub public_url: Option<String>,
    /// How long audit entries are kept (`SWITCHBOARD_AUDIT_RETENTION_DAYS`).
    pub audit_retention: Duration,
}

type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn required(env: Lookup<'_>, var: &'static str) -> Result<String, ConfigError> {
    env(var)
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError::Missing(var))
}

fn root_hash(env: Lookup<'_>, required_here: bool) -> Result<Option<KeyHash>, ConfigError> {
    const VAR: &str = "ROOT_KEY_SHA256";
    match env(VAR).filter(|v| !v.trim().is_empty()) {
        Some(hex) => KeyHash::from_hex(&hex)
            .map(Some)
            .ok_or(ConfigError::Invalid {
                var: VAR,
                reason: "expected 64 hex characters (the SHA-256 of the root key)".into(),
            }),
        None if required_here => Err(ConfigError::Missing(VAR)),
        None => Ok(None),
    }
}

fn aws(env: Lookup<'_>, role: Role) -> Result<AwsResources, ConfigError> {
    Ok(AwsResources {
        table: required(env, "TABLE_NAME")?,
        queue_url: required(env, "QUEUE_URL")?,
        kms_key_id: required(env, "KMS_KEY_ID")?,
        dlq_url: match role {
            Role::Delivery => Some(required(env, "DLQ_URL")?),
            _ => env("DLQ_URL").filter(|v| !v.is_empty()),
        },
    })
}

impl Config {
    /// A Lambda's configuration; every AWS variable is required.
    pub fn for_lambda(role: Role, env: Lookup<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            backend: Backend::Aws(aws(env, role)?),
            root_key_hash: root_hash(env, role == Role::Admin)?,
            delivery: delivery_settings(env)?,
            max_endpoints_per_tenant: max_endpoints(env)?,
            public_url: public_url(env)?,
            audit_retention: audit_retention(env)?,
        })
    }

    /// `serve`'s configuration: embedded in `data_dir` unless `TABLE_NAME` is set.
    #[cfg(feature = "embedded")]
    pub fn for_serve(data_dir: std::path::PathBuf, env: Lookup<'_>) -> Result<Self, ConfigError> {
        use crate::store::sqlite::Durability;
        let backend = if env("TABLE_NAME").is_some_and(|v| !v.is_empty()) {
            Backend::Aws(aws(env, Role::Delivery)?)
        } else {
            let durability = match env("SWITCHBOARD_SYNC").as_deref() {
                None | Some("" | "normal") => Durability::Normal,
                Some("full") => Durability::Full,
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        var: "SWITCHBOARD_SYNC",
                        reason: format!("`{other}` is not `normal` or `full`"),
                    });
                }
            };
            Backend::Sqlite {
                data_dir,
                durability,
                local_key: local_key(env)?,
            }
        };
        Ok(Self {
            backend,
            root_key_hash: root_hash(env, false)?,
            delivery: delivery_settings(env)?,
            max_endpoints_per_tenant: max_endpoints(env)?,
            public_url: public_url(env)?,
            audit_retention: audit_retention(env)?,
        })
    }
}

/// The process environment as a lookup.
pub fn process_env(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn lambda_names_the_missing_variable() {
        let e = env(&[("TABLE_NAME", "t"), ("QUEUE_URL", "q")]);
        assert_eq!(
            Config::for_lambda(Role::Intake, &e).err(),
            Some(ConfigError::Missing("KMS_KEY_ID"))
        );
        let e = env(&[("TABLE_NAME", "t"), ("QUEUE_URL", "q"), ("KMS_KEY_ID", "k")]);
        assert_eq!(
            Config::for_lambda(Role::Admin, &e).err(),
            Some(ConfigError::Missing("ROOT_KEY_SHA256"))
        );
        assert_eq!(
            Config::for_lambda(Role::Delivery, &e).err(),
            Some(ConfigError::Missing("DLQ_URL"))
        );
        assert!(Config::for_lambda(Role::Intake, &e).is_ok());
    }

    #[test]
    fn endpoint_cap_defaults_to_1000_and_is_bounded() {
        let base = [("TABLE_NAME", "t"), ("QUEUE_URL", "q"), ("KMS_KEY_ID", "k")];
        let with = |value: &str| {
            let mut pairs = base.to_vec();
            pairs.push(("SWITCHBOARD_MAX_ENDPOINTS_PER_TENANT", value));
            Config::for_lambda(Role::Intake, &env(&pairs)).map(|c| c.max_endpoints_per_tenant)
        };
        assert_eq!(
            Config::for_lambda(Role::Intake, &env(&base))
                .ok()
                .map(|c| c.max_endpoints_per_tenant),
            Some(1_000)
        );
        assert_eq!(with("3").ok(), Some(3));
        for bad in ["0", "-1", "many", "4001"] {
            assert!(
                matches!(
                    with(bad),
                    Err(ConfigError::Invalid {
                        var: "SWITCHBOARD_MAX_ENDPOINTS_PER_TENANT",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn public_url_is_an_http_base() {
        let base = [("TABLE_NAME", "t"), ("QUEUE_URL", "q"), ("KMS_KEY_ID", "k")];
        let with = |value: &str| {
            let mut pairs = base.to_vec();
            pairs.push(("SWITCHBOARD_PUBLIC_URL", value));
            Config::for_lambda(Role::Intake, &env(&pairs)).map(|c| c.public_url)
        };
        assert_eq!(
            with("https://hooks.example.com/").ok(),
            Some(Some("https://hooks.example.com".to_owned()))
        );
        assert_eq!(with("").ok(), Some(None));
        for bad in ["ftp://x", "hooks.example.com", "https://h/?a=1"] {
            assert!(
                matches!(
                    with(bad),
                    Err(ConfigError::Invalid {
                        var: "SWITCHBOARD_PUBLIC_URL",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn lambda_never_falls_back_to_embedded() {
        let e = env(&[]);
        assert_eq!(
            Config::for_lambda(Role::Intake, &e).err(),
            Some(ConfigError::Missing("TABLE_NAME"))
        );
    }

    #[cfg(feature = "embedded")]
    #[test]
    fn serve_defaults_to_embedded_and_checks_root_hash() {
        let e = env(&[]);
        let c = Config::for_serve("/tmp/x".into(), &e).expect("config");
        assert!(matches!(c.backend, Backend::Sqlite { .. }));
        let e = env(&[("ROOT_KEY_SHA256", "nothex")]);
        assert!(matches!(
            Config::for_serve("/tmp/x".into(), &e),
            Err(ConfigError::Invalid {
                var: "ROOT_KEY_SHA256",
                ..
            })
        ));
        let e = env(&[("TABLE_NAME", "t")]);
        assert_eq!(
            Config::for_serve("/tmp/x".into(), &e).err(),
            Some(ConfigError::Missing("QUEUE_URL"))
        );
    }

    #[test]
    fn the_active_local_key_defaults_to_master_and_is_a_name() {
        let key = |pairs: &[(&str, &str)]| {
            Config::for_serve("/tmp/x".into(), &env(pairs)).map(|c| match c.backend {
                Backend::Sqlite { local_key, .. } => local_key,
                Backend::Aws(_) => String::new(),
            })
        };
        assert_eq!(key(&[]).expect("default"), "master");
        assert_eq!(
            key(&[("SWITCHBOARD_LOCAL_KEY", " 2025-q3 ")]).expect("named"),
            "2025-q3"
        );
        for bad in ["../master", "a/b", "k.key"] {
            assert!(matches!(
                key(&[("SWITCHBOARD_LOCAL_KEY", bad)]),
                Err(ConfigError::Invalid {
                    var: "SWITCHBOARD_LOCAL_KEY",
                    ..
                })
            ));
        }
    }
}
