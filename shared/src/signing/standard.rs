//! Standard Webhooks signing: `webhook-id`, `webhook-timestamp` and
//! `webhook-signature: v1,<base64 HMAC-SHA256 over "{id}.{timestamp}.{body}">`, keyed with the
//! base64-decoded part of a `whsec_` secret. During rotation every valid secret signs, and the
//! header carries one space-separated `v1,` entry per secret; a receiver accepts any match.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::digest::Output;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::SecretString;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The prefix of every signing secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// How far a timestamp may be from now before a receiver should reject it (Standard Webhooks).
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

/// The key bytes of a `whsec_` secret and its keyed HMAC-SHA256 state, both wiped on drop.
///
/// The HMAC state is keyed once, when the key is made: `Hmac<Sha256>` then holds the SHA-256
/// midstates after `K ^ ipad` and `K ^ opad`, and each signature clones it and hashes only the
/// message. Signing keys are cached per endpoint, so that is two SHA-256 blocks saved per
/// delivery. With the `zeroize` features of `hmac` and `sha2` those midstates (which stand in for
/// the key) are wiped on drop, in the prepared state and in every per-message clone alike.
#[derive(Clone)]
pub struct SigningKey {
    bytes: Zeroizing<Vec<u8>>,
    mac: HmacSha256,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(…)")
    }
}

/// Why a secret or a signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("a signing secret is `whsec_` followed by base64 of 24 to 64 bytes")]
    BadSecret,
    #[error("`webhook-timestamp` is missing or not a number")]
    BadTimestamp,
    #[error("`webhook-timestamp` is outside the tolerance")]
    TimestampOutOfTolerance,
    #[error("no `v1` signature in `webhook-signature` matches")]
    NoMatch,
}

impl SigningKey {
    /// A fresh random secret of `len` bytes (24–64) and its `whsec_` text, shown once.
    pub fn generate(len: usize) -> (Self, SecretString) {
        let len = len.clamp(24, 64);
        let bytes = Zeroizing::new(crate::crypto::random::bytes::<64>()[..len].to_vec());
        let text = SecretString::from(format!(
            "{SECRET_PREFIX}{}",
            STANDARD.encode(bytes.as_slice())
        ));
        (Self::from_bytes(bytes), text)
    }

    /// Parses a `whsec_` secret.
    pub fn parse(text: &str) -> Result<Self, SignatureError> {
        let encoded = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
        let bytes = Zeroizing::new(
            STANDARD
                .decode(encoded)
                .map_err(|_| SignatureError::BadSecret)?,
        );
        if bytes.is_empty() || bytes.len() > 64 {
            return Err(SignatureError::BadSecret);
        }
        Ok(Self::from_bytes(bytes))
    }

    /// The raw key bytes (for sealing in an envelope).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A key over raw bytes (as unsealed from an envelope). The HMAC state is keyed here, once.
    pub fn from_bytes(bytes: Zeroizing<Vec<u8>>) -> Self {
        // `new_from_slice` returns a `Result` only because the generic `KeyInit` trait does: HMAC
        // takes keys of any length (longer than a block are hashed first, RFC 2104), and hmac's
        // implementation never returns the error.
        #[allow(clippy::expect_used)]
        let mac = HmacSha256::new_from_slice(&bytes).expect("HMAC accepts keys of any length");
        Self { bytes, mac }
    }

    /// HMAC-SHA256 of the concatenation of `parts`, from a clone of the prepared state.
    fn mac_of(&self, parts: &[&[u8]]) -> Output<HmacSha256> {
        let mut mac = self.mac.clone();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes()
    }

    /// The Standard Webhooks MAC: over `{id}.{timestamp}.{body}`, without building that string.
    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Output<HmacSha256> {
        self.mac_of(&[
            id.as_bytes(),
            b".",
            itoa::Buffer::new().format(timestamp).as_bytes(),
            b".",
            body,
        ])
    }

    /// Appends `v1,<base64>` to `out`.
    fn sign_into(&self, id: &str, timestamp: i64, body: &[u8], out: &mut String) {
        out.push_str("v1,");
        STANDARD.encode_string(self.mac(id, timestamp, body), out);
    }

    /// One `v1,<base64>` signature.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut out = String::with_capacity(47);
        self.sign_into(id, timestamp, body, &mut out);
        out
    }
}

/// The `webhook-signature` header value: one entry per key, space-separated.
pub fn signature_header(keys: &[SigningKey], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut out = String::with_capacity(48 * keys.len());
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        key.sign_into(id, timestamp, body, &mut out);
    }
    out
}

