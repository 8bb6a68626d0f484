//! `stripe`: `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{body}">[,v1=…]`,
//! keyed with the endpoint's `whsec_…` signing secret used verbatim (not base64-decoded: the
//! whole text is the key). Stripe lists one `v1` per active secret during a roll; any may match.
//! `v0` (test-mode legacy) entries are ignored. No delivery-id header: the event's `id` in the
//! body (the same on every retry) is the dedupe key.

use super::common::{
    Algorithm, MacKeys, body_field, check_timestamp, header, keyed_hex_signatures, only_options,
    parse_unix_seconds,
};
use super::{Entry, Rejection, Request, SignError, SignedRequest, Verified, Verifier};
use crate::error::FieldError;
use secrecy::SecretString;
use serde_json::{Map, Value};

pub(super) static ENTRY: Entry = Entry {
    name: "stripe",
    key_field: "secret",
    build,
};

const HEADER: &str = "stripe-signature";

struct Stripe(MacKeys);

fn build(
    secrets: &[SecretString],
    options: &Map<String, Value>,
) -> Result<Box<dyn Verifier>, FieldError> {
    only_options(options, &[])?;
    Ok(Box::new(Stripe(MacKeys::from_secrets(
        Algorithm::Sha256,
        secrets,
        "config.secret",
    )?)))
}

impl Verifier for Stripe {
    fn verify(&self, request: &Request<'_>, tolerance: u32) -> Result<Verified, Rejection> {
        let (timestamp, presented) =
            keyed_hex_signatures(HEADER, header(request, HEADER)?, ',', "t", "v1")?;
        check_timestamp(
            parse_unix_seconds(HEADER, timestamp)?,
            request.now,
            tolerance,
        )?;
        if !self
            .0
            .any_matches(&[timestamp.as_bytes(), b".", request.body], &presented)
        {
            return Err(Rejection::NoSignatureMatched);
        }
        Ok(Verified {
            dedupe_key: body_field(request.body, "id"),
            immediate_reply: None,
        })
    }

    fn sign(&self, body: &[u8], url: &str, now: i64) -> Result<SignedRequest, SignError> {
        let t = now.to_string();
        let tag = self
            .0
            .current(&[t.as_bytes(), b".", body])
            .ok_or(SignError::NotSharedSecret)?;
        SignedRequest::new(url, body.to_vec()).header(HEADER, &format!("t={t},v1={}", tag.to_hex()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::*;
    use super::super::{MAX_SIGNATURES, ProviderConfig, Rejection};
    use hmac::{Hmac, KeyInit, Mac};
    use serde_json::json;

    fn v1(secret: &str, t: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn the_whsec_secret_is_the_key_verbatim_and_any_v1_may_match() {
        let secret = "whsec_test_secret";
        let config = ProviderConfig::parse("stripe", &json!({"secret": secret})).unwrap();
        let body = br#"{"id":"evt_1","object":"event"}"#;
        let header = format!(
            "t={NOW},v1={},v1={},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39",
            v1("whsec_other", NOW, body),
            v1(secret, NOW, body)
        );
        let mut r = request_with(&[("stripe-signature", &header)], body);
        assert_eq!(
            config
                .verify(&r.view(NOW), 300)
                .unwrap()
                .dedupe_key
                .as_deref(),
            Some("evt_1")
        );
        r.body[2] ^= 1;
        assert_eq!(
            config.verify(&r.view(NOW), 300),
            Err(Rejection::NoSignatureMatched)
        );
        r.body[2] ^= 1;
        assert!(matches!(
            config.verify(&r.view(NOW + 301), 300),
            Err(Rejection::Stale { seconds: 301, .. })
        ));
        let wrong = ProviderConfig::parse("stripe", &json!({"secret": "whsec_wrong"})).unwrap();
        assert_eq!(
            wrong.verify(&r.view(NOW), 300),
            Err(Rejection::NoSignatureMatched)
        );
    }

    #[test]
    fn malformed_headers_are_named() {
        let config = ProviderConfig::parse("stripe", &json!({"secret": "whsec_x"})).unwrap();
        let many = format!("t={NOW},{}", vec!["v1=aa"; MAX_SIGNATURES + 1].join(","));
        for value in [
            "v1=aa".to_owned(),
            format!("t={NOW}"),
            format!("t={NOW},v1=zz"),
            format!("t={NOW},t={NOW},v1=aa"),
            format!("t={NOW},garbage,v1=aa"),
            "t=soon,v1=aa".to_owned(),
        ] {
            let r = request_with(&[("stripe-signature", &value)], b"{}");
            assert!(
                matches!(
                    config.verify(&r.view(NOW), 300),
                    Err(Rejection::MalformedHeader { .. })
                ),
                "{value}"
            );
        }
        let r = request_with(&[("stripe-signature", &many)], b"{}");
        assert!(matches!(
            config.verify(&r.view(NOW), 300),
            Err(Rejection::TooManySignatures { .. })
        ));
        let signed = config.sign(b"{}", "", NOW).unwrap();
        assert!(config.verify(&view(&signed, NOW), 300).is_ok());
    }
}
