//! What the module reports to AB Tasty: exposures (activations) now, hits later. Pure rules only.

pub mod activation;
pub mod hits;
pub mod retry;

pub use activation::{activation_request, Activation, ExposureLog};
