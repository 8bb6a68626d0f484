//! Operational metrics: one set of instruments that the domain records into (delivery outcomes,
//! attempt latency, publishes, intake requests, store errors), rendered two ways. `serve` exposes
//! them as Prometheus text on a listener of their own ([`serve_listener`], never on the public
//! port); the Lambdas write them as CloudWatch Embedded Metric Format log lines, flushed once per
//! invocation ([`Metrics::flush_emf`]), because a Lambda has no port to scrape.
//!
//! Recording is a method call on [`Metrics`] (atomic adds, no allocation, no I/O), so the domain
//! code instruments each site with one line. Queue depth and the oldest job's age are not
//! recorded: they are sampled from the queue port when `/metrics` is scraped.

pub mod emf;
mod listener;
mod prometheus;
pub mod store;

pub use listener::serve_listener;

use self::prometheus::{Instruments, StoreErrorLabels};
use std::sync::Mutex;
use std::time::Duration;

/// What became of one delivery job. Every job the worker hands the delivery engine is counted
/// under one of these; the only double count is a job whose attempt was recorded but whose
/// bookkeeping after it (the endpoint's health) failed: its attempt's outcome and `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryOutcome {
    /// An attempt got a 2xx.
    Succeeded,
    /// An attempt failed and another is scheduled.
    Retrying,
    /// The delivery is dead: an attempt failed with no attempts left, or the endpoint answered 410.
    Failed,
    /// Not sent: the endpoint was deleted or disabled.
    Skipped,
    /// Not sent yet: the endpoint's rate limit deferred it to a later second.
    Deferred,
    /// Not sent: the event expired before it could be delivered.
    Expired,
    /// A redelivered job whose outcome was already recorded; nothing was sent.
    Duplicate,
    /// The engine could not finish (the store or KMS failed); the job will come back.
    Error,
}

impl DeliveryOutcome {
    pub const ALL: [Self; 8] = [
        Self::Succeeded,
        Self::Retrying,
        Self::Failed,
        Self::Skipped,
        Self::Deferred,
        Self::Expired,
        Self::Duplicate,
        Self::Error,
    ];

    /// The `outcome` label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Retrying => "retrying",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Deferred => "deferred",
            Self::Expired => "expired",
            Self::Duplicate => "duplicate",
            Self::Error => "error",
        }
    }
}

impl From<crate::model::message::DeliveryStatus> for DeliveryOutcome {
    /// The outcome of an attempt that left its delivery in `status`.
    fn from(status: crate::model::message::DeliveryStatus) -> Self {
        use crate::model::message::DeliveryStatus;
        match status {
            DeliveryStatus::Succeeded => Self::Succeeded,
            DeliveryStatus::Pending | DeliveryStatus::Retrying => Self::Retrying,
            DeliveryStatus::Failed => Self::Failed,
            DeliveryStatus::Skipped => Self::Skipped,
        }
    }
}

/// What the public intake answered a webhook sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntakeOutcome {
    /// Verified and queued (2xx).
    Accepted,
    /// Refused (unknown integration, bad signature, too large, …).
    Rejected,
}

impl IntakeOutcome {
    pub const ALL: [Self; 2] = [Self::Accepted, Self::Rejected];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
        }
    }
}

/// Upper bounds (seconds) of the attempt latency buckets: from a fast local receiver (5 ms) to
/// the longest endpoint timeout (30 s).
pub const ATTEMPT_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How many attempt durations wait for the next EMF flush at most. A Lambda flushes after each
/// batch (at most 10 jobs), so this only bounds memory if a caller never flushes.
const EMF_PENDING_LIMIT: usize = 10_000;

/// The process's instruments. Built once per process by the composition root, shared by the
/// HTTP layer, publishing and the delivery engine.
pub struct Metrics {
    instruments: Instruments,
    /// Set in the Lambdas: what the next EMF flush reports.
    emf: Option<Mutex<emf::Pending>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Instruments for a scraped process (`serve`).
    pub fn new() -> Self {
        Self {
            instruments: Instruments::new(),
            emf: None,
        }
    }

    /// Instruments for a Lambda: as [`Metrics::new`], and each flush writes what changed since
    /// the previous one as EMF lines.
    pub fn with_emf() -> Self {
        Self {
            instruments: Instruments::new(),
            emf: Some(Mutex::new(emf::Pending::default())),
        }
    }

    /// Counts one delivery job by what became of it.
    pub fn delivery(&self, outcome: DeliveryOutcome) {
        self.instruments
            .deliveries
            .get_or_create(&[("outcome", outcome.as_str())])
            .inc();
    }

    /// Counts one delivery attempt: its outcome and how long the HTTP exchange took.
    pub fn attempt(&self, outcome: DeliveryOutcome, took: Duration) {
        self.delivery(outcome);
        self.instruments.attempt_seconds.observe(took.as_secs_f64());
        if let Some(pending) = &self.emf
            && let Ok(mut pending) = pending.lock()
            && pending.durations_ms.len() < EMF_PENDING_LIMIT
        {
            pending.durations_ms.push(took.as_secs_f64() * 1000.0);
        }
    }

    /// Counts one accepted event (published, stored and queued).
    pub fn published(&self) {
        self.instruments.published.inc();
    }

    /// Counts one request to the public intake.
    pub fn intake(&self, outcome: IntakeOutcome) {
        self.instruments
            .intake
            .get_or_create(&[("outcome", outcome.as_str())])
            .inc();
    }

    /// Counts one failed store call (see [`store::MeteredStore`]).
    pub fn store_error(&self, op: store::StoreOp, error: &crate::store::StoreError) {
        let Some(kind) = store::error_kind(error) else {
            return;
        };
        let labels: StoreErrorLabels = [("op", op.as_str()), ("error", kind)];
        self.instruments.store_errors.get_or_create(&labels).inc();
    }

    /// The current value of every counter series that has been touched, for EMF and tests.
    pub fn counters(&self) -> Vec<CounterSample> {
        self.instruments.counters()
    }
}

/// A label (EMF: dimension) name and value.
pub type Label = (&'static str, &'static str);

/// One counter series and its current value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterSample {
    /// The EMF metric name (`Deliveries`, `EventsPublished`, …).
    pub name: &'static str,
    /// Label name and value pairs (EMF dimensions).
    pub labels: Vec<Label>,
    pub value: u64,
}
