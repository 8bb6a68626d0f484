//! `slack`: `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">` with the
//! timestamp in `X-Slack-Request-Timestamp`, keyed with the app's signing secret verbatim.
//! Slack sends no delivery-id header; the Events API's `event_id` (the same on retries) is the
//! dedupe key. A verified `url_verification` request is answered with its `challenge`.

use super::common::{Algorithm, MacKeys, body_field, only_options};
use super::generic_hmac::{Encoding, HmacScheme, Segment, TimeFormat};
use super::{
    Entry, ImmediateReply, Rejection, Request, SignError, SignedRequest, Verified, Verifier,
};
use crate::error::FieldError;
use secrecy::SecretString;
use serde_json::{Map, Value, json};

pub(super) static ENTRY: Entry = Entry {
    name: "slack",
    key_field: "secret",
    build,
};

struct Slack(HmacScheme);

fn build(
    secrets: &[SecretString],
    options: &Map<String, Value>,
) -> Result<Box<dyn Verifier>, FieldError> {
    only_options(options, &[])?;
    Ok(Box::new(Slack(HmacScheme {
        header: "x-slack-signature".into(),
        prefix: Some("v0=".into()),
        encoding: Encoding::Hex,
        keys: MacKeys::from_secrets(Algorithm::Sha256, secrets, "config.secret")?,
        timestamp: Some(("x-slack-request-timestamp".into(), TimeFormat::UnixSeconds)),
        template: vec![
            Segment::Literal(b"v0:".to_vec()),
            Segment::Timestamp,
            Segment::Literal(b":".to_vec()),
            Segment::Body,
        ],
        id_header: None,
    })))
}

impl Verifier for Slack {
    fn verify(&self, request: &Request<'_>, tolerance: u32) -> Result<Verified, Rejection> {
        self.0.check(request, tolerance)?;
        let immediate_reply = (body_field(request.body, "type").as_deref()
            == Some("url_verification"))
        .then(|| body_field(request.body, "challenge"))
        .flatten()
        .map(|challenge| ImmediateReply {
            content_type: "application/json",
            body: json!({ "challenge": challenge }).to_string().into_bytes(),
        });
        Ok(Verified {
            dedupe_key: body_field(request.body, "event_id"),
            immediate_reply,
        })
    }

    fn sign(&self, body: &[u8], url: &str, now: i64) -> Result<SignedRequest, SignError> {
        self.0.sign(body, url, now)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::*;
    use super::super::{ProviderConfig, Rejection};
    use serde_json::json;

    #[test]
    fn the_documented_example_verifies() {
        // Slack docs, "Verifying requests from Slack".
        let config = ProviderConfig::parse(
            "slack",
            &json!({"secret": "8f742231b10e8888abcd99yyyzzz85a5"}),
        )
        .unwrap();
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let mut r = request_with(
            &[
                ("x-slack-request-timestamp", "1531420618"),
                (
                    "x-slack-signature",
                    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
                ),
            ],
            body,
        );
        assert!(config.verify(&r.view(1531420618 + 10), 300).is_ok());
        assert!(matches!(
            config.verify(&r.view(1531420618 + 400), 300),
            Err(Rejection::Stale { seconds: 400, .. })
        ));
        r.body.push(b'x');
        assert_eq!(
            config.verify(&r.view(1531420618), 300),
            Err(Rejection::NoSignatureMatched)
        );
    }

    #[test]
    fn url_verification_is_answered_with_the_challenge_once_verified() {
        let config = ProviderConfig::parse("slack", &json!({"secret": "signing"})).unwrap();
        let body = br#"{"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
        let signed = config.sign(body, "", NOW).unwrap();
        let reply = config
            .verify(&view(&signed, NOW), 300)
            .unwrap()
            .immediate_reply
            .unwrap();
        assert_eq!(
            String::from_utf8(reply.body).unwrap(),
            r#"{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#
        );
        let wrong = ProviderConfig::parse("slack", &json!({"secret": "other"})).unwrap();
        assert_eq!(
            wrong.verify(&view(&signed, NOW), 300),
            Err(Rejection::NoSignatureMatched)
        );
        let event = config
            .sign(br#"{"type":"event_callback","event_id":"Ev1"}"#, "", NOW)
            .unwrap();
        let ok = config.verify(&view(&event, NOW), 300).unwrap();
        assert_eq!(
            (ok.dedupe_key.as_deref(), ok.immediate_reply),
            (Some("Ev1"), None)
        );
    }
}
