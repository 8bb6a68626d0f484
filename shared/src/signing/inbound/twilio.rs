//! `twilio`: `X-Twilio-Signature: <base64 HMAC-SHA1>`, keyed with the account's auth token.
//! For a form-encoded POST the MAC covers the public URL (query included) followed by every
//! form parameter, sorted by name, as `name` then `value`. For a JSON POST Twilio adds
//! `bodySHA256=<hex SHA-256 of the body>` to the URL's query and signs the URL alone; the body
//! must then hash to that value. Either way the URL must be exactly the one configured in
//! Twilio (the integration's `public_url`). Dedupe on `I-Twilio-Idempotency-Token`.

use super::common::{Algorithm, MacKeys, Tag, dedupe_key, header, malformed, only_options};
use super::{Entry, Rejection, Request, SignError, SignedRequest, Verified, Verifier};
use crate::error::FieldError;
use secrecy::SecretString;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use subtle::ConstantTimeEq;

pub(super) static ENTRY: Entry = Entry {
    name: "twilio",
    key_field: "secret",
    build,
};

const HEADER: &str = "x-twilio-signature";
const ID_HEADER: &str = "i-twilio-idempotency-token";
const BODY_HASH_PARAM: &str = "bodySHA256";

struct Twilio(MacKeys);

fn build(
    secrets: &[SecretString],
    options: &Map<String, Value>,
) -> Result<Box<dyn Verifier>, FieldError> {
    only_options(options, &[])?;
    Ok(Box::new(Twilio(MacKeys::from_secrets(
        Algorithm::Sha1,
        secrets,
        "config.secret",
    )?)))
}

/// The `bodySHA256` query parameter of `url`, if any.
fn body_hash_param(url: &str) -> Option<Cow<'_, str>> {
    let (_, query) = url.split_once('?')?;
    let query = query.split('#').next().unwrap_or(query);
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == BODY_HASH_PARAM)
        .map(|(_, v)| v)
}

/// The form parameters, sorted by name then value.
fn sorted_params(body: &[u8]) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    let mut params: Vec<_> = form_urlencoded::parse(body).collect();
    params.sort();
    params
}

/// What the MAC covers: the URL, then (for a form POST) each sorted parameter.
fn message<'a>(url: &'a str, params: &'a [(Cow<'a, str>, Cow<'a, str>)]) -> Vec<&'a [u8]> {
    let mut parts = Vec::with_capacity(1 + 2 * params.len());
    parts.push(url.as_bytes());
    for (name, value) in params {
        parts.push(name.as_bytes());
        parts.push(value.as_bytes());
    }
    parts
}

impl Verifier for Twilio {
    fn verify(&self, request: &Request<'_>, _tolerance: u32) -> Result<Verified, Rejection> {
        let presented = Tag::from_base64(header(request, HEADER)?)
            .ok_or_else(|| malformed(HEADER, "signature is not base64"))?;
        if request.url.is_empty() {
            return Err(Rejection::NoUrl);
        }
        let params = match body_hash_param(request.url) {
            Some(expected) => {
                let actual = hex::encode(Sha256::digest(request.body));
                if !bool::from(
                    actual
                        .as_bytes()
                        .ct_eq(expected.to_ascii_lowercase().as_bytes()),
                ) {
                    return Err(Rejection::BodyHashMismatch);
                }
                Vec::new()
            }
            None => sorted_params(request.body),
        };
        if !self
            .0
            .any_matches(&message(request.url, &params), &[presented])
        {
            return Err(Rejection::NoSignatureMatched);
        }
        Ok(Verified {
            dedupe_key: dedupe_key(request, ID_HEADER),
            immediate_reply: None,
        })
    }

    /// A form body is signed with its parameters; a JSON body gets `bodySHA256` in the URL.
    fn sign(&self, body: &[u8], url: &str, _now: i64) -> Result<SignedRequest, SignError> {
        if url.is_empty() {
            return Err(SignError::NoUrl);
        }
        let (url, params) = if super::sign::looks_like_json(body) {
            let separator = if url.contains('?') { '&' } else { '?' };
            let hash = hex::encode(Sha256::digest(body));
            (
                format!("{url}{separator}{BODY_HASH_PARAM}={hash}"),
                Vec::new(),
            )
        } else {
            (url.to_owned(), sorted_params(body))
        };
        let tag = self
            .0
            .current(&message(&url, &params))
            .ok_or(SignError::NotSharedSecret)?;
        SignedRequest::new(&url, body.to_vec())
            .header(HEADER, &tag.to_base64())?
            .header(ID_HEADER, &super::common::random_id())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::*;
    use super::super::{ProviderConfig, Rejection};
    use serde_json::json;

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn config(token: &str) -> ProviderConfig {
        ProviderConfig::parse("twilio", &json!({"secret": token})).unwrap()
    }

    #[test]
    fn the_documented_form_and_json_examples_verify() {
        // Twilio docs and twilio-python's tests.
        let form = "To=%2B18005551212&From=%2B12349013030&Digits=1234&CallSid=CA1234567890ABCDE&Caller=%2B12349013030";
        let mut r = request_with(
            &[("x-twilio-signature", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")],
            form.as_bytes(),
        );
        r.url = URL.into();
        assert!(config("12345").verify(&r.view(NOW), 300).is_ok());
        assert_eq!(
            config("12346").verify(&r.view(NOW), 300),
            Err(Rejection::NoSignatureMatched)
        );
        r.body = form.replace("1234&", "1235&").into_bytes();
        assert_eq!(
            config("12345").verify(&r.view(NOW), 300),
            Err(Rejection::NoSignatureMatched)
        );

        let body = br#"{"property": "value", "boolean": true}"#;
        let mut j = request_with(
            &[("x-twilio-signature", "a9nBmqA0ju/hNViExpshrM61xv4=")],
            body,
        );
        j.url = format!(
            "{URL}&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
        );
        assert!(config("12345").verify(&j.view(NOW), 300).is_ok());
        j.body = br#"{"property": "value", "boolean": false}"#.to_vec();
        assert_eq!(
            config("12345").verify(&j.view(NOW), 300),
            Err(Rejection::BodyHashMismatch)
        );
        j.url.clear();
        assert_eq!(
            config("12345").verify(&j.view(NOW), 300),
            Err(Rejection::NoUrl)
        );
    }

    #[test]
    fn both_variants_round_trip() {
        let c = config("auth-token");
        for body in [&b"Body=hi&From=%2B1555"[..], &br#"{"a":1}"#[..]] {
            let signed = c.sign(body, URL, NOW).unwrap();
            assert!(
                c.verify(&view(&signed, NOW), 300)
                    .unwrap()
                    .dedupe_key
                    .is_some()
            );
            let mut other = signed.clone();
            other.url = URL.replace("foo=1", "foo=2");
            assert!(c.verify(&view(&other, NOW), 300).is_err());
        }
    }
}
