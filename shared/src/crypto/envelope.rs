//! The versioned envelope stored in records: which master key wrapped which data key, and the
//! record's ciphertext under that data key.

use super::{CryptoError, EncryptionContext, KeyProvider};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Format version 1: AES-256-GCM under a 256-bit data key, 96-bit random nonce.
pub const VERSION: u8 = 1;
pub const ALGORITHM: &str = "AES-256-GCM";

/// An encrypted value as stored. Every byte field is base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub v: u8,
    pub alg: String,
    pub key_id: String,
    pub wrapped_key: String,
    pub nonce: String,
    /// Ciphertext followed by the 16-byte tag.
    pub ciphertext: String,
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn unb64(field: &str, text: &str) -> Result<Vec<u8>, CryptoError> {
    STANDARD
        .decode(text)
        .map_err(|_| CryptoError::Malformed(format!("`{field}` is not base64")))
}

/// Encrypts `plaintext` for `ctx` under a fresh data key.
pub async fn seal(
    keys: &dyn KeyProvider,
    ctx: &EncryptionContext,
    plaintext: &[u8],
) -> Result<Envelope, CryptoError> {
    let data_key = keys.generate_data_key(ctx).await?;
    seal_under(&data_key, ctx, plaintext)
}

/// [`seal`], also giving a 256-bit key derived from the record's data key
/// (HMAC-SHA256(data key, `label`)): a keyed fingerprint of what was sealed, made with it, says
/// which secret a record holds without letting anyone who reads the store test guesses offline
/// (the data key comes only from the key provider). Re-wrapping the data key under another
/// master key keeps it, so fingerprints survive key rotation.
pub async fn seal_deriving(
    keys: &dyn KeyProvider,
    ctx: &EncryptionContext,
    plaintext: &[u8],
    label: &[u8],
) -> Result<(Envelope, Zeroizing<[u8; 32]>), CryptoError> {
    use hmac::{Hmac, KeyInit, Mac};
    let data_key = keys.generate_data_key(ctx).await?;
    let envelope = seal_under(&data_key, ctx, plaintext)?;
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(data_key.plaintext.as_ref())
        .map_err(|_| CryptoError::Malformed("data key length".into()))?;
    mac.update(label);
    let mut derived = Zeroizing::new([0u8; 32]);
    derived.copy_from_slice(&mac.finalize().into_bytes());
    Ok((envelope, derived))
}

fn seal_under(
    data_key: &super::DataKey,
    ctx: &EncryptionContext,
    plaintext: &[u8],
) -> Result<Envelope, CryptoError> {
    let cipher = Aes256Gcm::new_from_slice(data_key.plaintext.as_ref())
        .map_err(|_| CryptoError::Malformed("data key length".into()))?;
    let nonce = super::random::bytes::<12>();
    let aad = ctx.aad();
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| CryptoError::Malformed("encryption failed".into()))?;
    Ok(Envelope {
        v: VERSION,
        alg: ALGORITHM.into(),
        key_id: data_key.key_id.clone(),
        wrapped_key: b64(&data_key.wrapped),
        nonce: b64(&nonce),
        ciphertext: b64(&ciphertext),
    })
}

/// Decrypts an envelope made by [`seal`] for the same `ctx`.
pub async fn open(
    keys: &dyn KeyProvider,
    ctx: &EncryptionContext,
    envelope: &Envelope,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if envelope.v != VERSION || envelope.alg != ALGORITHM {
        return Err(CryptoError::Malformed(format!(
            "unsupported envelope v{} {}",
            envelope.v, envelope.alg
        )));
    }
    let wrapped = unb64("wrapped_key", &envelope.wrapped_key)?;
    let nonce = unb64("nonce", &envelope.nonce)?;
    if nonce.len() != 12 {
        return Err(CryptoError::Malformed("nonce length".into()));
    }
    let ciphertext = unb64("ciphertext", &envelope.ciphertext)?;
    let data_key = keys
        .decrypt_data_key(&envelope.key_id, &wrapped, ctx)
        .await?;
    let cipher = Aes256Gcm::new_from_slice(data_key.as_ref())
        .map_err(|_| CryptoError::Malformed("data key length".into()))?;
    let aad = ctx.aad();
    cipher
        .decrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &ciphertext,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Decrypt)
}

/// The same envelope with its data key wrapped under `to_key_id` (an id the provider's
/// [`KeyProvider::target_key`] returned) for the same `ctx`. The nonce and ciphertext stay as
/// they are: the data key does not change, only the master key wrapping it.
pub async fn rewrap(
    keys: &dyn KeyProvider,
    ctx: &EncryptionContext,
    envelope: &Envelope,
    to_key_id: &str,
) -> Result<Envelope, CryptoError> {
    if envelope.v != VERSION || envelope.alg != ALGORITHM {
        return Err(CryptoError::Malformed(format!(
            "unsupported envelope v{} {}",
            envelope.v, envelope.alg
        )));
    }
    let wrapped = unb64("wrapped_key", &envelope.wrapped_key)?;
    let done = keys
        .rewrap_data_key(&envelope.key_id, &wrapped, ctx, to_key_id)
        .await?;
    Ok(Envelope {
        key_id: done.key_id,
        wrapped_key: b64(&done.wrapped),
        ..envelope.clone()
    })
}
