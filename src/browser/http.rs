//! One POST over `window.fetch`, with a timeout that really aborts the request.
//!
//! A non-2xx status is data, not an error (as in gloo-net): the core decides what a status means.
//! Only "no answer" is an error here: a timeout or a network failure.

use js_sys::{Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, RequestInit, Response};

use super::timer::Timeout;
use crate::decision::HttpRequest;

/// An answer of any status.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    /// HTTP status.
    pub(crate) status: u16,
    /// Body text.
    pub(crate) body: String,
    /// The `Last-Modified` header, when the server sent one.
    pub(crate) last_modified: Option<String>,
}

/// Why no answer came back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SendError {
    /// The timeout fired and the request was aborted.
    Timeout,
    /// `fetch` rejected: offline, DNS, CORS, refused connection; holds the browser's message.
    Network(String),
}

/// Sends `request` as a POST and reads the whole body, giving up after `timeout_ms`. `controller`
/// lets the caller abort too (a decision for an identity that is no longer current).
pub(crate) async fn post(
    request: &HttpRequest,
    timeout_ms: u32,
    keepalive: bool,
    controller: Option<AbortController>,
) -> Result<HttpResponse, SendError> {
    let body = Some(request.body.as_str());
    send(
        "POST",
        &request.url,
        &request.headers,
        body,
        timeout_ms,
        keepalive,
        controller,
    )
    .await
}

/// Sends a GET with `headers`, giving up after `timeout_ms`.
pub(crate) async fn get(
    url: &str,
    headers: &[(&'static str, String)],
    timeout_ms: u32,
) -> Result<HttpResponse, SendError> {
    send("GET", url, headers, None, timeout_ms, false, None).await
}

async fn send(
    method: &str,
    url: &str,
    header_list: &[(&'static str, String)],
    body: Option<&str>,
    timeout_ms: u32,
    keepalive: bool,
    controller: Option<AbortController>,
) -> Result<HttpResponse, SendError> {
    let window = web_sys::window().ok_or_else(|| SendError::Network("no window".into()))?;
    let controller = match controller {
        Some(controller) => controller,
        None => AbortController::new().map_err(network)?,
    };
    let init = request_init(method, header_list, body, keepalive).map_err(network)?;
    init.set_signal(Some(&controller.signal()));

    let timed_out = std::rc::Rc::new(std::cell::Cell::new(false));
    let _timeout = {
        let (controller, timed_out) = (controller.clone(), timed_out.clone());
        Timeout::new(timeout_ms, move || {
            timed_out.set(true);
            controller.abort();
        })
    };
    let fail = |e: JsValue| {
        if timed_out.get() {
            SendError::Timeout
        } else {
            network(e)
        }
    };

    let response: Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(fail)?
        .dyn_into()
        .map_err(fail)?;
    let text: Promise = response.text().map_err(fail)?;
    let body = JsFuture::from(text).await.map_err(fail)?;
    Ok(HttpResponse {
        status: response.status(),
        body: body.as_string().unwrap_or_default(),
        last_modified: response.headers().get("last-modified").ok().flatten(),
    })
}

/// The `fetch` options of a request.
fn request_init(
    method: &str,
    header_list: &[(&'static str, String)],
    body: Option<&str>,
    keepalive: bool,
) -> Result<RequestInit, JsValue> {
    let headers = Headers::new()?;
    for (name, value) in header_list {
        headers.set(name, value)?;
    }
    let init = RequestInit::new();
    init.set_method(method);
    init.set_headers(&headers);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(body));
    }
    if keepalive {
        // web-sys has no setter for `keepalive`; the property is standard in every engine we target.
        super::js::set(&init, "keepalive", &JsValue::TRUE);
    }
    Ok(init)
}

fn network(error: JsValue) -> SendError {
    let message = Reflect::get(&error, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| "fetch failed".into());
    SendError::Network(message)
}

/// Starts a keepalive POST now and forgets it: for `pagehide`, when there is no later to await
/// an answer in. The request outlives the page; its failure is nobody's to handle.
pub(crate) fn post_and_forget(request: &HttpRequest) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(init) = request_init("POST", &request.headers, Some(&request.body), true) else {
        return;
    };
    let promise = window.fetch_with_str_and_init(&request.url, &init);
    // A rejection nobody handles would be reported on the page's console as an error.
    let ignore = wasm_bindgen::closure::Closure::<dyn FnMut(JsValue)>::new(|_| {});
    let _ = promise.catch(&ignore);
    ignore.forget();
}
