//! `paddle` (Billing): `Paddle-Signature: ts=<unix seconds>;h1=<hex HMAC-SHA256 of
//! "{ts}:{body}">[;h1=…]`, keyed with the notification destination's secret key verbatim.
//! During a secret roll Paddle lists several `h1`; any may match. No delivery-id header: the
//! body's `notification_id` (the same on every retry) is the dedupe key.

use super::common::{
    Algorithm, MacKeys, body_field, check_timestamp, header, keyed_hex_signatures, only_options,
    parse_unix_seconds,
};
use super::{Entry, Rejection, Request, SignError, SignedRequest, Verified, Verifier};
use crate::error::FieldError;
use secrecy::SecretString;
use serde_json::{Map, Value};

pub(super) static ENTRY: Entry = Entry {
    name: "paddle",
    key_field: "secret",
    build,
};

const HEADER: &str = "paddle-signature";

struct Paddle(MacKeys);

fn build(
    secrets: &[SecretString],
    options: &Map<String, Value>,
) -> Result<Box<dyn Verifier>, FieldError> {
    only_options(options, &[])?;
    Ok(Box::new(Paddle(MacKeys::from_secrets(
        Algorithm::Sha256,
        secrets,
        "config.secret",
    )?)))
}

impl Verifier for Paddle {
    fn verify(&self, request: &Request<'_>, tolerance: u32) -> Result<Verified, Rejection> {
        let (ts, presented) =
            keyed_hex_signatures(HEADER, header(request, HEADER)?, ';', "ts", "h1")?;
        check_timestamp(parse_unix_seconds(HEADER, ts)?, request.now, tolerance)?;
        if !self
            .0
            .any_matches(&[ts.as_bytes(), b":", request.body], &presented)
        {
            return Err(Rejection::NoSignatureMatched);
        }
        Ok(Verified {
            dedupe_key: body_field(request.body, "notification_id")
                .or_else(|| body_field(request.body, "event_id")),
            immediate_reply: None,
        })
    }

    fn sign(&self, body: &[u8], url: &str, now: i64) -> Result<SignedRequest, SignError> {
        let ts = now.to_string();
        let tag = self
            .0
            .current(&[ts.as_bytes(), b":", body])
            .ok_or(SignError::NotSharedSecret)?;
        SignedRequest::new(url, body.to_vec())
            .header(HEADER, &format!("ts={ts};h1={}", tag.to_hex()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::*;
    use super::super::{ProviderConfig, Rejection};
    use serde_json::json;

    #[test]
    fn round_trip_tamper_wrong_secret_and_rotation() {
        let secret = "pdl_ntfset_01h_secret";
        let config = ProviderConfig::parse("paddle", &json!({"secret": secret})).unwrap();
        let body = br#"{"event_id":"evt_1","notification_id":"ntf_1"}"#;
        let signed = config.sign(body, "", NOW).unwrap();
        assert_eq!(
            config
                .verify(&view(&signed, NOW), 300)
                .unwrap()
                .dedupe_key
                .as_deref(),
            Some("ntf_1")
        );
        // A roll: the new secret's h1 beside the old one.
        let old = ProviderConfig::parse("paddle", &json!({"secret": "pdl_old"})).unwrap();
        let old_header = old.sign(body, "", NOW).unwrap().headers["paddle-signature"]
            .to_str()
            .unwrap()
            .to_owned();
        let new_h1 = signed.headers["paddle-signature"]
            .to_str()
            .unwrap()
            .split(';')
            .nth(1)
            .unwrap()
            .to_owned();
        let both = format!("{old_header};{new_h1}");
        let r = request_with(&[("paddle-signature", &both)], body);
        assert!(config.verify(&r.view(NOW), 300).is_ok());
        let mut tampered = r.clone();
        tampered.body = br#"{"event_id":"evt_2","notification_id":"ntf_1"}"#.to_vec();
        assert_eq!(
            config.verify(&tampered.view(NOW), 300),
            Err(Rejection::NoSignatureMatched)
        );
        let wrong = ProviderConfig::parse("paddle", &json!({"secret": "pdl_wrong"})).unwrap();
        assert_eq!(
            wrong.verify(&view(&signed, NOW), 300),
            Err(Rejection::NoSignatureMatched)
        );
        assert!(matches!(
            config.verify(&view(&signed, NOW - 301), 300),
            Err(Rejection::InTheFuture { seconds: 301, .. })
        ));
    }
}
