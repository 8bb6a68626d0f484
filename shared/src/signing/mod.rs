//! Webhook signatures: the outbound signer (Standard Webhooks) and, per provider, the inbound
//! verifiers.

pub mod inbound;
pub mod standard;
