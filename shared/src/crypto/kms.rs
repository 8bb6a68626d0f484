//! The KMS key provider: `GenerateDataKey` (AES_256) and `Decrypt`, both with the record's
//! encryption context, so KMS itself refuses to unwrap a data key for another record and
//! CloudTrail shows which record each decrypt was for.

use super::{CryptoError, DataKey, EncryptionContext, KeyProvider};
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
}
