//! `square`: `x-square-hmacsha256-signature: <base64 HMAC-SHA256 of notification URL + body>`,
//! keyed with the subscription's signature key verbatim. The URL must be exactly the one
//! registered with Square (the integration's `public_url`). No timestamp, no delivery-id header.

use super::common::{Algorithm, MacKeys, only_options};
use super::generic_hmac::{Encoding, GenericHmac, HmacScheme, Segment};
use super::{Entry, Verifier};
use crate::error::FieldError;
use secrecy::SecretString;
use serde_json::{Map, Value};

pub(super) static ENTRY: Entry = Entry {
    name: "square",
    key_field: "secret",
    build,
};

fn build(
    secrets: &[SecretString],
    options: &Map<String, Value>,
) -> Result<Box<dyn Verifier>, FieldError> {
    only_options(options, &[])?;
    Ok(Box::new(GenericHmac(HmacScheme {
        header: "x-square-hmacsha256-signature".into(),
        prefix: None,
        encoding: Encoding::Base64,
        keys: MacKeys::from_secrets(Algorithm::Sha256, secrets, "config.secret")?,
        timestamp: None,
        template: vec![Segment::Url, Segment::Body],
        id_header: None,
    })))
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::*;
    use super::super::{ProviderConfig, Rejection, SignError};
    use serde_json::json;

    #[test]
    fn the_url_is_signed() {
        let config = ProviderConfig::parse("square", &json!({"secret": "sig-key"})).unwrap();
        assert_eq!(config.sign(b"{}", "", NOW).unwrap_err(), SignError::NoUrl);
        let mut signed = config
            .sign(b"{}", "https://h.example/hooks/int_1", NOW)
            .unwrap();
        assert!(config.verify(&view(&signed, NOW), 300).is_ok());
        signed.url = "https://h.example/hooks/int_2".into();
        assert_eq!(
            config.verify(&view(&signed, NOW), 300),
            Err(Rejection::NoSignatureMatched)
        );
        signed.url = String::new();
        assert_eq!(
            config.verify(&view(&signed, NOW), 300),
            Err(Rejection::NoUrl)
        );
    }
}
