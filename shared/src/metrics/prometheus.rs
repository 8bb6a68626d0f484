//! The instruments themselves (`prometheus-client` counters and a histogram in one registry) and
//! their Prometheus text exposition (format 0.0.4), with the queue sampled at scrape time.

use super::{ATTEMPT_BUCKETS, CounterSample, DeliveryOutcome, IntakeOutcome, Metrics, store};
use crate::queue::Queue;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// The `Content-Type` of what [`Metrics::render_prometheus`] returns.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Every metric name starts with this.
const PREFIX: &str = "switchboard";

pub(super) type OutcomeLabels = [(&'static str, &'static str); 1];
pub(super) type StoreErrorLabels = [(&'static str, &'static str); 2];

/// The registered instruments. Cloned handles share their values with the registry.
pub(super) struct Instruments {
    registry: Registry,
    pub deliveries: Family<OutcomeLabels, Counter>,
    pub attempt_seconds: Histogram,
    pub published: Counter,
    pub intake: Family<OutcomeLabels, Counter>,
    pub store_errors: Family<StoreErrorLabels, Counter>,
}

impl Instruments {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let deliveries = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "deliveries",
            "Delivery jobs handled, by outcome (succeeded, retrying, failed, skipped, deferred, expired, duplicate, error)",
            deliveries.clone(),
        );
        let attempt_seconds = Histogram::new(ATTEMPT_BUCKETS);
        registry.register(
            "delivery_attempt_duration_seconds",
            "How long each delivery attempt's HTTP exchange took",
            attempt_seconds.clone(),
        );
        let published = Counter::default();
        registry.register(
            "events_published",
            "Events accepted (stored and queued), API publishes and operational events alike",
            published.clone(),
        );
        let intake = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "intake_requests",
            "Requests to the public webhook intake, by outcome (accepted, rejected)",
            intake.clone(),
        );
        let store_errors = Family::<StoreErrorLabels, Counter>::default();
        registry.register(
            "store_errors",
            "Failed store calls, by operation and error (condition failures are answers, not errors)",
            store_errors.clone(),
        );
        Self {
            registry,
            deliveries,
            attempt_seconds,
            published,
            intake,
            store_errors,
        }
    }

    /// Every counter series that has been touched, with its value.
    pub fn counters(&self) -> Vec<CounterSample> {
        let mut out = Vec::new();
        for outcome in DeliveryOutcome::ALL {
            let labels = [("outcome", outcome.as_str())];
            if let Some(c) = self.deliveries.get(&labels) {
                out.push(sample("Deliveries", &labels, c.get()));
            }
        }
        out.push(sample("EventsPublished", &[], self.published.get()));
        for outcome in IntakeOutcome::ALL {
            let labels = [("outcome", outcome.as_str())];
            if let Some(c) = self.intake.get(&labels) {
                out.push(sample("IntakeRequests", &labels, c.get()));
            }
        }
        for op in store::StoreOp::ALL {
            for kind in store::ERROR_KINDS {
                let labels = [("op", op.as_str()), ("error", kind)];
                if let Some(c) = self.store_errors.get(&labels) {
                    out.push(sample("StoreErrors", &labels, c.get()));
                }
            }
        }
        out
    }
}

fn sample(
    name: &'static str,
    labels: &[(&'static str, &'static str)],
    value: u64,
) -> CounterSample {
    CounterSample {
        name,
        labels: labels.to_vec(),
        value,
    }
}

impl Metrics {
    /// The Prometheus text exposition of every instrument, plus the queue's depth and (where the
    /// adapter can tell) the age of its oldest job, sampled now. A queue that cannot answer
    /// leaves its series out rather than reporting a stale or made-up value.
    pub async fn render_prometheus(&self, queue: &dyn Queue) -> String {
        let mut sampled = Registry::with_prefix(PREFIX);
        match queue.depth().await {
            Ok(depth) => {
                let gauge = Gauge::<i64>::default();
                gauge.set(i64::try_from(depth).unwrap_or(i64::MAX));
                sampled.register(
                    "queue_depth",
                    "Jobs waiting or in flight in the delivery queue (not dead), sampled at scrape",
                    gauge,
                );
            }
            Err(e) => tracing::warn!(error = %e, "could not sample the queue depth"),
        }
        match queue.oldest_age().await {
            Ok(Some(age)) => {
                let gauge = Gauge::<f64, AtomicU64>::default();
                gauge.set(age.as_secs_f64());
                sampled.register(
                    "queue_oldest_job_age_seconds",
                    "Age of the oldest job in the delivery queue (not dead), sampled at scrape",
                    gauge,
                );
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not sample the oldest job's age"),
        }
        let mut text = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = prometheus_text::encode(&mut text, &self.instruments.registry);
        let _ = prometheus_text::encode(&mut text, &sampled);
        text
    }
}
