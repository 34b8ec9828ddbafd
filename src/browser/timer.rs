//! One `setTimeout` as a value (after gloo-timers' `Timeout`): the handle owns the callback's
//! closure, and dropping the handle clears the timer and frees the closure, whether it has
//! fired or not. The driver keeps exactly one, for the engine's next deadline, and replaces it
//! when that deadline moves, so a long-lived page holds one closure, not one per wait.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// A pending `setTimeout`; dropping it cancels the timer and frees its closure.
#[must_use = "dropping a Timeout cancels it"]
#[derive(Debug)]
pub(crate) struct Timeout {
    id: i32,
    _callback: Closure<dyn FnMut()>,
}

impl Timeout {
    /// Runs `callback` after `ms` milliseconds unless dropped first; `None` without a window.
    pub(crate) fn new(ms: f64, callback: impl FnMut() + 'static) -> Option<Timeout> {
        let callback = Closure::<dyn FnMut()>::new(callback);
        let delay = ms.clamp(0.0, i32::MAX as f64) as i32;
        let id = web_sys::window()?
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                callback.as_ref().unchecked_ref(),
                delay,
            )
            .ok()?;
        Some(Timeout {
            id,
            _callback: callback,
        })
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            window.clear_timeout_with_handle(self.id);
        }
    }
}
