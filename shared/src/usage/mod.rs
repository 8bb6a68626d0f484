//! Usage metering: per tenant and month, what the tenant made Switchboard do (events published,
//! delivery attempts and their outcomes, egress bytes, actions fired per provider, inbound
//! webhooks received and refused), for billing.
//!
//! Counting costs the hot path an in-memory add ([`UsageMeter`], over the process's
//! [`Tally`]); each process (a worker: `serve`, one Lambda instance) writes what it counted at
//! most once a second, one transaction per tenant and month: the counts are added to the
//! worker's shard of the month's counters and recorded as one ledger entry, so the ledger can
//! rebuild the counters (and check them) at any time. A batch that could not be written is
//! written again under the same ledger id, so a retry after an ambiguous failure counts nothing
//! twice (the entry's put is conditional).
//!
//! Access patterns (one table):
//!
//! | item | PK | SK | serves | writes/s |
//! |---|---|---|---|---|
//! | counters | `USG#ten_…#2025-01#00`–`#31` | `TOTAL` | `GET /v1/usage` (sums the 32 shards) | ≤ 1 per worker on that shard |
//! | ledger entry | same partition | `L#<batch ulid>` | rebuilding and checking the counters | ≤ 1 per worker on that shard |
//!
//! Each worker draws its shard at random when it starts, so W workers counting for one tenant
//! put about 2·W/32 writes a second on each partition (4·W/32 write units: transactional):
//! a thousand workers stay far under DynamoDB's 1,000 units per partition. Usage items carry no
//! TTL: they are billing records.
//!
//! What the counters mean:
//! - `events_published`: events accepted into the tenant's stream, by `POST /v1/events` or
//!   routed from inbound webhooks (an idempotent replay is not a new event; Switchboard's own
//!   operational events are not counted);
//! - `deliveries_attempted` = `deliveries_succeeded` + `deliveries_failed`: every delivery
//!   attempt recorded in the attempt log (retries and test sends included);
//! - `egress_bytes`: the request bodies of the attempts a receiver answered (with any status):
//!   only then is the body known to have arrived (an attempt refused before connecting sends
//!   nothing; one that timed out may or may not have, and is not billed);
//! - `actions.<provider>`: actions fired, per provider;
//! - `inbound_received`: webhooks accepted and stored (a duplicate delivery is not counted),
//!   `inbound_rejected`: webhooks refused for their signature or timestamp.

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod ledger;
pub mod month;

pub use ledger::{LedgerEntry, Usage};
pub use month::{Month, MonthError};

use crate::model::TenantId;
use crate::store::Store;
use crate::tally::{Name, Tally};
use std::borrow::Cow;
use std::sync::Arc;

/// How many shards a tenant's monthly counters are spread over.
pub const SHARDS: u16 = 32;

/// One counter of the fixed set. Actions are an open family (`actions.<provider>`), counted
/// with [`UsageMeter::action`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    EventsPublished,
    DeliveriesAttempted,
    DeliveriesSucceeded,
    DeliveriesFailed,
    EgressBytes,
    InboundReceived,
    InboundRejected,
}

impl Counter {
    pub const ALL: [Counter; 7] = [
        Counter::EventsPublished,
        Counter::DeliveriesAttempted,
        Counter::DeliveriesSucceeded,
        Counter::DeliveriesFailed,
        Counter::EgressBytes,
        Counter::InboundReceived,
        Counter::InboundRejected,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Counter::EventsPublished => "events_published",
            Counter::DeliveriesAttempted => "deliveries_attempted",
            Counter::DeliveriesSucceeded => "deliveries_succeeded",
            Counter::DeliveriesFailed => "deliveries_failed",
            Counter::EgressBytes => "egress_bytes",
            Counter::InboundReceived => "inbound_received",
            Counter::InboundRejected => "inbound_rejected",
        }
    }

    fn name(self) -> Name {
        Cow::Borrowed(self.as_str())
    }
}

/// The prefix of the per-provider action counters.
pub const ACTIONS_PREFIX: &str = "actions.";

/// Whose usage a count is, and for which month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UsageKey {
    pub tenant: TenantId,
    pub month: Month,
}

/// The process's usage counters. Every method is an in-memory add.
#[derive(Clone)]
pub struct UsageMeter {
    tally: Tally<UsageKey>,
}

impl UsageMeter {
    /// A meter writing to `store` as a random one of [`SHARDS`] shards.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            tally: Tally::sharded(Arc::new(ledger::LedgerSink::new(store)), SHARDS),
        }
    }

    /// A meter writing as shard `shard` (tests that simulate many workers).
    pub fn with_shard(store: Arc<dyn Store>, shard: u16) -> Self {
        Self {
            tally: Tally::with_shard(
                Arc::new(ledger::LedgerSink::new(store)),
                shard % SHARDS.max(1),
            ),
        }
    }

    fn add<I: IntoIterator<Item = (Name, u64)>>(&self, tenant: TenantId, counts: I) {
        let key = UsageKey {
            tenant,
            month: Month::current(),
        };
        self.tally.add(key, counts);
    }

    /// One event accepted into the tenant's stream.
    pub fn published(&self, tenant: TenantId) {
        self.add(tenant, [(Counter::EventsPublished.name(), 1)]);
    }

    /// One delivery attempt; `egress_bytes` is what reached the receiver (0 when nothing did).
    pub fn attempt(&self, tenant: TenantId, succeeded: bool, egress_bytes: u64) {
        let outcome = if succeeded {
            Counter::DeliveriesSucceeded
        } else {
            Counter::DeliveriesFailed
        };
        self.add(
            tenant,
            [
                (Counter::DeliveriesAttempted.name(), 1),
                (outcome.name(), 1),
                (Counter::EgressBytes.name(), egress_bytes),
            ],
        );
    }

    /// One action fired through `provider` (`twilio`, `slack`, …).
    pub fn action(&self, tenant: TenantId, provider: &str) {
        self.add(
            tenant,
            [(Cow::Owned(format!("{ACTIONS_PREFIX}{provider}")), 1)],
        );
    }

    /// One inbound webhook accepted and stored.
    pub fn inbound_received(&self, tenant: TenantId) {
        self.add(tenant, [(Counter::InboundReceived.name(), 1)]);
    }

    /// One inbound webhook refused (signature or timestamp).
    pub fn inbound_rejected(&self, tenant: TenantId) {
        self.add(tenant, [(Counter::InboundRejected.name(), 1)]);
    }

    /// Writes everything counted so far now (shutdown, tests).
    pub async fn flush(&self) {
        self.tally.flush().await;
    }

    /// Writes what is counted if the last write is a second old (the end of a Lambda
    /// invocation).
    pub async fn flush_if_due(&self) {
        self.tally.flush_if_due().await;
    }

    /// This worker's shard.
    pub fn shard(&self) -> u16 {
        self.tally.shard()
    }
}
