//! Finding Segment on the page and reading who the visitor is.
//!
//! The global is re-read on every poll: before analytics.js loads, `window.analytics` is the
//! snippet's stub (an array with no `user`), and it is replaced by the real instance on load, so a
//! cached reference would be the stub forever. `analytics.ready` is not used: it waits for every
//! device-mode destination and never fires when one is blocked.

use js_sys::{Array, Object, Promise};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::js;
use super::timer::{now_ms, sleep, Timeout};
use crate::error::Error;
use crate::identity::SegmentIds;

/// How often the global is re-read while waiting for analytics.js to load.
const POLL_MS: u32 = 25;

/// Where the analytics instance comes from.
#[derive(Debug, Clone)]
pub(crate) enum SegmentSource {
    /// `window[key]`, re-read each time (the snippet stub is replaced on load).
    Global(String),
    /// An instance the page handed over: an analytics-next `AnalyticsBrowser` (whose `user()` is a
    /// Promise) or a loaded `Analytics`.
    Instance(JsValue),
}

impl SegmentSource {
    fn current(&self) -> JsValue {
        match self {
            SegmentSource::Global(key) => match web_sys::window() {
                Some(window) => js::get(&window, key),
                None => JsValue::UNDEFINED,
            },
            SegmentSource::Instance(instance) => instance.clone(),
        }
    }
}

/// True once `analytics` can answer `user()` with Segment's stored identity. A classic instance
/// exists before `initialize()` has loaded the user from storage, with `initialized === false`.
fn is_loaded(analytics: &JsValue) -> bool {
    js::has_method(analytics, "user") && js::get(analytics, "initialized") != JsValue::FALSE
}

/// Waits up to `timeout_ms` for Segment to load, then reads `user().id()` and
/// `user().anonymousId()`. Never calls the non-existent `userId()`.
pub(crate) async fn read_ids(source: &SegmentSource, timeout_ms: u32) -> Result<SegmentIds, Error> {
    let deadline = now_ms() + f64::from(timeout_ms);
    let mut saw_something = false;
    loop {
        let analytics = source.current();
        if is_loaded(&analytics) {
            let remaining = (deadline - now_ms()).max(0.0) as u32;
            return read_user(&analytics, remaining, timeout_ms).await;
        }
        saw_something |= !analytics.is_undefined() && !analytics.is_null();
        let remaining = deadline - now_ms();
        if remaining <= 0.0 {
            return Err(if saw_something {
                Error::SegmentTimeout(timeout_ms)
            } else {
                Error::SegmentUnavailable
            });
        }
        sleep(POLL_MS.min(remaining.ceil() as u32)).await;
    }
}

async fn read_user(
    analytics: &JsValue,
    remaining_ms: u32,
    timeout_ms: u32,
) -> Result<SegmentIds, Error> {
    let user = js::call0(analytics, "user").ok_or(Error::SegmentUnavailable)?;
    let user = if js::is_thenable(&user) {
        // analytics-next's AnalyticsBrowser answers once loaded; a blocked load never answers.
        let promise = Promise::resolve(&user);
        within(promise, remaining_ms)
            .await
            .ok_or(Error::SegmentTimeout(timeout_ms))?
    } else {
        user
    };
    if !js::has_method(&user, "anonymousId") {
        return Err(Error::SegmentUnavailable);
    }
    Ok(SegmentIds {
        user_id: js::call0(&user, "id").and_then(|id| id_string(&id)),
        anonymous_id: js::call0(&user, "anonymousId").and_then(|id| id_string(&id)),
    })
}

/// Segment accepts numeric user IDs (`identify(42)`) and sends them as they are; the Decision API
/// needs a string, and `42` is what Segment's servers turn it into.
fn id_string(value: &JsValue) -> Option<String> {
    if let Some(s) = value.as_string() {
        return Some(s);
    }
    let n = value.as_f64()?;
    (n.is_finite() && n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15)
        .then(|| format!("{}", n as i64))
}

/// The value of `promise`, or `None` if it rejects or does not settle within `ms`.
async fn within(promise: Promise, ms: u32) -> Option<JsValue> {
    let expired = JsValue::from(Object::new());
    let mut timeout = None;
    let timer = Promise::new(&mut |resolve, _| {
        let expired = expired.clone();
        timeout = Some(Timeout::new(ms, move || {
            let _ = resolve.call1(&JsValue::UNDEFINED, &expired);
        }));
    });
    let value = JsFuture::from(Promise::race(&Array::of2(&promise, &timer)))
        .await
        .ok()?;
    drop(timeout);
    (!Object::is(&value, &expired)).then_some(value)
}
