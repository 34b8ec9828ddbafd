//! One request over `window.fetch`, through the transport snippet `js/fetch.js`: a non-2xx
//! status is data, not an error; only "no answer" is (`Err` with the browser's message).
//! Timeouts are the engine's: it asks for an abort when a request's deadline passes.
//!
//! The snippet calls back once, so each request holds one closure, freed when it is called;
//! no futures executor is linked for it.

use alloc::string::String;

use js_sys::Object;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::js;
use crate::engine::{Answer, Response};
use crate::wire::{Method, Request};

#[wasm_bindgen(module = "/js/fetch.js")]
extern "C" {
    #[wasm_bindgen(js_name = send)]
    fn js_send(
        url: &str,
        method: &str,
        headers: &Object,
        body: Option<String>,
        keepalive: bool,
        done: &JsValue,
    ) -> JsValue;
}

/// A request in flight; [`InFlight::abort`] cancels it (its callback then reports no answer).
#[derive(Debug)]
pub(crate) struct InFlight(JsValue);

impl InFlight {
    /// Aborts the request.
    pub(crate) fn abort(&self) {
        let _ = js::call0(&self.0, "abort");
    }
}

/// Sends `request`; `done` gets the answer, once.
pub(crate) fn send(request: Request, done: impl FnOnce(Answer) + 'static) -> InFlight {
    let headers = Object::new();
    for (name, value) in &request.headers {
        js::set(&headers, name, &JsValue::from_str(value));
    }
    let body = (request.method == Method::Post).then_some(request.body);
    let done = Closure::once_into_js(
        move |status: u16,
              body: String,
              last_modified: Option<String>,
              retry_after: Option<String>| {
            done(match status {
                0 => Err(body),
                status => Ok(Response {
                    status,
                    body,
                    last_modified,
                    retry_after,
                }),
            })
        },
    );
    InFlight(js_send(
        &request.url,
        request.method.as_str(),
        &headers,
        body,
        request.keepalive,
        &done,
    ))
}
