//! Whether Segment sent a call before the module listened. The gate opens on analytics-next's
//! `page`/`track`/`identify` events, and a call made before `start()` (the snippet's `page()`)
//! fired its event before anyone listened: a fresh visitor's first exposure would then wait the
//! whole `segmentKnowsTimeoutMs`. The page's Resource Timing still shows that request, done or
//! finishing after we start, so a completed request to the instance's own Segment API (its
//! `Segment.io` destination's `protocol://apiHost/`) is taken as Segment having received a call.
//! How long to watch is the engine's decision (`WatchSegmentCalls` / `StopWatching`).
//!
//! The request's body is not visible: the call is taken to carry the identity Segment reports
//! when it completes. That is wrong only after a `reset()` with no call since, and then the
//! exposure goes out before Segment knew, as it would at the timeout.

use alloc::string::String;

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::js;
use crate::wire::join;

/// A `PerformanceObserver` on the page's resources, disconnected when dropped.
#[derive(Debug)]
pub(crate) struct SegmentCallWatch {
    observer: JsValue,
    _callback: Closure<dyn FnMut(JsValue, JsValue)>,
}

impl SegmentCallWatch {
    /// Calls `seen` once, when a request to `analytics`'s Segment API has completed (before now
    /// or later). `None` when there is no such API to look for (not analytics-next, or no
    /// Resource Timing).
    pub(crate) fn new(
        analytics: &JsValue,
        seen: impl FnOnce() + 'static,
    ) -> Option<SegmentCallWatch> {
        let api = segment_api(analytics)?;
        let constructor = js::get(&js_sys::global(), "PerformanceObserver")
            .dyn_into::<Function>()
            .ok()?;
        let mut seen = Some(seen);
        // The browser passes the observer itself as the second argument.
        let callback = Closure::<dyn FnMut(JsValue, JsValue)>::new(move |list, observer| {
            if seen.is_some() && any_request_to(&list, &api) {
                disconnect(&observer);
                if let Some(seen) = seen.take() {
                    seen();
                }
            }
        });
        let observer =
            Reflect::construct(&constructor, &Array::of1(callback.as_ref().unchecked_ref()))
                .ok()?;
        let options = Object::new();
        js::set(&options, "type", &JsValue::from_str("resource"));
        js::set(&options, "buffered", &JsValue::TRUE);
        let observe = js::get(&observer, "observe").dyn_into::<Function>().ok()?;
        observe.call1(&observer, &options).ok()?;
        Some(SegmentCallWatch {
            observer,
            _callback: callback,
        })
    }
}

impl Drop for SegmentCallWatch {
    fn drop(&mut self) {
        disconnect(&self.observer);
    }
}

fn disconnect(observer: &JsValue) {
    let _ = js::call0(observer, "disconnect");
}

/// True when the observer's entry list holds a finished call to Segment's API `api`.
fn any_request_to(list: &JsValue, api: &str) -> bool {
    let entries = js::call0(list, "getEntries").unwrap_or(JsValue::UNDEFINED);
    if !Array::is_array(&entries) {
        return false;
    }
    Array::from(&entries).iter().any(|entry| {
        js::get(&entry, "name")
            .as_string()
            .is_some_and(|url| is_segment_call(&url, api))
            && js::get(&entry, "responseEnd")
                .as_f64()
                .is_some_and(|end| end > 0.0)
    })
}

/// True for a call that carries the visitor to Segment: analytics-next posts each event to
/// `{api}{first letter of its type}` (`t`, `p`, `i`, `g`, `a`, `s`) and batches to `{api}b`. Not
/// the project settings (`{cdn}/projects/…`, on the same host as the API behind a first-party
/// proxy) nor metrics (`{api}m`), which say nothing about the visitor.
fn is_segment_call(url: &str, api: &str) -> bool {
    let Some(path) = url.strip_prefix(api) else {
        return false;
    };
    let endpoint = path.split(['/', '?', '#']).next().unwrap_or_default();
    matches!(endpoint, "t" | "p" | "i" | "g" | "a" | "s" | "b")
}

/// `protocol://apiHost/` of analytics-next's `Segment.io` destination, from the instance's queue.
fn segment_api(analytics: &JsValue) -> Option<String> {
    let plugins = js::get(&js::get(analytics, "queue"), "plugins");
    if !Array::is_array(&plugins) {
        return None;
    }
    let destination = Array::from(&plugins)
        .iter()
        .find(|plugin| js::get(plugin, "name").as_string().as_deref() == Some("Segment.io"))?;
    let metadata = js::get(&destination, "metadata");
    let host = js::get(&metadata, "apiHost").as_string()?;
    let protocol = js::get(&metadata, "protocol")
        .as_string()
        .unwrap_or_else(|| String::from("https"));
    Some(join(&protocol, &["://", &host, "/"]))
}
