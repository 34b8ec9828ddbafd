//! The browser shell (wasm32 only): executes the engine's effects and feeds the page's world
//! back into it. Each file wraps one browser facility thinly (fetch, one timer, localStorage,
//! analytics.js, the console, page listeners); the driver connects them to the engine. No rule
//! lives here.

pub(crate) mod bucketing_engine;
pub(crate) mod clock;
pub(crate) mod diagnose;
pub(crate) mod driver;
pub(crate) mod earlier_calls;
pub(crate) mod events;
pub(crate) mod fetch;
pub(crate) mod hit_input;
pub(crate) mod js;
pub(crate) mod listener;
pub(crate) mod log;
pub(crate) mod options;
pub(crate) mod read_cache;
pub(crate) mod segment;
pub(crate) mod storage;
pub(crate) mod stored_ids;
pub(crate) mod timer;
