//! Timers as values: a [`Timeout`] cancels itself when dropped, and [`sleep`] is a future. Modelled
//! on gloo-timers, kept in-crate because we need only these two.

use js_sys::Promise;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// A pending `setTimeout`; dropping it clears the timer.
#[must_use = "dropping a Timeout cancels it"]
#[derive(Debug)]
pub(crate) struct Timeout {
    id: Option<i32>,
    _callback: Closure<dyn FnMut()>,
}

impl Timeout {
    /// Runs `callback` once after `ms` milliseconds unless dropped first.
    pub(crate) fn new(ms: u32, callback: impl FnOnce() + 'static) -> Timeout {
        let mut callback = Some(callback);
        let closure = Closure::<dyn FnMut()>::new(move || {
            if let Some(f) = callback.take() {
                f();
            }
        });
        let id = web_sys::window().and_then(|w| {
            w.set_timeout_with_callback_and_timeout_and_arguments_0(
                closure.as_ref().unchecked_ref(),
                ms.min(i32::MAX as u32) as i32,
            )
            .ok()
        });
        Timeout {
            id,
            _callback: closure,
        }
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        if let (Some(id), Some(window)) = (self.id, web_sys::window()) {
            window.clear_timeout_with_handle(id);
        }
    }
}

/// Resolves after `ms` milliseconds.
pub(crate) async fn sleep(ms: u32) {
    let promise = Promise::new(&mut |resolve, _reject| {
        let timeout = Timeout::new(ms, move || {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        });
        // The promise owns the wait; forgetting the handle leaves the browser to fire it once.
        std::mem::forget(timeout);
    });
    let _ = JsFuture::from(promise).await;
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> f64 {
    js_sys::Date::now()
}
