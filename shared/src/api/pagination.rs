//! `?limit=&cursor=` lists. A cursor is opaque to clients but bound to the tenant and the list it
//! came from: a cursor from another tenant or list, or a tampered one, is a 400, never someone
//! else's rows.

use super::problem::Problem;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 250;

/// One page of a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ListResponse<T> {
    pub data: Vec<T>,
    /// Pass as `?cursor=` for the next page; absent on the last page. A page holds `limit`
    /// items unless it is the last, or unless its filter had to skip more than 2,000 stored
    /// records (deleted, or not matching) to fill it: such a page is cut short, may even be
    /// empty, and still carries `next_cursor`. Follow `next_cursor` until it is absent; an
    /// empty page is not the end of the list.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct CursorBody {
    /// Owner: a tenant id, or `root`.
    o: String,
    /// Which list.
    l: String,
    /// The store position.
    k: String,
}

/// `?limit=&cursor=` of a plain list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1–250 (default 50).
    #[param(minimum = 1, maximum = 250)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// Checks the limit and the cursor for the list `list` owned by `owner`.
    pub fn resolve(&self, owner: &str, list: &str, sk_prefix: &str) -> Result<ListParams, Problem> {
        parse(self.limit, self.cursor.as_deref(), owner, list, sk_prefix)
    }
}

/// A validated list request.
#[derive(Debug, Clone)]
pub struct ListParams {
    pub limit: usize,
    /// The store sort key to resume after.
    pub after: Option<String>,
}

/// Checks `limit` and `cursor` for the list `list` owned by `owner`, whose store positions all
/// start with `sk_prefix`.
pub fn parse(
    limit: Option<u32>,
    cursor: Option<&str>,
    owner: &str,
    list: &str,
    sk_prefix: &str,
) -> Result<ListParams, Problem> {
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                Problem::bad_request("limit", format!("must be an integer from 1 to {MAX_LIMIT}"))
            })?,
    };
    let after = match cursor.filter(|c| !c.is_empty()) {
        None => None,
        Some(raw) => {
            let bad = || Problem::bad_request("cursor", "not a cursor issued for this list");
            let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
            let body: CursorBody = serde_json::from_slice(&bytes).map_err(|_| bad())?;
            if body.o != owner || body.l != list || !body.k.starts_with(sk_prefix) {
                return Err(bad());
            }
            Some(body.k)
        }
    };
    Ok(ListParams { limit, after })
}

/// The cursor for the page after the one ending at `last_sk`.
pub fn cursor(owner: &str, list: &str, last_sk: Option<String>) -> Option<String> {
    let body = CursorBody {
        o: owner.to_owned(),
        l: list.to_owned(),
        k: last_sk?,
    };
    serde_json::to_vec(&body)
        .ok()
        .map(|b| URL_SAFE_NO_PAD.encode(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_bound_to_owner_and_list() {
        let c = cursor("ten_a", "api_keys", Some("KEY#key_1".into())).expect("cursor");
        let ok = parse(None, Some(&c), "ten_a", "api_keys", "KEY#").expect("valid");
        assert_eq!(ok.after.as_deref(), Some("KEY#key_1"));
        assert_eq!(ok.limit, DEFAULT_LIMIT);
        assert!(parse(None, Some(&c), "ten_b", "api_keys", "KEY#").is_err());
        assert!(parse(None, Some(&c), "ten_a", "webhooks", "KEY#").is_err());
        assert!(parse(None, Some("garbage!"), "ten_a", "api_keys", "KEY#").is_err());
    }

    #[test]
    fn limit_bounds() {
        assert!(parse(Some(0), None, "o", "l", "").is_err());
        assert!(parse(Some(251), None, "o", "l", "").is_err());
        assert_eq!(
            parse(Some(250), None, "o", "l", "").map(|p| p.limit).ok(),
            Some(250)
        );
    }
}
