//! Signing a request as a provider would: for tests and for `switchboard sign`, which lets a
//! user exercise a hook URL with curl. Only shared-secret schemes can be signed (SendGrid and
//! Discord sign with private keys the user never has).

use super::{ConfigError, ProviderConfig};
use serde_json::Value;

/// A request as the provider would send it. The URL and the body may differ from the input:
/// Twilio's JSON variant adds `bodySHA256` to the URL; Mailgun and Linear carry their
/// signature or timestamp inside the body.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    pub url: String,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

/// Why a request could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("this provider signs with a private key: only it can sign its requests")]
    NotSharedSecret,
    #[error("this scheme signs the public URL: give one (--url)")]
    NoUrl,
    #[error("this scheme needs a JSON object body")]
    BodyNotJsonObject,
    #[error("a header value could not be built")]
    BadHeader,
}

/// Signs `body` as `provider` would with `secret` (the text the user pastes in the integration's
/// `config`) and the provider's other `options` (a JSON object or `null` for the defaults),
/// calling `url` at `now` (Unix seconds).
pub fn sign_request(
    provider: &str,
    secret: &str,
    options: &Value,
    body: &[u8],
    url: &str,
    now: i64,
) -> Result<SignedRequest, SignError> {
    ProviderConfig::from_secrets(provider, &[secret.to_owned()], options)?.sign(body, url, now)
}

impl SignedRequest {
    /// A POST of `body` to `url` with `headers`, and a content type guessed from the body (JSON
    /// when it looks like JSON, else a form) unless the scheme set one.
    pub(super) fn new(url: &str, body: Vec<u8>) -> Self {
        let mut headers = http::HeaderMap::new();
        let kind = if looks_like_json(&body) {
            "application/json"
        } else {
            "application/x-www-form-urlencoded"
        };
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(kind),
        );
        Self {
            url: url.to_owned(),
            headers,
            body,
        }
    }

    /// Adds a header; the name is a static, valid lower-case name of the scheme.
    pub(super) fn header(mut self, name: &str, value: &str) -> Result<Self, SignError> {
        let name =
            http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| SignError::BadHeader)?;
        let value = http::HeaderValue::from_str(value).map_err(|_| SignError::BadHeader)?;
        self.headers.insert(name, value);
        Ok(self)
    }

    /// A curl command line sending this request with the body read from `body_file`.
    pub fn curl(&self, body_file: &str) -> String {
        let mut line = format!("curl -sS -X POST {}", shell_quote(&self.url));
        for (name, value) in &self.headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            line.push_str(&format!(" -H {}", shell_quote(&format!("{name}: {value}"))));
        }
        line.push_str(&format!(" --data-binary @{}", shell_quote(body_file)));
        line
    }
}

/// Whether a body is JSON (its first non-blank byte opens an object or an array).
pub(super) fn looks_like_json(body: &[u8]) -> bool {
    matches!(
        body.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_quotes_what_the_shell_would_split() {
        let r = SignedRequest::new("https://h.example/hooks/int_1?a=1&b=2", b"{}".to_vec())
            .header("x-sig", "it's")
            .unwrap();
        let line = r.curl("body file.json");
        assert!(
            line.contains("'https://h.example/hooks/int_1?a=1&b=2'"),
            "{line}"
        );
        assert!(line.contains(r"'x-sig: it'\''s'"), "{line}");
        assert!(line.contains("'content-type: application/json'"), "{line}");
        assert!(line.ends_with("--data-binary @'body file.json'"), "{line}");
    }

    #[test]
    fn private_key_schemes_and_unknown_providers_do_not_sign() {
        let pk = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==";
        assert_eq!(
            sign_request("sendgrid", pk, &Value::Null, b"{}", "", 0).unwrap_err(),
            SignError::NotSharedSecret
        );
        assert!(matches!(
            sign_request("nope", "s", &Value::Null, b"{}", "", 0),
            Err(SignError::Config(ConfigError::UnknownProvider { .. }))
        ));
    }
}
