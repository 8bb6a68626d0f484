//! The job kinds the delivery worker understands, and the handler that dispatches them.
//! Jobs carry ids, not payloads: `{"kind": "...", ...ids}`. Kinds arrive with the capabilities
//! that need them (outbound delivery, inbound processing, recovery); a job of a kind this build
//! does not know, or that is not JSON, can never succeed and is dead-lettered with the reason.

use crate::app::App;
use crate::queue::worker::JobHandler;
use crate::queue::{Outcome, ReceivedJob};
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize)]
struct JobHeader {
    kind: String,
}

/// Routes each job to the code for its kind.
pub struct Dispatcher {
    #[allow(dead_code)]
    app: Arc<App>,
}

impl Dispatcher {
    pub fn new(app: Arc<App>) -> Self {
        Self { app }
    }
}

#[async_trait]
impl JobHandler for Dispatcher {
    async fn handle(&self, job: &ReceivedJob) -> Outcome {
        let header: JobHeader = match serde_json::from_str(&job.body) {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(job_id = %job.id, error = %e, "malformed job");
                return Outcome::Dead(format!("malformed job: {e}"));
            }
        };
        tracing::warn!(job_id = %job.id, kind = %header.kind, "unknown job kind");
        Outcome::Dead(format!("unknown job kind `{}`", header.kind))
    }
}
