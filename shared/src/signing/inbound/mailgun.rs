//! `mailgun`: the signature is inside the body. A JSON webhook carries
//! `{"signature": {"timestamp", "token", "signature"}, "event-data": …}`; a legacy form-encoded
//! one carries `timestamp`, `token` and `signature` fields. `signature` is the hex
//! HMAC-SHA256 of `{timestamp}{token}` keyed with the account's HTTP webhook signing key.
//!
//! Mailgun's MAC covers only the timestamp and the token, not the event: that is the provider's
//! scheme, and the token (unique per delivery) is the dedupe key, so a captured signature cannot
//! be replayed with another body once its first delivery was stored.

use super::common::{
    Algorithm, MacKeys, Tag, check_timestamp, json_object, only_options, parse_digits,
};
use super::sign::looks_like_json;
use super::{Entry, Rejection, Request, SignError, SignedRequest, Verified, Verifier};
use crate::error::FieldError;
use secrecy::SecretString;
use serde_json::{Map, Value, json};

pub(super) static ENTRY: Entry = Entry {
    name: "mailgun",
    key_field: "secret",
    build,
};

/// A Mailgun token is 50 hex characters; anything much longer is not one.
const MAX_TOKEN_BYTES: usize = 256;

struct Mailgun(MacKeys);

fn build(
    secrets: &[SecretString],
    options: &Map<String, Value>,
) -> Result<Box<dyn Verifier>, FieldError> {
    only_options(options, &[])?;
    Ok(Box::new(Mailgun(MacKeys::from_secrets(
        Algorithm::Sha256,
        secrets,
        "config.secret",
    )?)))
}

/// The signed fields, as found in the body.
struct Fields {
    timestamp: String,
    token: String,
    signature: String,
}

fn fields(body: &[u8]) -> Result<Fields, Rejection> {
    let (mut timestamp, mut token, mut signature) = (None, None, None);
    if looks_like_json(body) {
        let object = json_object(body).ok_or(Rejection::MalformedBody {
            reason: "not a JSON object",
        })?;
        let Some(Value::Object(block)) = object.get("signature") else {
            return Err(Rejection::MissingBodyField { field: "signature" });
        };
        let text = |name: &str| block.get(name).and_then(Value::as_str).map(str::to_owned);
        (timestamp, token, signature) = (text("timestamp"), text("token"), text("signature"));
    } else {
        for (key, value) in form_urlencoded::parse(body) {
            let slot = match key.as_ref() {
                "timestamp" => &mut timestamp,
                "token" => &mut token,
                "signature" => &mut signature,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(Rejection::MalformedBody {
                    reason: "a signature field appears twice",
                });
            }
        }
    }
    Ok(Fields {
        timestamp: timestamp.ok_or(Rejection::MissingBodyField { field: "timestamp" })?,
        token: token.ok_or(Rejection::MissingBodyField { field: "token" })?,
        signature: signature.ok_or(Rejection::MissingBodyField { field: "signature" })?,
    })
}

impl Verifier for Mailgun {
    fn verify(&self, request: &Request<'_>, tolerance: u32) -> Result<Verified, Rejection> {
        let f = fields(request.body)?;
        let at = parse_digits(&f.timestamp, 12).ok_or(Rejection::MalformedBody {
            reason: "`timestamp` is not Unix seconds",
        })?;
        if f.token.is_empty() || f.token.len() > MAX_TOKEN_BYTES {
            return Err(Rejection::MalformedBody {
                reason: "`token` is empty or too long",
            });
        }
        let presented = Tag::from_hex(&f.signature).ok_or(Rejection::MalformedBody {
            reason: "`signature` is not hex",
        })?;
        check_timestamp(at, request.now, tolerance)?;
        if !self
            .0
            .any_matches(&[f.timestamp.as_bytes(), f.token.as_bytes()], &[presented])
        {
            return Err(Rejection::NoSignatureMatched);
        }
        Ok(Verified {
            dedupe_key: Some(f.token),
            immediate_reply: None,
        })
    }

    /// Adds a `signature` block to the (JSON object) body.
    fn sign(&self, body: &[u8], url: &str, now: i64) -> Result<SignedRequest, SignError> {
        let mut object = json_object(body).ok_or(SignError::BodyNotJsonObject)?;
        let timestamp = now.to_string();
        let token = format!(
            "{}{}",
            super::common::random_id(),
            &super::common::random_id()[..18]
        );
        let tag = self
            .0
            .current(&[timestamp.as_bytes(), token.as_bytes()])
            .ok_or(SignError::NotSharedSecret)?;
        object.insert(
            "signature".into(),
            json!({"timestamp": timestamp, "token": token, "signature": tag.to_hex()}),
        );
        let body = serde_json::to_vec(&object).map_err(|_| SignError::BodyNotJsonObject)?;
        Ok(SignedRequest::new(url, body))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::*;
    use super::super::{ProviderConfig, Rejection};
    use hmac::{Hmac, KeyInit, Mac};
    use serde_json::json;

    #[test]
    fn json_and_form_bodies_verify_and_the_token_is_the_dedupe_key() {
        let key = "key-signing";
        let config = ProviderConfig::parse("mailgun", &json!({"secret": key})).unwrap();
        let signed = config
            .sign(br#"{"event-data":{"event":"delivered"}}"#, "", NOW)
            .unwrap();
        let ok = config.verify(&view(&signed, NOW), 300).unwrap();
        assert_eq!(ok.dedupe_key.map(|t| t.len()), Some(50));
        let wrong = ProviderConfig::parse("mailgun", &json!({"secret": "key-other"})).unwrap();
        assert_eq!(
            wrong.verify(&view(&signed, NOW), 300),
            Err(Rejection::NoSignatureMatched)
        );

        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(format!("{NOW}tok123").as_bytes());
        let sig = hex::encode(mac.finalize().into_bytes());
        let form = format!("event=delivered&timestamp={NOW}&token=tok123&signature={sig}");
        let mut r = request_with(&[], form.as_bytes());
        assert_eq!(
            config
                .verify(&r.view(NOW), 300)
                .unwrap()
                .dedupe_key
                .as_deref(),
            Some("tok123")
        );
        r.body = form.replace("tok123", "tok124").into_bytes();
        assert_eq!(
            config.verify(&r.view(NOW), 300),
            Err(Rejection::NoSignatureMatched)
        );
        r.body = format!("timestamp={NOW}&token=tok123").into_bytes();
        assert_eq!(
            config.verify(&r.view(NOW), 300),
            Err(Rejection::MissingBodyField { field: "signature" })
        );
        r.body = form.clone().into_bytes();
        assert!(matches!(
            config.verify(&r.view(NOW + 301), 300),
            Err(Rejection::Stale { .. })
        ));
    }
}
