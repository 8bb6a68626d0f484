//! One page of a destination's attempt log (a webhook endpoint's or an action's), read the same
//! way for both: the paging checked, the cursor bound to the tenant and the destination, newest
//! first, optionally by outcome.

use crate::api::dto::webhooks::AttemptsQuery;
use crate::api::pagination;
use crate::api::problem::Problem;
use crate::model::message::Attempt;
use crate::model::{Destination, TenantId};
use crate::outbound::messages;
use crate::store::Store;

const LIST: &str = "attempts";

/// The page `query` asks for of `destination`'s attempts, and the cursor of the next one. The
/// caller has checked that the destination is the tenant's.
pub(super) async fn page(
    store: &dyn Store,
    tenant: TenantId,
    destination: Destination,
    query: AttemptsQuery,
) -> Result<(Vec<Attempt>, Option<String>), Problem> {
    let owner = format!("{tenant}/{destination}");
    let params = pagination::parse(
        query.limit,
        query.cursor.as_deref(),
        &owner,
        LIST,
        messages::ATTEMPT_CURSOR_PREFIX,
    )?;
    let (found, last) =
        messages::attempts(store, destination, params.limit, params.after, query.status).await?;
    Ok((found, pagination::cursor(&owner, LIST, last)))
}
