//! One request over `window.fetch` (after gloo-net's `Request::send`): a non-2xx status is data,
//! not an error; only "no answer" is (`Err` with the browser's message). Timeouts are the
//! engine's: it asks for an abort when a request's deadline passes.

use alloc::string::String;

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, RequestInit};

use crate::engine::{Answer, Response};
use crate::wire::{Method, Request};

/// Sends `request` and reads the whole body; `signal` aborts it.
pub(crate) async fn send(request: &Request, signal: Option<&AbortSignal>) -> Answer {
    let window = web_sys::window().ok_or_else(|| String::from("no window"))?;
    let init = init(request, signal).map_err(message_of)?;
    let response = JsFuture::from(window.fetch_with_str_and_init(&request.url, &init))
        .await
        .map_err(message_of)?;
    let response: web_sys::Response = response.unchecked_into();
    let text = response.text().map_err(message_of)?;
    let body = JsFuture::from(text).await.map_err(message_of)?;
    Ok(Response {
        status: response.status(),
        body: body.as_string().unwrap_or_default(),
        last_modified: response.headers().get("last-modified").ok().flatten(),
    })
}

/// The `fetch` options of `request`.
fn init(request: &Request, signal: Option<&AbortSignal>) -> Result<RequestInit, JsValue> {
    let headers = Headers::new()?;
    for (name, value) in &request.headers {
        headers.set(name, value)?;
    }
    let init = RequestInit::new();
    init.set_method(request.method.as_str());
    init.set_headers(&headers);
    if request.method == Method::Post {
        init.set_body(&JsValue::from_str(&request.body));
    }
    if request.keepalive {
        // web-sys has no setter for `keepalive`; the property is standard in every engine.
        super::js::set(&init, "keepalive", &JsValue::TRUE);
    }
    init.set_signal(signal);
    Ok(init)
}

/// The `message` of what `fetch` rejected with.
fn message_of(error: JsValue) -> String {
    Reflect::get(&error, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| String::from("fetch failed"))
}
