//! Standard Webhooks signing: `webhook-id`, `webhook-timestamp` and
//! `webhook-signature: v1,<base64 HMAC-SHA256 over "{id}.{timestamp}.{body}">`, keyed with the
//! base64-decoded part of a `whsec_` secret. During rotation every valid secret signs, and the
//! header carries one space-separated `v1,` entry per secret; a receiver accepts any match.

use super::hmac::HmacSha256Key;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::SecretString;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The prefix of every signing secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// How far a timestamp may be from now before a receiver should reject it (Standard Webhooks).
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

/// The key bytes of a `whsec_` secret and its precomputed HMAC state, both wiped on drop.
///
/// The HMAC key is prepared once (see [`HmacSha256Key`]), so each signature hashes only the
/// message: signing keys are cached per endpoint, so that is two SHA-256 blocks saved per
/// delivery.
#[derive(Clone)]
pub struct SigningKey {
    bytes: Zeroizing<Vec<u8>>,
    hmac: HmacSha256Key,
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

    /// A key over raw bytes (as unsealed from an envelope).
    pub fn from_bytes(bytes: Zeroizing<Vec<u8>>) -> Self {
        let hmac = HmacSha256Key::new(&bytes);
        Self { bytes, hmac }
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        self.hmac.mac(&[
            id.as_bytes(),
            b".",
            decimal(timestamp, &mut [0u8; 20]),
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

/// `n` in decimal, written into `buf` (no allocation on the signing hot path).
fn decimal(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let negative = n < 0;
    let mut v = n.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if negative {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
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
        if presented.iter().any(|sig| bool::from(sig.ct_eq(&expected))) {
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
    fn decimal_matches_to_string() {
        for n in [0, 7, 10, 1614265330, -42, i64::MAX, i64::MIN] {
            assert_eq!(decimal(n, &mut [0u8; 20]), n.to_string().as_bytes());
        }
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
