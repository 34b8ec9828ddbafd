//! Finding Segment on the page, reading who the visitor is, and hearing when that changes.
//!
//! The global is re-read on every poll: before analytics.js loads, `window.analytics` is the
//! snippet's stub (an array with no `user`), and it is replaced by the real instance on load, so a
//! cached reference would be the stub forever. `analytics.ready` is not used: it waits for every
//! device-mode destination and never fires when one is blocked.
//!
//! Once loaded, the module keeps the real `Analytics` instance (for an analytics-next
//! `AnalyticsBrowser`, the instance it resolves to), because identity must be re-read
//! synchronously before every request.

use js_sys::{Array, Function, Object, Promise};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::js;
use super::timer::{now_ms, sleep, Timeout};
use crate::context::{Context, ContextValue};
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
    /// What the source holds right now (stub, instance, or `undefined`).
    pub(crate) fn current(&self) -> JsValue {
        match self {
            // `globalThis` (cached by js-sys) rather than `web_sys::window()`, which checks
            // `instanceof Window` on every reading of Segment.
            SegmentSource::Global(key) => js::get_data(&js_sys::global(), key),
            SegmentSource::Instance(instance) => instance.clone(),
        }
    }
}

/// True once `analytics` answers `user()` synchronously with Segment's stored identity. A classic
/// instance exists before `initialize()` has loaded the user, with `initialized === false`; an
/// `AnalyticsBrowser` answers `user()` with a Promise.
pub(crate) fn is_loaded(analytics: &JsValue) -> bool {
    if !js::has_method(analytics, "user") || js::get(analytics, "initialized") == JsValue::FALSE {
        return false;
    }
    js::call0(analytics, "user")
        .is_some_and(|user| !js::is_thenable(&user) && js::has_method(&user, "anonymousId"))
}

