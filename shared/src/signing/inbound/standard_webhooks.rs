//! `standard_webhooks` (Svix, Clerk, Resend, OpenAI, …): `webhook-id`, `webhook-timestamp` and
//! `webhook-signature`, a space-separated list of `v1,<base64 HMAC-SHA256>` and
//! `v1a,<base64 Ed25519>` entries over `{id}.{timestamp}.{body}`. The `secret` is either a
//! `whsec_<base64>` shared secret (its decoded bytes key the HMAC) or a `whpk_<base64>` Ed25519
//! public key (for `v1a`). Svix's own `svix-id`/`svix-timestamp`/`svix-signature` names are
//! read when the `webhook-*` ones are absent. Dedupe on the message id.

use super::common::{
    Algorithm, MacKey, MacKeys, Tag, bounded_entries, check_timestamp, header, malformed,
    only_options, parse_unix_seconds,
};
use super::{Entry, Rejection, Request, SignError, SignedRequest, Verified, Verifier};
use crate::error::FieldError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::ed25519::signature::MultipartVerifier;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

pub(super) static ENTRY: Entry = Entry {
    name: "standard_webhooks",
    key_field: "secret",
    build,
};

const FIELD: &str = "config.secret";

/// The three header names of one naming convention.
struct Names {
    id: &'static str,
    timestamp: &'static str,
    signature: &'static str,
}

const STANDARD_NAMES: Names = Names {
    id: "webhook-id",
    timestamp: "webhook-timestamp",
    signature: "webhook-signature",
};
const SVIX_NAMES: Names = Names {
    id: "svix-id",
    timestamp: "svix-timestamp",
    signature: "svix-signature",
};

struct StandardWebhooks {
    /// `v1` keys from `whsec_` secrets (current first).
    macs: MacKeys,
    /// Whether the current secret is a `whsec_` one (and so can sign).
    current_is_shared: bool,
    /// `v1a` keys from `whpk_` public keys.
    public_keys: Vec<ed25519_dalek::VerifyingKey>,
}

fn build(
    secrets: &[SecretString],
    options: &Map<String, Value>,
) -> Result<Box<dyn Verifier>, FieldError> {
    only_options(options, &[])?;
    let mut macs = Vec::new();
    let mut public_keys = Vec::new();
    for secret in secrets {
        let text = secret.expose_secret();
        if let Some(encoded) = text.strip_prefix("whpk_") {
            let bytes = STANDARD.decode(encoded).ok();
            let key = bytes
                .as_deref()
                .and_then(|b| <&[u8; 32]>::try_from(b).ok())
                .and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(b).ok())
                .ok_or_else(|| {
                    FieldError::new(
                        FIELD,
                        "a `whpk_` key is base64 of a 32-byte Ed25519 public key",
                    )
                })?;
            public_keys.push(key);
        } else {
            let encoded = text.strip_prefix("whsec_").unwrap_or(text);
            let bytes = Zeroizing::new(STANDARD.decode(encoded).map_err(|_| {
                FieldError::new(
                    FIELD,
                    "must be `whsec_` followed by base64 (or a `whpk_` public key)",
                )
            })?);
            if bytes.is_empty() || bytes.len() > super::common::MAX_SECRET_BYTES {
                return Err(FieldError::new(
                    FIELD,
                    "the decoded secret must be 1 to 1024 bytes",
                ));
            }
            macs.push(MacKey::new(Algorithm::Sha256, &bytes, FIELD)?);
        }
    }
    let current_is_shared = secrets
        .first()
        .is_some_and(|s| !s.expose_secret().starts_with("whpk_"));
    Ok(Box::new(StandardWebhooks {
        macs: MacKeys::from_keys(macs),
        current_is_shared,
        public_keys,
    }))
}

/// The presented signatures, by version; unknown versions are skipped.
#[derive(Default)]
struct Presented {
    v1: Vec<Tag>,
    v1a: Vec<ed25519_dalek::Signature>,
}

fn presented(name: &str, value: &str) -> Result<Presented, Rejection> {
    let mut out = Presented::default();
    for entry in bounded_entries(name, value, &[' '], |_| true)? {
        let (version, encoded) = entry
            .split_once(',')
            .ok_or_else(|| malformed(name, "an entry is not `version,signature`"))?;
        match version {
            "v1" => out.v1.push(
                Tag::from_base64(encoded)
                    .ok_or_else(|| malformed(name, "a v1 signature is not base64"))?,
            ),
            "v1a" => {
                let mut bytes = [0u8; 64];
                let len = STANDARD
                    .decode_slice(encoded, &mut bytes)
                    .ok()
                    .filter(|l| *l == 64)
                    .ok_or_else(|| malformed(name, "a v1a signature is not base64 of 64 bytes"))?;
                debug_assert_eq!(len, 64);
                out.v1a.push(ed25519_dalek::Signature::from_bytes(&bytes));
            }
            _ => {}
        }
    }
    if out.v1.is_empty() && out.v1a.is_empty() {
        return Err(malformed(name, "no v1 or v1a signature"));
    }
    Ok(out)
}

