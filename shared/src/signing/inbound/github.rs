//! `github`: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, keyed with the
//! webhook's secret verbatim; dedupe on `X-GitHub-Delivery`. No timestamp is signed, so replays
//! are caught only by dedupe.

use super::common::{Algorithm, MacKeys, only_options};
use super::generic_hmac::{Encoding, GenericHmac, HmacScheme, Segment};
use super::{Entry, Verifier};
use crate::error::FieldError;
use secrecy::SecretString;
use serde_json::{Map, Value};

pub(super) static ENTRY: Entry = Entry {
    name: "github",
    key_field: "secret",
    build,
};

fn build(
    secrets: &[SecretString],
    options: &Map<String, Value>,
) -> Result<Box<dyn Verifier>, FieldError> {
    only_options(options, &[])?;
    Ok(Box::new(GenericHmac(HmacScheme {
        header: "x-hub-signature-256".into(),
        prefix: Some("sha256=".into()),
        encoding: Encoding::Hex,
        keys: MacKeys::from_secrets(Algorithm::Sha256, secrets, "config.secret")?,
        timestamp: None,
        template: vec![Segment::Body],
        id_header: Some("x-github-delivery".into()),
    })))
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::*;
    use super::super::{ProviderConfig, Rejection};
    use serde_json::json;

    #[test]
    fn the_documented_example_verifies_and_a_flipped_byte_does_not() {
        // GitHub docs, "Validating webhook deliveries".
        let config =
            ProviderConfig::parse("github", &json!({"secret": "It's a Secret to Everybody"}))
                .unwrap();
        let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let mut r = request_with(
            &[("x-hub-signature-256", sig), ("x-github-delivery", "d-1")],
            b"Hello, World!",
        );
        let ok = config.verify(&r.view(NOW), 300).unwrap();
        assert_eq!(ok.dedupe_key.as_deref(), Some("d-1"));
        r.body = b"Hello, World?".to_vec();
        assert_eq!(
            config.verify(&r.view(NOW), 300),
            Err(Rejection::NoSignatureMatched)
        );
        r.headers.remove("x-hub-signature-256");
        assert_eq!(
            config.verify(&r.view(NOW), 300),
            Err(Rejection::MissingHeader {
                header: "x-hub-signature-256".into()
            })
        );
    }
}
