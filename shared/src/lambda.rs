//! The Lambda entry points' shared wiring: config from the environment, the app built once, and
//! the runtime adapters. `functions/*/src/main.rs` call one function here each.

use crate::app::App;
use crate::config::{Backend, Config, Role, process_env};
use crate::queue::worker::{JobHandler, process_batch};
use crate::queue::{Outcome, Queue, ReceivedJob};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use std::sync::Arc;

/// Any start-up or runtime failure of a Lambda.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn build(role: Role) -> Result<Arc<App>, BoxError> {
    crate::telemetry::init(true);
    let config = Config::for_lambda(role, &process_env)?;
    #[allow(irrefutable_let_patterns)] // refutable when the `embedded` feature is on
    let Backend::Aws(aws) = &config.backend else {
        return Err("a Lambda runs on AWS adapters only".into());
    };
    let app = App::build_aws(
        aws,
        crate::app::Settings {
            root_key_hash: config.root_key_hash,
            delivery: config.delivery.clone(),
            max_endpoints_per_tenant: config.max_endpoints_per_tenant,
            emf_metrics: true,
            public_url: config.public_url.clone(),
            audit_retention: config.audit_retention,
        },
    )
    .await?;
    tracing::info!(adapters = %app.describe(), ?role, "starting");
    Ok(app)
}

/// An HTTP function's router, with the metrics flushed as EMF after every response (one
/// invocation is one request), before the runtime asks for the next event, and the counters
/// gathered in memory (key usage, refused webhooks, usage metering) written when their last
/// write is a second old: the runtime may freeze the instance before a scheduled write runs,
/// and writing after every request would make a busy tenant's counters hot.
fn flushing(router: axum::Router, app: &Arc<App>, function: &'static str) -> axum::Router {
    let app = Arc::clone(app);
    router.layer(axum::middleware::map_response(
        move |response: axum::response::Response| {
            let app = Arc::clone(&app);
            async move {
                app.metrics.flush_emf(function);
                app.flush_counters_if_due().await;
                response
            }
        },
    ))
}

/// The client's address from API Gateway's request context, as the `ConnectInfo` that `serve`
/// gives each request: audit entries record it.
async fn with_source_ip(mut request: axum::extract::Request) -> axum::extract::Request {
    use lambda_http::request::RequestContext;
    let ip = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .http
            .source_ip
            .as_deref()
            .and_then(|ip| ip.parse::<std::net::IpAddr>().ok()),
        _ => None,
    };
    if let Some(ip) = ip {
        let peer = std::net::SocketAddr::new(ip, 0);
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
    }
    request
}

/// The admin function.
pub async fn run_admin() -> Result<(), BoxError> {
    let app = build(Role::Admin).await?;
    let router = crate::api::admin_router(Arc::clone(&app))
        .layer(axum::middleware::map_request(with_source_ip));
    lambda_http::run(flushing(router, &app, "admin")).await
}

/// The intake function. Received and refused webhooks are counted in memory and written as
/// [`flushing`] says.
pub async fn run_intake() -> Result<(), BoxError> {
    let app = build(Role::Intake).await?;
    let router = crate::api::intake_router(Arc::clone(&app));
    lambda_http::run(flushing(router, &app, "intake")).await
}

/// The delivery function (SQS trigger with `ReportBatchItemFailures`).
pub async fn run_delivery() -> Result<(), BoxError> {
    let app = build(Role::Delivery).await?;
    let handler: Arc<dyn JobHandler> = app.job_handler();
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<SqsEvent>| {
            let (app, handler) = (Arc::clone(&app), Arc::clone(&handler));
            async move {
                let response =
                    handle_sqs_batch(app.queue.as_ref(), handler.as_ref(), event.payload).await;
                app.metrics.flush_emf("delivery");
                // Attempts and egress are metered in memory: written once their last write is
                // a second old (see `flushing`).
                app.flush_counters_if_due().await;
                Ok::<_, BoxError>(response)
            }
        },
    ))
    .await
}

/// Runs one SQS batch through the worker core. Jobs that are done are left for Lambda to delete;
/// a retry gets its visibility set to the backoff and is reported as a batch item failure; a dead
/// job is copied to the DLQ with its reason and then left for Lambda to delete. If settling
/// fails, the job is reported as failed so SQS redelivers it: nothing is dropped.
pub async fn handle_sqs_batch(
    queue: &dyn Queue,
    handler: &dyn JobHandler,
    event: SqsEvent,
) -> SqsBatchResponse {
    let jobs: Vec<ReceivedJob> = event
        .records
        .into_iter()
        .map(|record| ReceivedJob {
            id: record.message_id.unwrap_or_default(),
            body: record.body.unwrap_or_default(),
            receive_count: record
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1),
            receipt: record.receipt_handle.unwrap_or_default(),
        })
        .collect();
    let outcomes = process_batch(handler, &jobs).await;
    let mut response = SqsBatchResponse::default();
    for (job, outcome) in jobs.iter().zip(outcomes) {
        let failed = match &outcome {
            Outcome::Done => false,
            Outcome::RetryAfter(_) => {
                if let Err(e) = queue.settle(job, &outcome).await {
                    tracing::warn!(job_id = %job.id, error = %e, "could not set backoff");
                }
                true
            }
            Outcome::Dead(reason) => match queue.dead_letter(job, reason).await {
                Ok(()) => false,
                Err(e) => {
                    tracing::warn!(job_id = %job.id, error = %e, "could not dead-letter");
                    true
                }
            },
        };
        if failed {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = job.id.clone();
            response.batch_item_failures.push(failure);
        }
    }
    response
}
