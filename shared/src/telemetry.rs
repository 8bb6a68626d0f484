//! Logging: `tracing`, JSON in Lambda (CloudWatch parses it), human-readable for `serve`.
//! `RUST_LOG` filters; the default is `info`. A JSON line carries the fields of the span it was
//! logged in (`span`) and of every enclosing span (`spans`): an API request's `request_id`, and
//! a delivery's `tenant_id`, `message_id` and `endpoint_id` (an action's id for an action: the
//! field keeps its name for log queries written before actions) (see [`crate::delivery::JobRunner`]).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs the global subscriber once, writing to stdout; later calls do nothing.
pub fn init(json: bool) {
    init_with_writer(json, std::io::stdout);
}

/// As [`init`], writing each line to `writer` instead (tests capture the lines this way, so
/// they check exactly the format the Lambdas write).
pub fn init_with_writer<W>(json: bool, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(writer);
    let _ = if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .without_time()
            .try_init()
    } else {
        builder.try_init()
    };
}