impl Verifier for StandardWebhooks {
    fn verify(&self, request: &Request<'_>, tolerance: u32) -> Result<Verified, Rejection> {
        let names = if request.headers.contains_key(STANDARD_NAMES.signature)
            || !request.headers.contains_key(SVIX_NAMES.signature)
        {
            &STANDARD_NAMES
        } else {
            &SVIX_NAMES
        };
        let presented = presented(names.signature, header(request, names.signature)?)?;
        let id = header(request, names.id)?;
        let timestamp = header(request, names.timestamp)?;
        check_timestamp(
            parse_unix_seconds(names.timestamp, timestamp)?,
            request.now,
            tolerance,
        )?;
        let parts = [
            id.as_bytes(),
            b".",
            timestamp.as_bytes(),
            b".",
            request.body,
        ];
        let mut matched = self.macs.any_matches(&parts, &presented.v1);
        for key in &self.public_keys {
            for signature in &presented.v1a {
                matched |= key.multipart_verify(&parts, signature).is_ok();
            }
        }
        if !matched {
            return Err(Rejection::NoSignatureMatched);
        }
        Ok(Verified {
            dedupe_key: super::common::dedupe_key(request, names.id),
            immediate_reply: None,
        })
    }

    fn sign(&self, body: &[u8], url: &str, now: i64) -> Result<SignedRequest, SignError> {
        if !self.current_is_shared {
            return Err(SignError::NotSharedSecret);
        }
        let id = format!("msg_{}", super::common::random_id());
        let ts = now.to_string();
        let tag = self
            .macs
            .current(&[id.as_bytes(), b".", ts.as_bytes(), b".", body])
            .ok_or(SignError::NotSharedSecret)?;
        SignedRequest::new(url, body.to_vec())
            .header(STANDARD_NAMES.id, &id)?
            .header(STANDARD_NAMES.timestamp, &ts)?
            .header(STANDARD_NAMES.signature, &format!("v1,{}", tag.to_base64()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::*;
    use super::super::{MAX_SIGNATURES, ProviderConfig, Rejection, SignError};
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use ed25519_dalek::Signer;
    use serde_json::json;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn config(secret: &str) -> ProviderConfig {
        ProviderConfig::parse("standard_webhooks", &json!({ "secret": secret })).unwrap()
    }

    #[test]
    fn the_reference_vector_verifies_under_both_header_names() {
        let body = br#"{"test": 2432232314}"#;
        let sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        let r = request_with(
            &[
                ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
                ("webhook-timestamp", "1614265330"),
                ("webhook-signature", &format!("v1,AAAA v2,xyz {sig}")),
            ],
            body,
        );
        let ok = config(SECRET).verify(&r.view(1614265330), 300).unwrap();
        assert_eq!(
            ok.dedupe_key.as_deref(),
            Some("msg_p5jXN8AQM9LWM0D4loKWxJek")
        );
        let svix = request_with(
            &[
                ("svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
                ("svix-timestamp", "1614265330"),
                ("svix-signature", sig),
            ],
            body,
        );
        assert!(config(SECRET).verify(&svix.view(1614265330), 300).is_ok());
        let other = config("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(
            other.verify(&r.view(1614265330), 300),
            Err(Rejection::NoSignatureMatched)
        );
    }

    #[test]
    fn v1a_ed25519_signatures_verify_with_the_public_key() {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let public = format!(
            "whpk_{}",
            STANDARD.encode(signing.verifying_key().as_bytes())
        );
        let c = config(&public);
        let body = b"{\"type\":\"user.created\"}";
        let message = [b"msg_1.".as_slice(), NOW.to_string().as_bytes(), b".", body].concat();
        let sig = STANDARD.encode(signing.sign(&message).to_bytes());
        let ts = NOW.to_string();
        let mut r = request_with(
            &[
                ("webhook-id", "msg_1"),
                ("webhook-timestamp", &ts),
                ("webhook-signature", &format!("v1a,{sig}")),
            ],
            body,
        );
        assert!(c.verify(&r.view(NOW), 300).is_ok());
        r.body = b"{\"type\":\"user.deleted\"}".to_vec();
        assert_eq!(
            c.verify(&r.view(NOW), 300),
            Err(Rejection::NoSignatureMatched)
        );
        assert_eq!(
            c.sign(body, "", NOW).unwrap_err(),
            SignError::NotSharedSecret
        );
        let wrong = ed25519_dalek::SigningKey::from_bytes(&[8u8; 32]);
        let wrong = config(&format!(
            "whpk_{}",
            STANDARD.encode(wrong.verifying_key().as_bytes())
        ));
        r.body = body.to_vec();
        assert_eq!(
            wrong.verify(&r.view(NOW), 300),
            Err(Rejection::NoSignatureMatched)
        );
    }

    #[test]
    fn bad_keys_and_headers_are_refused() {
        for bad in ["whsec_!!!", "whpk_AAAA", "whsec_"] {
            let e =
                ProviderConfig::parse("standard_webhooks", &json!({ "secret": bad })).unwrap_err();
            assert_eq!(e.field_error().field, "config.secret", "{bad}");
        }
        let c = config(SECRET);
        let ts = NOW.to_string();
        let many = vec!["v1,AAAA"; MAX_SIGNATURES + 1].join(" ");
        for (value, tooth) in [
            ("v1", "malformed"),
            ("v2,abc", "malformed"),
            ("v1,@@", "malformed"),
            (many.as_str(), "many"),
        ] {
            let r = request_with(
                &[
                    ("webhook-id", "m"),
                    ("webhook-timestamp", &ts),
                    ("webhook-signature", value),
                ],
                b"{}",
            );
            let e = c.verify(&r.view(NOW), 300).unwrap_err();
            match tooth {
                "many" => assert!(matches!(e, Rejection::TooManySignatures { .. }), "{e}"),
                _ => assert!(
                    matches!(e, Rejection::MalformedHeader { .. }),
                    "{value}: {e}"
                ),
            }
        }
        let signed = c.sign(b"{}", "", NOW).unwrap();
        assert!(c.verify(&view(&signed, NOW), 300).is_ok());
        assert!(matches!(
            c.verify(&view(&signed, NOW + 301), 300),
            Err(Rejection::Stale { .. })
        ));
    }
}
