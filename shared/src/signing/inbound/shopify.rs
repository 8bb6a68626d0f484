//! `shopify`: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>`, keyed with the app's
//! client secret verbatim; dedupe on `X-Shopify-Webhook-Id`.

use super::common::{Algorithm, MacKeys, only_options};
use super::generic_hmac::{Encoding, GenericHmac, HmacScheme, Segment};
use super::{Entry, Verifier};
use crate::error::FieldError;
use secrecy::SecretString;
use serde_json::{Map, Value};

pub(super) static ENTRY: Entry = Entry {
    name: "shopify",
    key_field: "secret",
    build,
};

fn build(
    secrets: &[SecretString],
    options: &Map<String, Value>,
) -> Result<Box<dyn Verifier>, FieldError> {
    only_options(options, &[])?;
    Ok(Box::new(GenericHmac(HmacScheme {
        header: "x-shopify-hmac-sha256".into(),
        prefix: None,
        encoding: Encoding::Base64,
        keys: MacKeys::from_secrets(Algorithm::Sha256, secrets, "config.secret")?,
        timestamp: None,
        template: vec![Segment::Body],
        id_header: Some("x-shopify-webhook-id".into()),
    })))
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::*;
    use super::super::{ProviderConfig, Rejection};
    use serde_json::json;

    #[test]
    fn round_trip_and_a_hex_signature_is_malformed() {
        let config = ProviderConfig::parse("shopify", &json!({"secret": "shpss_x"})).unwrap();
        let signed = config.sign(b"{\"id\":1}", "", NOW).unwrap();
        assert!(
            config
                .verify(&view(&signed, NOW), 300)
                .unwrap()
                .dedupe_key
                .is_some()
        );
        let r = request_with(&[("x-shopify-hmac-sha256", "not base64!")], b"{}");
        assert!(matches!(
            config.verify(&r.view(NOW), 300),
            Err(Rejection::MalformedHeader { .. })
        ));
    }
}
