//! Switchboard: the library every entry point shares. The Lambdas (`functions/*`) and the local
//! `switchboard serve` only wire configuration to the functions here, so both run one code path.

pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod config;
pub mod credentials;
pub mod crypto;
pub mod delivery;
#[cfg(feature = "demo")]
pub mod demo;
pub mod error;
pub mod inbound;
pub mod jobs;
pub mod lambda;
pub mod metrics;
pub mod model;
pub mod outbound;
pub mod private_fs;
pub mod queue;
pub mod rewrap;
#[cfg(feature = "embedded")]
pub mod serve;
pub mod signing;
pub mod ssrf;
pub mod store;
pub mod tally;
pub mod telemetry;
pub mod tenancy;
pub mod usage;
