//! DOM event listeners as values (after gloo-events): a [`PageListener`] removes itself when
//! dropped, so closing a session leaves nothing attached to the page.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// A listener on `window`, `document` or any event target.
#[must_use = "dropping a PageListener removes it"]
#[derive(Debug)]
pub(crate) struct PageListener {
    target: web_sys::EventTarget,
    event: &'static str,
    callback: Closure<dyn FnMut(JsValue)>,
}

impl PageListener {
    /// Listens to `event` on `target`, `callback` getting the event; `None` if the browser
    /// refuses.
    pub(crate) fn new(
        target: &web_sys::EventTarget,
        event: &'static str,
        callback: impl FnMut(JsValue) + 'static,
    ) -> Option<PageListener> {
        let callback = Closure::<dyn FnMut(JsValue)>::new(callback);
        target
            .add_event_listener_with_callback(event, callback.as_ref().unchecked_ref())
            .ok()?;
        Some(PageListener {
            target: target.clone(),
            event,
            callback,
        })
    }
}

impl Drop for PageListener {
    fn drop(&mut self) {
        let _ = self.target.remove_event_listener_with_callback(
            self.event,
            self.callback.as_ref().unchecked_ref(),
        );
    }
}