/// Verifies a Standard Webhooks delivery as a receiver would: the timestamp within `tolerance`
/// seconds of `now`, and any `v1` entry of the header matching any of `keys`, compared in
/// constant time.
pub fn verify(
    keys: &[SigningKey],
    id: &str,
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<(), SignatureError> {
    let timestamp: i64 = timestamp_header
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    if (now - timestamp).abs() > tolerance {
        return Err(SignatureError::TimestampOutOfTolerance);
    }
    let mut presented: Vec<[u8; 32]> = Vec::with_capacity(2);
    for b64 in signature_header
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
    {
        let mut sig = [0u8; 48];
        if let Ok(32) = STANDARD.decode_slice(b64, &mut sig) {
            let mut exact = [0u8; 32];
            exact.copy_from_slice(&sig[..32]);
            presented.push(exact);
        }
    }
    for key in keys {
        let expected = key.mac(id, timestamp, body);
        if presented
            .iter()
            .any(|sig| bool::from(sig.as_slice().ct_eq(expected.as_slice())))
        {
            return Ok(());
        }
    }
    Err(SignatureError::NoMatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    // The shared test vector of the Standard Webhooks reference libraries.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn matches_the_reference_vector() {
        let key = SigningKey::parse(SECRET).expect("secret");
        assert_eq!(key.sign(ID, TS, BODY), SIG);
        assert_eq!(verify(&[key], ID, "1614265330", SIG, BODY, TS, 300), Ok(()));
    }

    #[test]
    fn the_signer_matches_rfc_4231() {
        // RFC 4231 test cases 1, 2 and 6 (a 131-byte key, longer than a block: hashed first),
        // through the prepared-once, cloned-per-message state, each key used twice.
        let cases: [(&[u8], &[u8], &str); 3] = [
            (
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (key, data, expected) in cases {
            let key = SigningKey::from_bytes(Zeroizing::new(key.to_vec()));
            assert_eq!(hex::encode(key.mac_of(&[data])), expected);
            let (a, b) = data.split_at(3);
            assert_eq!(hex::encode(key.mac_of(&[a, b])), expected, "reused, split");
        }
    }

    #[test]
    fn signs_exactly_the_spec_string_for_any_timestamp() {
        // The timestamp goes in as `i64::to_string` would write it, sign included.
        let key = SigningKey::parse(SECRET).expect("secret");
        for ts in [0, 7, 10, TS, -42, i64::MAX, i64::MIN] {
            let spec = format!("{ID}.{ts}.{}", std::str::from_utf8(BODY).expect("utf-8"));
            assert_eq!(
                key.mac(ID, ts, BODY),
                key.mac_of(&[spec.as_bytes()]),
                "{ts}"
            );
        }
    }

    #[test]
    fn the_keyed_state_is_wiped_on_drop() {
        // Compile-time: `Hmac<Sha256>` holds two of these cores (the ipad and opad midstates)
        // and one of these buffers; both zeroize on drop only with the `zeroize` features of
        // `sha2` and `hmac` (digest), which `shared/Cargo.toml` enables.
        fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        wiped_on_drop::<<Sha256 as hmac::EagerHash>::Core>();
        wiped_on_drop::<hmac::digest::block_api::Buffer<<Sha256 as hmac::EagerHash>::Core>>();
        wiped_on_drop::<Sha256>();
    }

    #[test]
    fn rejects_tampering_and_stale_timestamps() {
        let key = SigningKey::parse(SECRET).expect("secret");
        let keys = [key];
        let wrong = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=";
        assert_eq!(
            verify(&keys, ID, "1614265330", wrong, BODY, TS, 300),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(
                &keys,
                ID,
                "1614265330",
                SIG,
                br#"{"test": 2432232315}"#,
                TS,
                300
            ),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(&keys, ID, "1614265330", SIG, BODY, TS + 301, 300),
            Err(SignatureError::TimestampOutOfTolerance)
        );
        assert_eq!(
            verify(&keys, ID, "soon", SIG, BODY, TS, 300),
            Err(SignatureError::BadTimestamp)
        );
    }

    #[test]
    fn rotation_signs_with_every_key_and_either_verifies() {
        let (old, _) = SigningKey::generate(32);
        let (new, text) = SigningKey::generate(32);
        assert!(text.expose_secret().starts_with("whsec_"));
        let header = signature_header(&[new.clone(), old.clone()], "msg_1", 1000, b"{}");
        assert_eq!(header.split(' ').count(), 2);
        assert_eq!(
            verify(&[old], "msg_1", "1000", &header, b"{}", 1000, 300),
            Ok(())
        );
        assert_eq!(
            verify(&[new], "msg_1", "1000", &header, b"{}", 1000, 300),
            Ok(())
        );
        let (stranger, _) = SigningKey::generate(32);
        assert_eq!(
            verify(&[stranger], "msg_1", "1000", &header, b"{}", 1000, 300),
            Err(SignatureError::NoMatch)
        );
    }
}
