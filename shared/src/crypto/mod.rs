//! Envelope encryption: a fresh data key per record, wrapped by a master key that never leaves
//! its provider (KMS, or a local key file for `serve`). The encryption context
//! `{tenant_id, record_id, purpose}` is bound into both layers, so a ciphertext copied onto
//! another record or tenant does not decrypt.

pub mod envelope;
pub mod kms;
#[cfg(feature = "embedded")]
pub mod local;
pub mod random;

use async_trait::async_trait;
use std::collections::BTreeMap;
use zeroize::Zeroizing;

pub use envelope::Envelope;

/// What a ciphertext is bound to. Serialised in a canonical (sorted) form for AAD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionContext {
    pub tenant_id: String,
    pub record_id: String,
    pub purpose: String,
}

impl EncryptionContext {
    pub fn new(
        tenant_id: impl ToString,
        record_id: impl ToString,
        purpose: impl Into<String>,
    ) -> Self {
        Self {
            tenant_id: tenant_id.to_string(),
            record_id: record_id.to_string(),
            purpose: purpose.into(),
        }
    }

    /// The context as KMS takes it.
    pub fn as_map(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("purpose".to_owned(), self.purpose.clone()),
            ("record_id".to_owned(), self.record_id.clone()),
            ("tenant_id".to_owned(), self.tenant_id.clone()),
        ])
    }

    /// The canonical bytes used as additional authenticated data.
    pub fn aad(&self) -> Vec<u8> {
        // A BTreeMap serialises in key order, so the bytes are stable.
        serde_json::to_vec(&self.as_map()).unwrap_or_default()
    }
}

/// A data key as generated: the plaintext (wiped on drop) and its wrapped form.
pub struct DataKey {
    pub plaintext: Zeroizing<[u8; 32]>,
    pub wrapped: Vec<u8>,
    /// Which master key wrapped it.
    pub key_id: String,
}

/// A 256-bit data key from unwrapped bytes, refusing any other length.
pub fn data_key(bytes: &[u8]) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|_| CryptoError::Malformed("a data key must be 32 bytes".into()))?;
    Ok(Zeroizing::new(key))
}

/// What can go wrong with keys.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The ciphertext, its context or its wrapped key does not authenticate.
    #[error("decryption failed: ciphertext, key or encryption context do not match")]
    Decrypt,
    /// The key provider is unreachable.
    #[error("key provider unavailable: {0}")]
    Unavailable(String),
    /// The envelope cannot be parsed or names an unknown format.
    #[error("malformed envelope: {0}")]
    Malformed(String),
    /// The local key file cannot be read or created.
    #[error("key file: {0}")]
    KeyFile(String),
    /// A rewrap target names no usable master key.
    #[error("unknown master key: {0}")]
    UnknownKey(String),
}

/// A data key wrapped again under another master key, as a rewrap produces it: the plaintext
/// data key is unchanged (so the record's ciphertext is too) and never leaves the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrapped {
    pub wrapped: Vec<u8>,
    /// The master key that wraps it now (what the envelope names from then on).
    pub key_id: String,
}

/// The key provider port: makes and unwraps data keys under a master key.
#[async_trait]
pub trait KeyProvider: Send + Sync + 'static {
    async fn generate_data_key(&self, ctx: &EncryptionContext) -> Result<DataKey, CryptoError>;
    async fn decrypt_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
        ctx: &EncryptionContext,
    ) -> Result<Zeroizing<[u8; 32]>, CryptoError>;
    fn kind(&self) -> &'static str;

    /// Makes `key` (as the operator names it: a KMS key id, ARN or alias; a local key name)
    /// usable as a rewrap target, and returns the id envelopes wrapped under it carry, so that a
    /// record already under it is recognised and skipped. Providers that cannot rewrap say so.
    async fn target_key(&self, key: &str) -> Result<String, CryptoError> {
        Err(CryptoError::UnknownKey(format!(
            "the {} key provider cannot rewrap (asked for `{key}`)",
            self.kind()
        )))
    }

    /// Re-wraps the data key `wrapped` (under `key_id`, bound to `ctx`) under `to_key_id` (an id
    /// [`KeyProvider::target_key`] returned), bound to the same context. KMS does it with
    /// `ReEncrypt`, so the plaintext data key never leaves KMS.
    async fn rewrap_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
        ctx: &EncryptionContext,
        to_key_id: &str,
    ) -> Result<Rewrapped, CryptoError> {
        let _ = (key_id, wrapped, ctx);
        Err(CryptoError::UnknownKey(format!(
            "the {} key provider cannot rewrap (asked for `{to_key_id}`)",
            self.kind()
        )))
    }
}
