//! Decisions: the Decision API's wire model, the request we send, and the flag store built from
//! the answer. Pure rules only; the HTTP call lives in `crate::browser::http`.

pub mod cache;
pub mod flags;
pub mod initial;
pub mod model;
pub mod rate_limit;
pub mod request;

pub use flags::{write_metadata, FlagMetadata, FlagRead, FlagStore, ReadOutcome, ValueKind};
pub use model::{parse_decision, write_decision, Campaign, Decision, Modifications, Variation};
pub use request::{campaigns_request, interpret_campaigns_response};