/// Waits up to `timeout_ms` for a loaded analytics instance.
pub(crate) async fn connect(source: &SegmentSource, timeout_ms: u32) -> Result<JsValue, Error> {
    let deadline = now_ms() + f64::from(timeout_ms);
    let mut saw_something = false;
    loop {
        let analytics = source.current();
        if is_loaded(&analytics) {
            return Ok(analytics);
        }
        if let Some(pending) = pending_instance(&analytics) {
            let remaining = (deadline - now_ms()).max(0.0) as u32;
            return match within(pending, remaining).await.map(first_of_pair) {
                Some(instance) if is_loaded(&instance) => Ok(instance),
                Some(_) => Err(Error::SegmentUnavailable),
                None => Err(Error::SegmentTimeout(timeout_ms)),
            };
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

/// For an analytics-next `AnalyticsBrowser`: a promise of the `Analytics` it loads. It is a
/// thenable resolving to `[analytics, context]`, and exposes `instance` once loaded.
fn pending_instance(analytics: &JsValue) -> Option<Promise> {
    if !js::has_method(analytics, "user") || !js::is_thenable(analytics) {
        return None;
    }
    let loaded = js::get(analytics, "instance");
    if is_loaded(&loaded) {
        return Some(Promise::resolve(&loaded));
    }
    Some(Promise::resolve(analytics))
}

/// What an `AnalyticsBrowser` resolves to is `[analytics, context]`.
fn first_of_pair(resolved: JsValue) -> JsValue {
    if Array::is_array(&resolved) {
        Array::from(&resolved).get(0)
    } else {
        resolved
    }
}

/// The IDs of a loaded instance and the allowlisted traits of its user, from one `user()`
/// call, read now. Never calls the non-existent `userId()`.
pub(crate) fn read_user(
    analytics: &JsValue,
    allow: &[String],
    skipped: &mut Vec<String>,
) -> Option<(SegmentIds, Context)> {
    let user = js::call0(analytics, "user")?;
    if js::is_thenable(&user) {
        return None;
    }
    let ids = SegmentIds {
        user_id: js::call0(&user, "id").and_then(|id| id_string(&id)),
        anonymous_id: js::call0(&user, "anonymousId").and_then(|id| id_string(&id)),
    };
    Some((ids, read_traits(&user, allow, skipped)))
}

/// The allowlisted traits of `user` as context values. Values of other types are skipped (and
/// reported in `skipped`), never stringified: `[object Object]` targets nobody.
fn read_traits(user: &JsValue, allow: &[String], skipped: &mut Vec<String>) -> Context {
    let mut context = Context::new();
    if allow.is_empty() {
        return context;
    }
    let Some(traits) = js::call0(user, "traits") else {
        return context;
    };
    for key in allow {
        let value = js::get_data(&traits, key);
        if value.is_undefined() || value.is_null() {
            continue;
        }
        match primitive(&value) {
            Some(v) => {
                context.insert(key.clone(), v);
            }
            None => skipped.push(key.clone()),
        }
    }
    context
}

/// A string, finite number or boolean as a context value.
pub(crate) fn primitive(value: &JsValue) -> Option<ContextValue> {
    if let Some(s) = value.as_string() {
        Some(ContextValue::String(s))
    } else if let Some(b) = value.as_bool() {
        Some(ContextValue::Bool(b))
    } else {
        value
            .as_f64()
            .filter(|n| n.is_finite())
            .map(ContextValue::Number)
    }
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

/// Which Segment the page has, for `diagnose()`.
#[derive(Debug, Clone, Default)]
pub(crate) struct SegmentInfo {
    /// "analytics.js 2.0", "analytics-next (npm)", "classic analytics.js", "absent" or "blocked".
    pub(crate) flavour: &'static str,
    /// `analytics.VERSION`, when there is one.
    pub(crate) version: Option<String>,
}

/// Describes a loaded instance. Classic analytics.js is 3.x/4.x; analytics.js 2.0 is 1.x.
pub(crate) fn describe_loaded(source: &SegmentSource, live: &JsValue) -> SegmentInfo {
    let version = js::get(live, "VERSION").as_string();
    let flavour = match source {
        SegmentSource::Instance(given) if js::is_thenable(given) => "analytics-next (npm)",
        _ if version
            .as_deref()
            .is_some_and(|v| v.starts_with('3') || v.starts_with('4')) =>
        {
            "classic analytics.js"
        }
        SegmentSource::Instance(_) => "analytics-next instance",
        SegmentSource::Global(_) => "analytics.js 2.0",
    };
    SegmentInfo { flavour, version }
}

/// Describes what was found when no loaded instance was: nothing, or a snippet stub that never
/// loaded (blocked by an extension, a CSP or the network).
pub(crate) fn describe_missing(source: &SegmentSource) -> SegmentInfo {
    let current = source.current();
    let flavour = if current.is_undefined() || current.is_null() {
        "absent"
    } else {
        "blocked"
    };
    SegmentInfo {
        flavour,
        version: None,
    }
}

/// A listener registered with `analytics.on(event, …)`; dropping it calls `analytics.off`.
#[must_use = "dropping a Subscription unsubscribes it"]
#[derive(Debug)]
pub(crate) struct Subscription {
    analytics: JsValue,
    event: &'static str,
    callback: Closure<dyn FnMut()>,
}

impl Subscription {
    /// Subscribes `callback` to `event` on `analytics`; `None` when it has no `on` (classic
    /// analytics.js has `on` but never emits `reset`: the per-request re-read covers that).
    pub(crate) fn new(
        analytics: &JsValue,
        event: &'static str,
        callback: impl FnMut() + 'static,
    ) -> Option<Self> {
        let callback = Closure::<dyn FnMut()>::new(callback);
        let on = js::get(analytics, "on").dyn_into::<Function>().ok()?;
        on.call2(analytics, &JsValue::from_str(event), callback.as_ref())
            .ok()?;
        Some(Subscription {
            analytics: analytics.clone(),
            event,
            callback,
        })
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Ok(off) = js::get(&self.analytics, "off").dyn_into::<Function>() {
            let _ = off.call2(
                &self.analytics,
                &JsValue::from_str(self.event),
                self.callback.as_ref(),
            );
        }
    }
}
