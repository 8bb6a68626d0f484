//! `linear`: `Linear-Signature: <hex HMAC-SHA256 of the body>`, keyed with the webhook's signing
//! secret verbatim. The timestamp is inside the signed body (`webhookTimestamp`, Unix
//! milliseconds), so it is read after the signature matched and checked against the tolerance.
//! Dedupe on `Linear-Delivery`.

use super::common::{Algorithm, MacKeys, check_timestamp, json_object, only_options};
use super::generic_hmac::{Encoding, HmacScheme, Segment};
use super::{Entry, Rejection, Request, SignError, SignedRequest, Verified, Verifier};
use crate::error::FieldError;
use secrecy::SecretString;
use serde_json::{Map, Value};

pub(super) static ENTRY: Entry = Entry {
    name: "linear",
    key_field: "secret",
    build,
};

const TIMESTAMP_FIELD: &str = "webhookTimestamp";

struct Linear(HmacScheme);

fn build(
    secrets: &[SecretString],
    options: &Map<String, Value>,
) -> Result<Box<dyn Verifier>, FieldError> {
    only_options(options, &[])?;
    Ok(Box::new(Linear(HmacScheme {
        header: "linear-signature".into(),
        prefix: None,
        encoding: Encoding::Hex,
        keys: MacKeys::from_secrets(Algorithm::Sha256, secrets, "config.secret")?,
        timestamp: None,
        template: vec![Segment::Body],
        id_header: Some("linear-delivery".into()),
    })))
}

/// The body's `webhookTimestamp` in Unix seconds.
fn body_timestamp(body: &[u8]) -> Result<i64, Rejection> {
    let object = json_object(body).ok_or(Rejection::MalformedBody {
        reason: "not a JSON object",
    })?;
    let millis = object
        .get(TIMESTAMP_FIELD)
        .ok_or(Rejection::MissingBodyField {
            field: TIMESTAMP_FIELD,
        })?
        .as_i64()
        .ok_or(Rejection::MalformedBody {
            reason: "`webhookTimestamp` is not an integer of milliseconds",
        })?;
    Ok(millis.div_euclid(1000))
}

impl Verifier for Linear {
    fn verify(&self, request: &Request<'_>, tolerance: u32) -> Result<Verified, Rejection> {
        let checked = self.0.check(request, tolerance)?;
        check_timestamp(body_timestamp(request.body)?, request.now, tolerance)?;
        Ok(Verified {
            dedupe_key: checked.dedupe_key,
            immediate_reply: None,
        })
    }

    /// Sets `webhookTimestamp` in the (JSON object) body, then signs it.
    fn sign(&self, body: &[u8], url: &str, now: i64) -> Result<SignedRequest, SignError> {
        let mut object = json_object(body).ok_or(SignError::BodyNotJsonObject)?;
        object.insert(
            TIMESTAMP_FIELD.into(),
            Value::from(now.saturating_mul(1000)),
        );
        let body = serde_json::to_vec(&object).map_err(|_| SignError::BodyNotJsonObject)?;
        self.0.sign(&body, url, now)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::*;
    use super::super::{ProviderConfig, Rejection, SignError};
    use serde_json::json;

    #[test]
    fn the_timestamp_in_the_signed_body_is_checked() {
        let config = ProviderConfig::parse("linear", &json!({"secret": "lin_wh_x"})).unwrap();
        assert_eq!(
            config.sign(b"[1]", "", NOW).unwrap_err(),
            SignError::BodyNotJsonObject
        );
        let signed = config.sign(br#"{"action":"create"}"#, "", NOW).unwrap();
        assert!(
            config
                .verify(&view(&signed, NOW + 5), 300)
                .unwrap()
                .dedupe_key
                .is_some()
        );
        assert!(matches!(
            config.verify(&view(&signed, NOW + 900), 300),
            Err(Rejection::Stale { seconds: 900, .. })
        ));
        let mut tampered = signed.clone();
        tampered.body = br#"{"action":"remove"}"#.to_vec();
        assert_eq!(
            config.verify(&view(&tampered, NOW), 300),
            Err(Rejection::NoSignatureMatched)
        );
        let wrong = ProviderConfig::parse("linear", &json!({"secret": "lin_wh_y"})).unwrap();
        assert_eq!(
            wrong.verify(&view(&signed, NOW), 300),
            Err(Rejection::NoSignatureMatched)
        );
        // Signed, but without the timestamp: the replay window cannot be checked.
        let untimed = ProviderConfig::parse(
            "generic_hmac",
            &json!({"secret": "lin_wh_x", "header": "linear-signature"}),
        )
        .unwrap()
        .sign(br#"{"action":"create"}"#, "", NOW)
        .unwrap();
        assert_eq!(
            config.verify(&view(&untimed, NOW), 300),
            Err(Rejection::MissingBodyField {
                field: "webhookTimestamp"
            })
        );
    }
}
