//! `GET /v1/whoami`: the key a request is made with (any valid key, root included). The console
//! asks it once at sign-in to show the tenant and to hide what the key's scopes do not allow.

use crate::api::AppState;
use crate::api::dto::whoami::{PrincipalKind, WhoAmI};
use crate::api::extract::AnyCaller;
use crate::api::problem::Problem;
use crate::auth::Principal;
use crate::tenancy::{api_keys, tenants};
use axum::Json;
use axum::extract::State;

#[utoipa::path(get, path = "/v1/whoami", tag = "meta", operation_id = "whoami",
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = WhoAmI, description = "The key this request was made with"),
              (status = 401, body = Problem,
               description = "No key, or a key that does not work (unknown, revoked, disabled, expired); `detail` says which"),
              (status = 503, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    AnyCaller(principal): AnyCaller,
) -> Result<Json<WhoAmI>, Problem> {
    let caller = match principal {
        Principal::Root => {
            return Ok(Json(WhoAmI {
                kind: PrincipalKind::Root,
                tenant_id: None,
                tenant_name: None,
                key_id: None,
                key_prefix: None,
                key_name: None,
                scopes: Vec::new(),
                expires_at: None,
            }));
        }
        Principal::Tenant(caller) => caller,
    };
    let store = app.store.as_ref();
    let key = api_keys::get(store, caller.tenant_id, caller.key_id).await?;
    let tenant = tenants::get(store, caller.tenant_id).await?;
    Ok(Json(WhoAmI {
        kind: PrincipalKind::Tenant,
        tenant_id: Some(tenant.id),
        tenant_name: Some(tenant.name),
        key_id: Some(key.id),
        key_prefix: Some(key.start),
        key_name: Some(key.name),
        scopes: caller.scopes,
        expires_at: key.expires_at,
    }))
}
