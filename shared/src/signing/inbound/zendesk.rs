//! `zendesk`: `X-Zendesk-Webhook-Signature: <base64 HMAC-SHA256 of timestamp + body>` with the
//! timestamp (RFC 3339, e.g. `2021-03-25T05:09:27Z`) in `X-Zendesk-Webhook-Signature-Timestamp`,
//! keyed with the webhook's signing secret verbatim; dedupe on
//! `X-Zendesk-Webhook-Invocation-Id`.

use super::common::{Algorithm, MacKeys, only_options};
use super::generic_hmac::{Encoding, GenericHmac, HmacScheme, Segment, TimeFormat};
use super::{Entry, Verifier};
use crate::error::FieldError;
use secrecy::SecretString;
use serde_json::{Map, Value};

pub(super) static ENTRY: Entry = Entry {
    name: "zendesk",
    key_field: "secret",
    build,
};

fn build(
    secrets: &[SecretString],
    options: &Map<String, Value>,
) -> Result<Box<dyn Verifier>, FieldError> {
    only_options(options, &[])?;
    Ok(Box::new(GenericHmac(HmacScheme {
        header: "x-zendesk-webhook-signature".into(),
        prefix: None,
        encoding: Encoding::Base64,
        keys: MacKeys::from_secrets(Algorithm::Sha256, secrets, "config.secret")?,
        timestamp: Some((
            "x-zendesk-webhook-signature-timestamp".into(),
            TimeFormat::Rfc3339,
        )),
        template: vec![Segment::Timestamp, Segment::Body],
        id_header: Some("x-zendesk-webhook-invocation-id".into()),
    })))
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::*;
    use super::super::{ProviderConfig, Rejection};
    use serde_json::json;

    #[test]
    fn the_timestamp_is_rfc_3339_and_within_tolerance() {
        let config =
            ProviderConfig::parse("zendesk", &json!({"secret": "dGhpc19zZWNyZXQ="})).unwrap();
        let mut signed = config.sign(b"{\"ticket\":1}", "", NOW).unwrap();
        let ts = signed.headers["x-zendesk-webhook-signature-timestamp"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(ts.ends_with('Z') && ts.contains('T'), "{ts}");
        assert!(
            config
                .verify(&view(&signed, NOW + 10), 300)
                .unwrap()
                .dedupe_key
                .is_some()
        );
        assert!(matches!(
            config.verify(&view(&signed, NOW + 3600), 300),
            Err(Rejection::Stale { seconds: 3600, .. })
        ));
        signed.headers.insert(
            "x-zendesk-webhook-signature-timestamp",
            http::HeaderValue::from_static("1700000000"),
        );
        assert!(matches!(
            config.verify(&view(&signed, NOW), 300),
            Err(Rejection::MalformedHeader { .. })
        ));
    }
}
