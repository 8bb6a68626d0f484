//! The KMS key provider: `GenerateDataKey` (AES_256) and `Decrypt`, both with the record's
//! encryption context, so KMS itself refuses to unwrap a data key for another record and
//! CloudTrail shows which record each decrypt was for. Rotation to another KMS key uses
//! `ReEncrypt` with the same context on both sides: the data key is unwrapped and wrapped again
//! inside KMS and its plaintext never reaches this process.
//!
//! New envelopes are sealed under the key this provider was built with (`KMS_KEY_ID`); reads
//! use the key each envelope names, so envelopes under old and new keys open side by side.

use super::{CryptoError, DataKey, EncryptionContext, KeyProvider, Rewrapped};
use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use std::collections::HashMap;
use zeroize::Zeroizing;

/// Envelope keys under one KMS key.
#[derive(Clone)]
pub struct KmsKeyProvider {
    client: Client,
    key_id: String,
}

impl KmsKeyProvider {
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
        }
    }
}

fn context(ctx: &EncryptionContext) -> HashMap<String, String> {
    ctx.as_map().into_iter().collect()
}

fn classify<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> CryptoError {
    match e.code() {
        Some("InvalidCiphertextException" | "IncorrectKeyException") => CryptoError::Decrypt,
        Some("NotFoundException" | "DisabledException" | "KMSInvalidStateException") => {
            CryptoError::UnknownKey(format!("kms {}", e.code().unwrap_or_default()))
        }
        Some(code) => CryptoError::Unavailable(format!("kms {code}")),
        None => CryptoError::Unavailable(format!("kms: {e:?}")),
    }
}

#[async_trait]
impl KeyProvider for KmsKeyProvider {
    async fn generate_data_key(&self, ctx: &EncryptionContext) -> Result<DataKey, CryptoError> {
        let out = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(context(ctx)))
            .send()
            .await
            .map_err(classify)?;
        let plain = Zeroizing::new(
            out.plaintext
                .ok_or_else(|| CryptoError::Unavailable("kms returned no plaintext".into()))?
                .into_inner(),
        );
        let plaintext = super::data_key(&plain)?;
        let wrapped = out
            .ciphertext_blob
            .ok_or_else(|| CryptoError::Unavailable("kms returned no ciphertext".into()))?
            .into_inner();
        Ok(DataKey {
            plaintext,
            wrapped,
            key_id: out.key_id.unwrap_or_else(|| self.key_id.clone()),
        })
    }

    async fn decrypt_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
        ctx: &EncryptionContext,
    ) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        let out = self
            .client
            .decrypt()
            .key_id(key_id)
            .ciphertext_blob(Blob::new(wrapped))
            .set_encryption_context(Some(context(ctx)))
            .send()
            .await
            .map_err(classify)?;
        let plain = Zeroizing::new(
            out.plaintext
                .ok_or_else(|| CryptoError::Unavailable("kms returned no plaintext".into()))?
                .into_inner(),
        );
        super::data_key(&plain)
    }

    fn kind(&self) -> &'static str {
        "kms"
    }

    /// The key's ARN (what `GenerateDataKey` and `ReEncrypt` answer as `KeyId`, so what
    /// envelopes name), from a key id, ARN, alias name or alias ARN; enabled keys only.
    async fn target_key(&self, key: &str) -> Result<String, CryptoError> {
        let meta = self
            .client
            .describe_key()
            .key_id(key)
            .send()
            .await
            .map_err(classify)?
            .key_metadata
            .ok_or_else(|| CryptoError::UnknownKey(format!("kms described no key `{key}`")))?;
        if !meta.enabled {
            return Err(CryptoError::UnknownKey(format!(
                "kms key `{key}` is not enabled"
            )));
        }
        meta.arn
            .ok_or_else(|| CryptoError::UnknownKey(format!("kms key `{key}` has no ARN")))
    }

    async fn rewrap_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
        ctx: &EncryptionContext,
        to_key_id: &str,
    ) -> Result<Rewrapped, CryptoError> {
        let out = self
            .client
            .re_encrypt()
            .ciphertext_blob(Blob::new(wrapped))
            .source_key_id(key_id)
            .set_source_encryption_context(Some(context(ctx)))
            .destination_key_id(to_key_id)
            .set_destination_encryption_context(Some(context(ctx)))
            .send()
            .await
            .map_err(classify)?;
        Ok(Rewrapped {
            wrapped: out
                .ciphertext_blob
                .ok_or_else(|| CryptoError::Unavailable("kms returned no ciphertext".into()))?
                .into_inner(),
            key_id: out.key_id.unwrap_or_else(|| to_key_id.to_owned()),
        })
    }
}
