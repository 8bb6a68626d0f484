//! The API key format: `swb_` + 30 base62 random characters + 6 base62 characters of CRC32 over
//! everything before them. The checksum lets a secret scanner (and our own edge) reject a
//! mistyped or made-up key without a store read; the SHA-256 of the whole key is what is stored.

use crate::crypto::random;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "swb_";
const RANDOM_LEN: usize = 30;
const CHECKSUM_LEN: usize = 6;
/// The length of every key.
pub const KEY_LEN: usize = PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;
/// How much of a key is kept in clear for people to recognise it (`swb_Ab3x`).
pub const DISPLAY_LEN: usize = PREFIX.len() + 4;

/// Why a string is not a Switchboard key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    #[error("not a Switchboard API key (expected `swb_` and 36 base62 characters)")]
    Shape,
    #[error("API key checksum does not match (mistyped or truncated key)")]
    Checksum,
}

/// The SHA-256 of a full key: what the store indexes keys by.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash(pub [u8; 32]);

impl KeyHash {
    pub fn of(key: &str) -> Self {
        Self(Sha256::digest(key.as_bytes()).into())
    }

    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = hex::decode(text.trim()).ok()?;
        bytes.try_into().ok().map(Self)
    }
}

impl std::fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyHash({}…)", &self.to_hex()[..8])
    }
}

fn checksum(body: &str) -> String {
    random::base62_fixed(u64::from(crc32fast::hash(body.as_bytes())), CHECKSUM_LEN)
}

/// A new random key.
pub fn generate() -> SecretString {
    let body = format!("{PREFIX}{}", random::base62(RANDOM_LEN));
    let sum = checksum(&body);
    SecretString::from(format!("{body}{sum}"))
}

/// A key built from a given random part (fixtures and demo data only).
pub fn from_random_part(random_part: &str) -> Result<SecretString, KeyFormatError> {
    if random_part.len() != RANDOM_LEN || !random_part.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(KeyFormatError::Shape);
    }
    let body = format!("{PREFIX}{random_part}");
    let sum = checksum(&body);
    Ok(SecretString::from(format!("{body}{sum}")))
}

/// Checks shape and checksum, without any I/O.
pub fn check(key: &str) -> Result<(), KeyFormatError> {
    if key.len() != KEY_LEN
        || !key.starts_with(PREFIX)
        || !key[PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
    {
        return Err(KeyFormatError::Shape);
    }
    let (body, sum) = key.split_at(KEY_LEN - CHECKSUM_LEN);
    if checksum(body) != sum {
        return Err(KeyFormatError::Checksum);
    }
    Ok(())
}

/// The recognisable start of a key.
pub fn display_prefix(key: &SecretString) -> String {
    key.expose_secret().chars().take(DISPLAY_LEN).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_pass_their_own_check() {
        let key = generate();
        let text = key.expose_secret();
        assert_eq!(text.len(), KEY_LEN);
        assert!(text.starts_with("swb_"));
        assert_eq!(check(text), Ok(()));
        assert_eq!(display_prefix(&key).len(), 8);
    }

    #[test]
    fn one_changed_character_fails_the_checksum() {
        let key = generate();
        let text = key.expose_secret();
        let mut bytes = text.as_bytes().to_vec();
        bytes[10] = if bytes[10] == b'a' { b'b' } else { b'a' };
        let changed = String::from_utf8(bytes).expect("ascii");
        assert_eq!(check(&changed), Err(KeyFormatError::Checksum));
        assert_eq!(check("swb_short"), Err(KeyFormatError::Shape));
        assert_eq!(
            check(&text.replace("swb_", "sk__")),
            Err(KeyFormatError::Shape)
        );
    }

    #[test]
    fn fixture_keys_match_their_checked_in_values() {
        // The demo admin key as the sample events in `events/` carry it: a change to the checksum
        // (algorithm, alphabet or length) would orphan every stored and checked-in key.
        let demo = from_random_part("DemoAdminKeyDoNotUseInProd0001").expect("valid");
        assert_eq!(
            demo.expose_secret(),
            "swb_DemoAdminKeyDoNotUseInProd000120V2Ul"
        );
        assert_eq!(check(demo.expose_secret()), Ok(()));
        assert_eq!(
            from_random_part("DemoAdminKey000000000000000001").map(|k| k.expose_secret().len()),
            Ok(KEY_LEN)
        );
        assert_eq!(
            from_random_part("tooShort").map(|_| ()),
            Err(KeyFormatError::Shape)
        );
        assert_eq!(
            from_random_part("DemoAdminKeyDoNotUseInProd000!").map(|_| ()),
            Err(KeyFormatError::Shape)
        );
    }
}
