//! `intercom`: `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body>`, keyed with the app's client
//! secret verbatim. Intercom sends no delivery-id header (the notification id is in the body).

use super::common::{Algorithm, MacKeys, only_options};
use super::generic_hmac::{Encoding, GenericHmac, HmacScheme, Segment};
use super::{Entry, Verifier};
use crate::error::FieldError;
use secrecy::SecretString;
use serde_json::{Map, Value};

pub(super) static ENTRY: Entry = Entry {
    name: "intercom",
    key_field: "secret",
    build,
};

fn build(
    secrets: &[SecretString],
    options: &Map<String, Value>,
) -> Result<Box<dyn Verifier>, FieldError> {
    only_options(options, &[])?;
    Ok(Box::new(GenericHmac(HmacScheme {
        header: "x-hub-signature".into(),
        prefix: Some("sha1=".into()),
        encoding: Encoding::Hex,
        keys: MacKeys::from_secrets(Algorithm::Sha1, secrets, "config.secret")?,
        timestamp: None,
        template: vec![Segment::Body],
        id_header: None,
    })))
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::*;
    use super::super::{ProviderConfig, Rejection};
    use hmac::{Hmac, KeyInit, Mac};
    use serde_json::json;

    #[test]
    fn an_hmac_sha1_of_the_body_verifies() {
        let body = br#"{"type":"notification_event","id":"notif_1"}"#;
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"client-secret").unwrap();
        mac.update(body);
        let sig = format!("sha1={}", hex::encode(mac.finalize().into_bytes()));
        let config =
            ProviderConfig::parse("intercom", &json!({"secret": "client-secret"})).unwrap();
        let mut r = request_with(&[("x-hub-signature", &sig)], body);
        assert_eq!(config.verify(&r.view(NOW), 300).unwrap().dedupe_key, None);
        r.set("x-hub-signature", &sig.replace("sha1=", "sha256="));
        assert!(matches!(
            config.verify(&r.view(NOW), 300),
            Err(Rejection::MalformedHeader { .. })
        ));
    }
}
