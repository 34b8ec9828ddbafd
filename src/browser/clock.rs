//! The engine's two clocks. In-page deadlines (timeouts, backoff, the seen-by-Segment gate, the
//! search for analytics.js) run on a monotonic clock, so that a wall clock set an hour back or
//! forward mid-page neither fires every wait at once nor freezes them; the wall clock
//! (`Date.now()`) is read only to date what is stored for other pages, whose clocks are wall
//! clocks.

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
    #[wasm_bindgen(thread_local_v2, js_namespace = performance, js_name = timeOrigin)]
    static TIME_ORIGIN: f64;
}

/// Milliseconds on the page's monotonic clock: the wall clock at navigation plus the time
/// elapsed since, which no change of the system clock moves.
pub(crate) fn now() -> f64 {
    TIME_ORIGIN.with(|origin| *origin) + performance_now()
}

/// Milliseconds since the epoch by the system clock, for what is stored across pages.
pub(crate) fn wall() -> f64 {
    js_sys::Date::now()
}
