//! The records Switchboard keeps, the ids that name them, and the checks on what users send.

pub mod api_key;
pub mod ids;
pub mod scope;
pub mod tenant;

pub use ids::*;
pub use scope::Scope;
