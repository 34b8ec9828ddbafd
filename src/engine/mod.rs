//! The sans-IO engine: the one place that orchestrates a started module.
//!
//! Identity transitions and decision generations, status, exposure eligibility and dedupe, the
//! seen-by-Segment gate, delivery scheduling, backoff, persistence and what leaves at unload
//! are all decided here, in plain Rust that never performs I/O, never awaits and never reads a
//! clock: events come in (`handle_*`, and the page's commands), effects go out
//! ([`Engine::poll_effect`], [`Engine::poll_timeout`]), and time is an argument. The browser
//! shell executes the effects; native tests drive the engine with a fake clock, a scripted
//! Segment and an in-memory store (see `tests/`), so every rule is tested in milliseconds.

mod bucketing;
mod decide;
mod delivery;
mod diagnose;
mod early;
mod follow;
mod hits;
mod io;
mod kept_decisions;
mod machine;
mod outbox;
mod reads;
mod stored_queues;

#[cfg(test)]
pub(crate) mod tests;

pub use bucketing::bucketing_file_request;
pub use delivery::{Counters, ACTIVATION_WAIT_MS, DELIVERY_TIMEOUT_MS, KEEPALIVE_BUDGET_BYTES};
pub use diagnose::Diagnosis;
pub use early::EARLY_PREFIX;
pub use follow::SegmentEvent;
pub use io::{
    Answer, Departure, Effect, PageEvent, Preloaded, Probe, Reading, Response, SegmentCall,
    SegmentNeed, SegmentSource, StoredState, Takeover, Token,
};
pub use kept_decisions::CACHE_KEY;
pub use machine::{Engine, IdSource};
pub use reads::Read;
pub use stored_queues::{MAX_STORED_BYTES, ORPHAN_AFTER_MS};
