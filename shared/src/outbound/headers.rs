//! An endpoint's custom headers under envelope encryption. Tenants put receivers' credentials
//! (`authorization`, API keys) in them, so they are secrets like the signing secret: sealed at
//! rest under the same key provider, shown masked in every view, opened only to send a delivery
//! (and then cached like the signing secrets, so a delivery never calls KMS).

use super::Outbound;
use crate::crypto::{EncryptionContext, envelope};
use crate::error::DomainError;
use crate::model::endpoint::{Endpoint, HeaderValues, SealedHeaders, mask};
use crate::model::{EndpointId, TenantId};
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::sync::Arc;
use zeroize::Zeroizing;

/// The encryption context of one sealing of an endpoint's headers.
pub fn headers_context(tenant: TenantId, endpoint: EndpointId, id: &str) -> EncryptionContext {
    EncryptionContext::new(tenant, endpoint, format!("endpoint_headers:{id}"))
}

/// Seals `values` for `endpoint`; `None` when there are none (nothing to seal, nothing to open).
pub async fn seal(
    ob: &Outbound,
    tenant: TenantId,
    endpoint: EndpointId,
    values: &HeaderValues,
) -> Result<Option<SealedHeaders>, DomainError> {
    if values.is_empty() {
        return Ok(None);
    }
    let clear: BTreeMap<&str, &str> = values
        .iter()
        .map(|(name, value)| (name.as_str(), value.expose_secret()))
        .collect();
    let plaintext = Zeroizing::new(
        serde_json::to_vec(&clear).map_err(|e| DomainError::Internal(e.to_string()))?,
    );
    let id = ulid::Ulid::new().to_string();
    let sealed = envelope::seal(
        ob.keys(),
        &headers_context(tenant, endpoint, &id),
        &plaintext,
    )
    .await?;
    Ok(Some(SealedHeaders {
        id,
        masked: clear
            .iter()
            .map(|(name, value)| ((*name).to_owned(), mask(value)))
            .collect(),
        sealed,
    }))
}

/// Opens sealed headers.
async fn open(
    ob: &Outbound,
    endpoint: &Endpoint,
    sealed: &SealedHeaders,
) -> Result<HeaderValues, DomainError> {
    let ctx = headers_context(endpoint.tenant_id, endpoint.id, &sealed.id);
    let plaintext = envelope::open(ob.keys(), &ctx, &sealed.sealed).await?;
    let clear: BTreeMap<String, String> = serde_json::from_slice(&plaintext)
        .map_err(|e| DomainError::Internal(format!("sealed headers of {}: {e}", endpoint.id)))?;
    Ok(clear
        .into_iter()
        .map(|(name, value)| (name, SecretString::from(value)))
        .collect())
}

/// The headers of a record written before headers were sealed, ready to seal.
pub fn legacy_values(endpoint: &Endpoint) -> HeaderValues {
    endpoint
        .legacy_headers
        .0
        .iter()
        .map(|(name, value)| (name.clone(), SecretString::from(value.clone())))
        .collect()
}

impl Outbound {
    /// The custom headers to send with a delivery to `endpoint`, in clear, opened once per
    /// [`super::SECRET_CACHE_TTL`]. New headers are a new sealing id, so they take effect at once.
    pub async fn delivery_headers(
        &self,
        endpoint: &Endpoint,
    ) -> Result<Arc<HeaderValues>, DomainError> {
        // Sealing headers clears the legacy ones: a record has one kind or the other.
        let Some(sealed) = &endpoint.sealed_headers else {
            return Ok(Arc::new(legacy_values(endpoint)));
        };
        let cache_key = (endpoint.id, sealed.id.clone());
        if let Some(found) = self.headers.get(&cache_key) {
            return Ok(found);
        }
        let opened = Arc::new(open(self, endpoint, sealed).await?);
        self.headers.insert(cache_key, Arc::clone(&opened));
        Ok(opened)
    }
}
