//! The integration suite as one test binary: each module was a binary of its own, and 21 copies
//! of the whole statically linked service (AWS SDK, SQLite, rustls) filled the disk of a CI machine
//! and spent most of the build linking. `proxy_env` and `logs` stay separate: they set
//! process-wide state (proxy variables, the global tracing subscriber).

mod actions;
mod api_keys;
mod architecture;
mod audit;
mod cli_verify;
mod connections;
mod console;
mod crypto;
mod delivery_budget;
mod event_list;
mod events;
mod heat;
mod inbound;
mod inbound_verifiers;
mod metrics;
mod openapi;
mod outbound;
mod outbound_behaviour;
mod queue_conformance;
mod rewrap;
mod security_endpoints;
mod security_events;
mod security_keys;
mod security_serve;
mod store_conformance;
mod template;
mod usage;
