//! `gitlab`: no signature, a shared token. GitLab sends the webhook's secret token verbatim in
//! `X-Gitlab-Token`; it is compared by digest in constant time. Dedupe on
//! `X-Gitlab-Event-UUID` (the same on every retry of one event).

use super::common::{
    TokenDigest, any_token_matches, dedupe_key, header, only_options, shared_secret,
};
use super::{Entry, Rejection, Request, SignError, SignedRequest, Verified, Verifier};
use crate::error::FieldError;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

pub(super) static ENTRY: Entry = Entry {
    name: "gitlab",
    key_field: "secret",
    build,
};

const TOKEN_HEADER: &str = "x-gitlab-token";
const ID_HEADER: &str = "x-gitlab-event-uuid";

struct Gitlab {
    digests: Vec<TokenDigest>,
    /// The current token, to sign test requests with.
    current: SecretString,
}

fn build(
    secrets: &[SecretString],
    options: &Map<String, Value>,
) -> Result<Box<dyn Verifier>, FieldError> {
    only_options(options, &[])?;
    let digests = secrets
        .iter()
        .map(|s| shared_secret("config.secret", s).map(TokenDigest::of))
        .collect::<Result<Vec<_>, _>>()?;
    let current = secrets
        .first()
        .cloned()
        .ok_or_else(|| FieldError::new("config.secret", "is required"))?;
    Ok(Box::new(Gitlab { digests, current }))
}

impl Verifier for Gitlab {
    fn verify(&self, request: &Request<'_>, _tolerance: u32) -> Result<Verified, Rejection> {
        let token = header(request, TOKEN_HEADER)?;
        if !any_token_matches(&self.digests, token.as_bytes()) {
            return Err(Rejection::WrongCredential {
                header: TOKEN_HEADER.into(),
            });
        }
        Ok(Verified {
            dedupe_key: dedupe_key(request, ID_HEADER),
            immediate_reply: None,
        })
    }

    fn sign(&self, body: &[u8], url: &str, _now: i64) -> Result<SignedRequest, SignError> {
        SignedRequest::new(url, body.to_vec())
            .header(TOKEN_HEADER, self.current.expose_secret())?
            .header(ID_HEADER, &super::common::random_id())?
            .header("x-gitlab-event", "Push Hook")
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::*;
    use super::super::{ProviderConfig, Rejection};
    use serde_json::json;

    #[test]
    fn the_token_must_match_exactly() {
        let config = ProviderConfig::parse("gitlab", &json!({"secret": "glpat-token"})).unwrap();
        let signed = config.sign(b"{}", "", NOW).unwrap();
        assert!(
            config
                .verify(&view(&signed, NOW), 300)
                .unwrap()
                .dedupe_key
                .is_some()
        );
        for wrong in ["glpat-toke", "glpat-token2", "GLPAT-TOKEN"] {
            let r = request_with(&[("x-gitlab-token", wrong)], b"{}");
            assert_eq!(
                config.verify(&r.view(NOW), 300),
                Err(Rejection::WrongCredential {
                    header: "x-gitlab-token".into()
                }),
                "{wrong}"
            );
        }
        let r = request_with(&[("x-gitlab-event-uuid", "u-1")], b"{}");
        assert!(matches!(
            config.verify(&r.view(NOW), 300),
            Err(Rejection::MissingHeader { .. })
        ));
    }
}
