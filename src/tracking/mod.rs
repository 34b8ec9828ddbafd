//! What the module reports to AB Tasty: exposures (activations) and hits, their delivery queue,
//! retry policy and stored form. Pure rules only; sending and storage live in `crate::browser`.

pub mod activation;
pub mod gate;
pub mod hits;
pub mod item;
pub mod queue;
pub mod retry;
pub mod stored;

pub use activation::{Activation, ExposureLog};
pub use item::{batch_request, Item, Kind};
