//! `sendgrid` (Event Webhook, signed): `X-Twilio-Email-Event-Webhook-Signature: <base64 DER
//! ECDSA P-256/SHA-256 signature of timestamp + body>` with the timestamp (Unix seconds) in
//! `X-Twilio-Email-Event-Webhook-Timestamp`. The `public_key` is the verification key SendGrid
//! shows (base64 DER SubjectPublicKeyInfo, PEM armour tolerated). SendGrid signs with a private
//! key the user never has, so this scheme cannot sign test requests. No delivery-id header
//! (each event in the batch has its own `sg_event_id`).

use super::common::{check_timestamp, header, malformed, only_options, parse_unix_seconds};
use super::{Entry, Rejection, Request, Verified, Verifier};
use crate::error::FieldError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::MultipartVerifier;
use p256::ecdsa::{DerSignature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

pub(super) static ENTRY: Entry = Entry {
    name: "sendgrid",
    key_field: "public_key",
    build,
};

const SIGNATURE: &str = "x-twilio-email-event-webhook-signature";
const TIMESTAMP: &str = "x-twilio-email-event-webhook-timestamp";
/// A DER P-256 signature is at most 72 bytes (96 in base64).
const MAX_SIGNATURE_B64: usize = 128;

struct Sendgrid(Vec<VerifyingKey>);

/// A public key as SendGrid shows it: base64 DER SPKI, with or without PEM armour and line breaks.
fn parse_key(text: &str) -> Option<VerifyingKey> {
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = STANDARD.decode(body).ok()?;
    VerifyingKey::from_public_key_der(&der).ok()
}

fn build(
    secrets: &[SecretString],
    options: &Map<String, Value>,
) -> Result<Box<dyn Verifier>, FieldError> {
    only_options(options, &[])?;
    secrets
        .iter()
        .map(|s| {
            parse_key(s.expose_secret()).ok_or_else(|| {
                FieldError::new(
                    "config.public_key",
                    "must be the base64 P-256 verification key SendGrid shows",
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|keys| Box::new(Sendgrid(keys)) as Box<dyn Verifier>)
}

impl Verifier for Sendgrid {
    fn verify(&self, request: &Request<'_>, tolerance: u32) -> Result<Verified, Rejection> {
        let encoded = header(request, SIGNATURE)?;
        let timestamp = header(request, TIMESTAMP)?;
        if encoded.len() > MAX_SIGNATURE_B64 {
            return Err(malformed(SIGNATURE, "too long for a P-256 signature"));
        }
        let signature = STANDARD
            .decode(encoded)
            .ok()
            .and_then(|der| DerSignature::from_bytes(&der).ok())
            .ok_or_else(|| malformed(SIGNATURE, "not a base64 DER ECDSA signature"))?;
        check_timestamp(
            parse_unix_seconds(TIMESTAMP, timestamp)?,
            request.now,
            tolerance,
        )?;
        let parts = [timestamp.as_bytes(), request.body];
        let matched = self.0.iter().fold(false, |acc, key| {
            acc | key.multipart_verify(&parts, &signature).is_ok()
        });
        if !matched {
            return Err(Rejection::NoSignatureMatched);
        }
        Ok(Verified::default())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::*;
    use super::super::{ProviderConfig, Rejection};
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::EncodePublicKey;
    use serde_json::json;

    pub const KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==";

    #[test]
    fn the_published_example_verifies() {
        // sendgrid-python's EventWebhook tests.
        let config = ProviderConfig::parse("sendgrid", &json!({ "public_key": KEY })).unwrap();
        let sig = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=";
        let body =
            br#"{"category":"example_payload","event":"test_event","message_id":"message_id"}"#;
        let mut r = request_with(
            &[
                ("x-twilio-email-event-webhook-signature", sig),
                ("x-twilio-email-event-webhook-timestamp", "1588788367"),
            ],
            body,
        );
        assert!(config.verify(&r.view(1588788367), 300).is_ok());
        r.body[3] ^= 1;
        assert_eq!(
            config.verify(&r.view(1588788367), 300),
            Err(Rejection::NoSignatureMatched)
        );
        r.body[3] ^= 1;
        assert!(matches!(
            config.verify(&r.view(1588788367 + 301), 300),
            Err(Rejection::Stale { .. })
        ));
        r.set("x-twilio-email-event-webhook-signature", "MEUCIQ==");
        assert!(matches!(
            config.verify(&r.view(1588788367), 300),
            Err(Rejection::MalformedHeader { .. })
        ));
    }

    #[test]
    fn a_pem_key_round_trips_and_a_wrong_key_does_not_verify() {
        let signing = p256::ecdsa::SigningKey::from_bytes(&[9u8; 32].into()).unwrap();
        let der = signing.verifying_key().to_public_key_der().unwrap();
        let b64 = STANDARD.encode(der.as_bytes());
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n{}\n-----END PUBLIC KEY-----\n",
            &b64[..64],
            &b64[64..]
        );
        let config = ProviderConfig::parse("sendgrid", &json!({ "public_key": pem })).unwrap();
        let ts = NOW.to_string();
        let body = b"[{\"event\":\"open\"}]";
        let sig: p256::ecdsa::DerSignature = signing.sign(&[ts.as_bytes(), body].concat());
        let r = request_with(
            &[
                (
                    "x-twilio-email-event-webhook-signature",
                    &STANDARD.encode(sig.to_bytes()),
                ),
                ("x-twilio-email-event-webhook-timestamp", &ts),
            ],
            body,
        );
        assert!(config.verify(&r.view(NOW), 300).is_ok());
        let published = ProviderConfig::parse("sendgrid", &json!({ "public_key": KEY })).unwrap();
        assert_eq!(
            published.verify(&r.view(NOW), 300),
            Err(Rejection::NoSignatureMatched)
        );
        let e =
            ProviderConfig::parse("sendgrid", &json!({ "public_key": "not a key" })).unwrap_err();
        assert_eq!(e.field_error().field, "config.public_key");
    }
}
