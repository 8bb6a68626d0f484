//! `basic_auth`: no signature, HTTP Basic credentials (`Authorization: Basic
//! base64(username:password)`). The expected `username:password` is kept as its SHA-256 and
//! compared by digest in constant time, so neither the username nor the password leaks through
//! timing. Options: `username` (required).

use super::common::{
    TokenDigest, any_token_matches, field, header, only_options, shared_secret, string_option,
};
use super::{Entry, Rejection, Request, SignError, SignedRequest, Verified, Verifier};
use crate::error::FieldError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

pub(super) static ENTRY: Entry = Entry {
    name: "basic_auth",
    key_field: "password",
    build,
};

const HEADER: &str = "authorization";
const MAX_USERNAME_BYTES: usize = 256;

struct BasicAuth {
    digests: Vec<TokenDigest>,
    /// `username:password` with the current password, to sign test requests with.
    current: SecretString,
}

fn build(
    secrets: &[SecretString],
    options: &Map<String, Value>,
) -> Result<Box<dyn Verifier>, FieldError> {
    only_options(options, &["username"])?;
    let username = string_option(options, "username")?
        .ok_or_else(|| FieldError::new(field("username"), "is required"))?;
    if username.is_empty() || username.len() > MAX_USERNAME_BYTES || username.contains(':') {
        return Err(FieldError::new(
            field("username"),
            format!("must be 1 to {MAX_USERNAME_BYTES} bytes without `:`"),
        ));
    }
    let mut digests = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let password = shared_secret("config.password", secret)?;
        let pair = Zeroizing::new([username.as_bytes(), b":", password].concat());
        digests.push(TokenDigest::of(&pair));
    }
    let current = secrets
        .first()
        .map(|s| SecretString::from(format!("{username}:{}", s.expose_secret())))
        .ok_or_else(|| FieldError::new("config.password", "is required"))?;
    Ok(Box::new(BasicAuth { digests, current }))
}

impl Verifier for BasicAuth {
    fn verify(&self, request: &Request<'_>, _tolerance: u32) -> Result<Verified, Rejection> {
        let value = header(request, HEADER)?;
        let (scheme, encoded) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(Rejection::MalformedHeader {
                header: HEADER.into(),
                reason: "not Basic credentials",
            });
        }
        let pair = Zeroizing::new(STANDARD.decode(encoded.trim()).map_err(|_| {
            Rejection::MalformedHeader {
                header: HEADER.into(),
                reason: "credentials are not base64",
            }
        })?);
        if !any_token_matches(&self.digests, &pair) {
            return Err(Rejection::WrongCredential {
                header: HEADER.into(),
            });
        }
        Ok(Verified::default())
    }

    fn sign(&self, body: &[u8], url: &str, _now: i64) -> Result<SignedRequest, SignError> {
        let value = format!("Basic {}", STANDARD.encode(self.current.expose_secret()));
        SignedRequest::new(url, body.to_vec()).header(HEADER, &value)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::*;
    use super::super::{ProviderConfig, Rejection};
    use serde_json::json;

    #[test]
    fn username_and_password_must_both_match() {
        let config = ProviderConfig::parse(
            "basic_auth",
            &json!({"username": "hook", "password": "pw1"}),
        )
        .unwrap();
        let signed = config.sign(b"{}", "", NOW).unwrap();
        assert_eq!(signed.headers["authorization"], "Basic aG9vazpwdzE=");
        assert!(config.verify(&view(&signed, NOW), 300).is_ok());
        // hook:pw2, hooK:pw1
        for wrong in ["Basic aG9vazpwdzI=", "Basic aG9vSzpwdzE="] {
            let r = request_with(&[("authorization", wrong)], b"{}");
            assert!(
                matches!(
                    config.verify(&r.view(NOW), 300),
                    Err(Rejection::WrongCredential { .. })
                ),
                "{wrong}"
            );
        }
        for bad in ["Bearer aG9vazpwdzE=", "Basic ***"] {
            let r = request_with(&[("authorization", bad)], b"{}");
            assert!(
                matches!(
                    config.verify(&r.view(NOW), 300),
                    Err(Rejection::MalformedHeader { .. })
                ),
                "{bad}"
            );
        }
        let e = ProviderConfig::parse("basic_auth", &json!({"username": "a:b", "password": "p"}))
            .unwrap_err();
        assert_eq!(e.field_error().field, "config.username");
    }
}
