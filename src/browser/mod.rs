//! The browser shell (wasm32 only): everything that touches `window`, `fetch`, storage or
//! analytics.js. Each file wraps one browser facility thinly; the rules they apply come from the
//! core modules.

pub(crate) mod bucketing_file;
pub(crate) mod decide;
pub(crate) mod delivery;
pub(crate) mod diagnose;
pub(crate) mod earlier_calls;
pub(crate) mod events;
pub(crate) mod follow;
pub(crate) mod hit_input;
pub(crate) mod hits;
pub(crate) mod http;
pub(crate) mod js;
pub(crate) mod listener;
pub(crate) mod log;
pub(crate) mod options;
pub(crate) mod read_cache;
pub(crate) mod reads;
pub(crate) mod segment;
pub(crate) mod session;
pub(crate) mod storage;
pub(crate) mod stored_ids;
pub(crate) mod stored_queues;
pub(crate) mod timer;
