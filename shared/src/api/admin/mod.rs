//! The management API (the admin Lambda): tenants, API keys, webhooks, events, integrations, the
//! audit log, usage, health, the caller's own key (`whoami`) and the OpenAPI document.

pub mod actions;
pub mod api_keys;
mod attempt_log;
pub mod audit;
pub mod connections;
pub mod events;
pub mod health;
pub mod integrations;
pub mod tenants;
pub mod usage;
pub mod webhooks;
pub mod whoami;
