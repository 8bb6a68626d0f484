//! `api_key`: no signature, a static token the sender puts in a header of the user's choosing
//! (`header`, default `x-api-key`), optionally after a `prefix` such as `Bearer `. The token is
//! kept as its SHA-256 and compared by digest in constant time. Options: `header`, `prefix`,
//! `id_header` (the sender's delivery id, for dedupe).

use super::common::{
    TokenDigest, any_token_matches, dedupe_key, field, header, header_option, only_options,
    shared_secret, string_option,
};
use super::{Entry, Rejection, Request, SignError, SignedRequest, Verified, Verifier};
use crate::error::FieldError;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

pub(super) static ENTRY: Entry = Entry {
    name: "api_key",
    key_field: "secret",
    build,
};

const DEFAULT_HEADER: &str = "x-api-key";
const MAX_PREFIX_BYTES: usize = 32;

struct ApiKey {
    header: String,
    prefix: String,
    id_header: Option<String>,
    digests: Vec<TokenDigest>,
    current: SecretString,
}

fn build(
    secrets: &[SecretString],
    options: &Map<String, Value>,
) -> Result<Box<dyn Verifier>, FieldError> {
    only_options(options, &["header", "prefix", "id_header"])?;
    let header = header_option(options, "header", Some(DEFAULT_HEADER))?
        .unwrap_or_else(|| DEFAULT_HEADER.to_owned());
    let prefix = string_option(options, "prefix")?.unwrap_or("");
    if prefix.len() > MAX_PREFIX_BYTES
        || !prefix.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        || prefix.starts_with(' ')
    {
        return Err(FieldError::new(
            field("prefix"),
            format!(
                "must be at most {MAX_PREFIX_BYTES} visible ASCII characters or spaces, not starting with a space"
            ),
        ));
    }
    let digests = secrets
        .iter()
        .map(|s| shared_secret("config.secret", s).map(TokenDigest::of))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Box::new(ApiKey {
        header,
        prefix: prefix.to_owned(),
        id_header: header_option(options, "id_header", None)?,
        digests,
        current: secrets
            .first()
            .cloned()
            .ok_or_else(|| FieldError::new("config.secret", "is required"))?,
    }))
}

impl Verifier for ApiKey {
    fn verify(&self, request: &Request<'_>, _tolerance: u32) -> Result<Verified, Rejection> {
        let value = header(request, &self.header)?;
        // A missing prefix is the same answer as a wrong token: nothing to learn from it.
        let token = value.strip_prefix(self.prefix.as_str()).unwrap_or("");
        if !any_token_matches(&self.digests, token.trim_start().as_bytes()) {
            return Err(Rejection::WrongCredential {
                header: self.header.clone(),
            });
        }
        Ok(Verified {
            dedupe_key: self.id_header.as_ref().and_then(|h| dedupe_key(request, h)),
            immediate_reply: None,
        })
    }

    fn sign(&self, body: &[u8], url: &str, _now: i64) -> Result<SignedRequest, SignError> {
        let value = format!("{}{}", self.prefix, self.current.expose_secret());
        let mut signed = SignedRequest::new(url, body.to_vec()).header(&self.header, &value)?;
        if let Some(id) = &self.id_header {
            signed = signed.header(id, &super::common::random_id())?;
        }
        Ok(signed)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::*;
    use super::super::{ProviderConfig, Rejection};
    use serde_json::json;

    #[test]
    fn the_token_is_read_after_its_prefix() {
        let config = ProviderConfig::parse(
            "api_key",
            &json!({"secret": "tok_live_1", "header": "Authorization", "prefix": "Bearer "}),
        )
        .unwrap();
        let signed = config.sign(b"{}", "", NOW).unwrap();
        assert_eq!(signed.headers["authorization"], "Bearer tok_live_1");
        assert!(config.verify(&view(&signed, NOW), 300).is_ok());
        for wrong in [
            "tok_live_1",
            "Bearer tok_live_2",
            "Bearer tok_live_",
            "Basic tok_live_1",
        ] {
            let r = request_with(&[("authorization", wrong)], b"{}");
            assert_eq!(
                config.verify(&r.view(NOW), 300),
                Err(Rejection::WrongCredential {
                    header: "authorization".into()
                }),
                "{wrong}"
            );
        }
        let plain = ProviderConfig::parse("api_key", &json!({"secret": "k"})).unwrap();
        let r = request_with(&[("x-api-key", "k")], b"{}");
        assert!(plain.verify(&r.view(NOW), 300).is_ok());
        let e =
            ProviderConfig::parse("api_key", &json!({"secret": "k", "prefix": " x"})).unwrap_err();
        assert_eq!(e.field_error().field, "config.prefix");
    }
}
