//! An integration's verification config, parsed and validated once: the provider, its key
//! material (the current secret, then any in rotation grace) and its options. Parsing builds the
//! verifier, so every config error surfaces here as a field error (`type`, `config.secret`,
//! `config.algorithm`, …) and a parsed config always verifies.

use super::{Entry, KNOWN, Rejection, Request, SignError, SignedRequest, Verified, Verifier};
use crate::error::FieldError;
use secrecy::SecretString;
use serde_json::{Map, Value};
use std::sync::Arc;

/// At most this many secrets verify at once (the current one plus those in rotation grace):
/// each costs one MAC per request.
pub const MAX_SECRETS: usize = 4;

/// Why a provider config was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown provider `{given}`")]
    UnknownProvider { given: String },
    #[error("{}: {}", .0.field, .0.message)]
    Invalid(FieldError),
}

impl ConfigError {
    /// The field error the API answers 422 with: `type` listing the known providers, or the
    /// offending `config.<field>`.
    pub fn field_error(&self) -> FieldError {
        match self {
            Self::UnknownProvider { .. } => {
                FieldError::new("type", format!("must be one of: {}", KNOWN.join(", ")))
            }
            Self::Invalid(e) => e.clone(),
        }
    }
}

impl From<FieldError> for ConfigError {
    fn from(e: FieldError) -> Self {
        Self::Invalid(e)
    }
}

/// A validated provider config with its verifier built. `Debug` shows no key material.
#[derive(Clone)]
pub struct ProviderConfig {
    entry: &'static Entry,
    secrets: Vec<SecretString>,
    options: Map<String, Value>,
    verifier: Arc<dyn Verifier>,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("provider", &self.entry.name)
            .field("secrets", &self.secrets.len())
            .field("options", &self.options)
            .finish()
    }
}

impl ProviderConfig {
    /// Parses `config` (a JSON object: the key field, e.g. `secret`, plus the provider's
    /// options) for the provider type string `provider`.
    pub fn parse(provider: &str, config: &Value) -> Result<Self, ConfigError> {
        let entry = super::entry(provider).ok_or_else(|| ConfigError::UnknownProvider {
            given: provider.to_owned(),
        })?;
        let Value::Object(object) = config else {
            return Err(FieldError::new("config", "must be an object").into());
        };
        let mut options = object.clone();
        let key_path = format!("config.{}", entry.key_field);
        let secret = match options.remove(entry.key_field) {
            Some(Value::String(s)) => SecretString::from(s),
            Some(_) => return Err(FieldError::new(key_path, "must be a string").into()),
            None => return Err(FieldError::new(key_path, "is required").into()),
        };
        Ok(Self::build(entry, vec![secret], options)?)
    }

    /// A config from key material given apart from the options (the CLI's `--secret` and
    /// `--config`): `secrets` current first, `options` a JSON object or `null`.
    pub fn from_secrets(
        provider: &str,
        secrets: &[String],
        options: &Value,
    ) -> Result<Self, ConfigError> {
        let entry = super::entry(provider).ok_or_else(|| ConfigError::UnknownProvider {
            given: provider.to_owned(),
        })?;
        let mut config = match options {
            Value::Null => Map::new(),
            Value::Object(o) => o.clone(),
            _ => return Err(FieldError::new("config", "must be an object").into()),
        };
        let (current, grace) = secrets
            .split_first()
            .ok_or_else(|| FieldError::new(format!("config.{}", entry.key_field), "is required"))?;
        config.insert(entry.key_field.to_owned(), Value::String(current.clone()));
        let mut parsed = Self::parse(provider, &Value::Object(config))?;
        for secret in grace {
            parsed = parsed.with_grace_secret(SecretString::from(secret.clone()))?;
        }
        Ok(parsed)
    }

    /// The same config with one more key verifying: a previous secret still in its rotation
    /// grace. Checked like the current one; at most [`MAX_SECRETS`] in all.
    pub fn with_grace_secret(self, secret: SecretString) -> Result<Self, FieldError> {
        let mut secrets = self.secrets;
        if secrets.len() >= MAX_SECRETS {
            return Err(FieldError::new(
                format!("config.{}", self.entry.key_field),
                format!("at most {MAX_SECRETS} secrets may verify at once"),
            ));
        }
        secrets.push(secret);
        Self::build(self.entry, secrets, self.options)
    }

    fn build(
        entry: &'static Entry,
        secrets: Vec<SecretString>,
        options: Map<String, Value>,
    ) -> Result<Self, FieldError> {
        let verifier = Arc::from((entry.build)(&secrets, &options)?);
        Ok(Self {
            entry,
            secrets,
            options,
            verifier,
        })
    }

    /// The provider type string.
    pub fn provider(&self) -> &'static str {
        self.entry.name
    }

    /// The config field holding the key material (`secret`, `public_key`, `password`).
    pub fn key_field(&self) -> &'static str {
        self.entry.key_field
    }

    /// The key material, current first (to seal, never to show).
    pub fn secrets(&self) -> &[SecretString] {
        &self.secrets
    }

    /// The options without the key material: safe to show.
    pub fn options(&self) -> &Map<String, Value> {
        &self.options
    }

    /// The built verifier, to cache with the integration.
    pub fn verifier(&self) -> Arc<dyn Verifier> {
        Arc::clone(&self.verifier)
    }

    /// Verifies `request`; `tolerance` in seconds (the integration's `tolerance_seconds`).
    pub fn verify(&self, request: &Request<'_>, tolerance: u32) -> Result<Verified, Rejection> {
        self.verifier.verify(request, tolerance)
    }

    /// A request this provider would send, signed with the current secret.
    pub fn sign(&self, body: &[u8], url: &str, now: i64) -> Result<SignedRequest, SignError> {
        self.verifier.sign(body, url, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_unknown_provider_names_the_known_ones() {
        let e = ProviderConfig::parse("githib", &json!({"secret": "s"})).unwrap_err();
        assert_eq!(
            e,
            ConfigError::UnknownProvider {
                given: "githib".into()
            }
        );
        let field = e.field_error();
        assert_eq!(field.field, "type");
        for name in KNOWN {
            assert!(field.message.contains(name), "{name}");
        }
    }

    #[test]
    fn the_key_field_is_required_and_named() {
        let cases = [
            ("github", json!({}), "config.secret"),
            ("github", json!({"secret": 5}), "config.secret"),
            ("github", json!({"secret": ""}), "config.secret"),
            ("github", json!({"secret": " s\n"}), "config.secret"),
            ("github", json!("s"), "config"),
            (
                "github",
                json!({"secret": "s", "colour": "red"}),
                "config.colour",
            ),
            ("sendgrid", json!({"secret": "s"}), "config.public_key"),
            ("basic_auth", json!({"password": "p"}), "config.username"),
        ];
        for (provider, config, field) in cases {
            let e = ProviderConfig::parse(provider, &config).unwrap_err();
            assert_eq!(e.field_error().field, field, "{provider} {config}");
        }
    }

    #[test]
    fn grace_secrets_are_bounded_and_debug_shows_none() {
        let mut c = ProviderConfig::parse("github", &json!({"secret": "current-secret"})).unwrap();
        for i in 1..MAX_SECRETS {
            c = c
                .with_grace_secret(SecretString::from(format!("old-{i}")))
                .unwrap();
        }
        assert_eq!(c.secrets().len(), MAX_SECRETS);
        let e = c
            .clone()
            .with_grace_secret(SecretString::from("one-too-many"))
            .unwrap_err();
        assert_eq!(e.field, "config.secret");
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("current-secret") && !shown.contains("old-1"),
            "{shown}"
        );
    }
}
