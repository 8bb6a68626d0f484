//! `discord` (interactions endpoint): `X-Signature-Ed25519: <hex Ed25519 signature of
//! timestamp + body>` with the timestamp in `X-Signature-Timestamp`, checked against the
//! application's `public_key` (64 hex characters, from the developer portal). Discord signs with
//! its private key, so this scheme cannot sign test requests. A verified PING (`"type": 1`) is
//! answered with PONG; the interaction's `id` is the dedupe key.

use super::common::{
    body_field, check_timestamp, header, malformed, only_options, parse_unix_seconds,
};
use super::{Entry, ImmediateReply, Rejection, Request, Verified, Verifier};
use crate::error::FieldError;
use ed25519_dalek::ed25519::signature::MultipartVerifier;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

pub(super) static ENTRY: Entry = Entry {
    name: "discord",
    key_field: "public_key",
    build,
};

const SIGNATURE: &str = "x-signature-ed25519";
const TIMESTAMP: &str = "x-signature-timestamp";

struct Discord(Vec<ed25519_dalek::VerifyingKey>);

fn build(
    secrets: &[SecretString],
    options: &Map<String, Value>,
) -> Result<Box<dyn Verifier>, FieldError> {
    only_options(options, &[])?;
    secrets
        .iter()
        .map(|s| {
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(s.expose_secret(), &mut bytes)
                .ok()
                .and_then(|()| ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok())
                .ok_or_else(|| {
                    FieldError::new(
                        "config.public_key",
                        "must be 64 hex characters (the application's public key)",
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|keys| Box::new(Discord(keys)) as Box<dyn Verifier>)
}

impl Verifier for Discord {
    fn verify(&self, request: &Request<'_>, tolerance: u32) -> Result<Verified, Rejection> {
        let encoded = header(request, SIGNATURE)?;
        let timestamp = header(request, TIMESTAMP)?;
        let mut bytes = [0u8; 64];
        hex::decode_to_slice(encoded, &mut bytes)
            .map_err(|_| malformed(SIGNATURE, "not 128 hex characters"))?;
        let signature = ed25519_dalek::Signature::from_bytes(&bytes);
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
        let immediate_reply =
            (body_field(request.body, "type").as_deref() == Some("1")).then(|| ImmediateReply {
                content_type: "application/json",
                body: br#"{"type":1}"#.to_vec(),
            });
        Ok(Verified {
            dedupe_key: body_field(request.body, "id"),
            immediate_reply,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::*;
    use super::super::{ProviderConfig, Rejection, SignError};
    use ed25519_dalek::Signer;
    use serde_json::json;

    fn signed(key: &ed25519_dalek::SigningKey, ts: &str, body: &[u8]) -> Owned {
        let sig = key.sign(&[ts.as_bytes(), body].concat());
        request_with(
            &[
                ("x-signature-ed25519", &hex::encode(sig.to_bytes())),
                ("x-signature-timestamp", ts),
            ],
            body,
        )
    }

    #[test]
    fn a_ping_is_answered_with_pong_and_tampering_is_caught() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]);
        let public = hex::encode(key.verifying_key().as_bytes());
        let config = ProviderConfig::parse("discord", &json!({ "public_key": public })).unwrap();
        let ts = NOW.to_string();
        let ping = signed(&key, &ts, br#"{"id":"1","type":1}"#);
        let ok = config.verify(&ping.view(NOW), 300).unwrap();
        assert_eq!(ok.immediate_reply.unwrap().body, br#"{"type":1}"#);
        let command = signed(&key, &ts, br#"{"id":"2","type":2}"#);
        let ok = config.verify(&command.view(NOW), 300).unwrap();
        assert_eq!(
            (ok.dedupe_key.as_deref(), ok.immediate_reply),
            (Some("2"), None)
        );
        let mut tampered = command.clone();
        tampered.body = br#"{"id":"2","type":1}"#.to_vec();
        assert_eq!(
            config.verify(&tampered.view(NOW), 300),
            Err(Rejection::NoSignatureMatched)
        );
        let other = ed25519_dalek::SigningKey::from_bytes(&[4u8; 32]);
        let wrong = signed(&other, &ts, br#"{"id":"1","type":1}"#);
        assert_eq!(
            config.verify(&wrong.view(NOW), 300),
            Err(Rejection::NoSignatureMatched)
        );
        assert!(matches!(
            config.verify(&ping.view(NOW + 301), 300),
            Err(Rejection::Stale { .. })
        ));
        assert_eq!(
            config.sign(b"{}", "", NOW).unwrap_err(),
            SignError::NotSharedSecret
        );
        let e = ProviderConfig::parse("discord", &json!({ "public_key": "abcd" })).unwrap_err();
        assert_eq!(e.field_error().field, "config.public_key");
    }
}
