//! Segment analytics.js, duck-typed: finding the loaded instance, reading who the visitor is,
//! hearing its events, and making it send a call. Everything here is a thin reading of objects
//! we do not own; when to read and what a change means is the engine's.
//!
//! The global is re-read on every probe: before analytics.js loads, `window.analytics` is the
//! snippet's stub (an array with no `user`), and it is replaced by the real instance on load, so
//! a cached reference would be the stub forever. `analytics.ready` is not used: it waits for
//! every device-mode destination and never fires when one is blocked.

use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use js_sys::{Array, Function, Object, Promise};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::{js, stored_ids};
use crate::context::{Context, ContextValue};
use crate::engine::{Probe, Reading, SegmentCall, SegmentEvent, SegmentNeed, SegmentSource};
use crate::identity::SegmentIds;

/// Where the analytics instance comes from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// `globalThis[key]`, re-read each time (the snippet stub is replaced on load).
    Global(String),
    /// An instance the page handed over: an analytics-next `AnalyticsBrowser` (whose `user()` is
    /// a Promise, and which is a thenable of the loaded `Analytics`) or a loaded `Analytics`.
    Instance(JsValue),
}

impl Source {
    /// What the source holds right now (stub, instance, or `undefined`).
    fn current(&self) -> JsValue {
        match self {
            Source::Global(key) => js::get(&js_sys::global(), key),
            Source::Instance(instance) => instance.clone(),
        }
    }
}

/// The page's analytics.js. Its state sits in cells that are borrowed only for a moment and
/// never while analytics.js runs: analytics.js may call back into the module from any of its
/// methods (a classic build emits `track` synchronously from `track()`), and such a call must
/// find nothing borrowed.
#[derive(Debug)]
pub(crate) struct Segment {
    source: Source,
    /// The loaded instance read and followed, once found.
    live: RefCell<Option<JsValue>>,
    /// What an `AnalyticsBrowser` resolved to, once it has.
    resolved: Rc<RefCell<Option<JsValue>>>,
    /// We gave an `AnalyticsBrowser` a `then` callback (once).
    waiting: core::cell::Cell<bool>,
    /// Segment traits copied into the context.
    traits: Vec<String>,
    subscriptions: RefCell<Vec<Subscription>>,
    /// Called with each event of a subscription, and when an `AnalyticsBrowser` resolves.
    on_event: RefCell<Option<Handler>>,
}

/// Where Segment's events go: an event, or `None` for "an `AnalyticsBrowser` resolved".
#[derive(Clone)]
pub(crate) struct Handler(pub(crate) Rc<dyn Fn(Option<SegmentEvent>)>);

impl core::fmt::Debug for Handler {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Handler")
    }
}

/// Segment as it was read just before an engine call, handed to the engine as its
/// [`SegmentSource`]: the engine then runs no page JavaScript, so nothing the page does can
/// reach the module while the engine is in the middle of a change.
#[derive(Debug)]
pub(crate) struct Snapshot {
    probe: Probe,
    reading: Option<Reading>,
}

impl SegmentSource for Snapshot {
    fn probe(&mut self) -> Probe {
        self.probe
    }

    fn read(&mut self) -> Option<Reading> {
        self.reading.clone()
    }

    fn stored_ids(&mut self) -> SegmentIds {
        // Cookies and localStorage: no page code runs, and never `anonymousId()`, which mints.
        stored_ids::read()
    }
}

impl Segment {
    pub(crate) fn new(source: Source, traits: Vec<String>) -> Segment {
        Segment {
            source,
            live: RefCell::default(),
            resolved: Rc::default(),
            waiting: core::cell::Cell::new(false),
            traits,
            subscriptions: RefCell::default(),
            on_event: RefCell::default(),
        }
    }

    /// Where Segment's events (and the wake-up of a resolved `AnalyticsBrowser`, `None`) go.
    pub(crate) fn on_event(&self, handler: Handler) {
        *self.on_event.borrow_mut() = Some(handler);
    }

    /// The loaded instance followed, if any.
    pub(crate) fn live(&self) -> Option<JsValue> {
        self.live.borrow().clone()
    }

    /// Reads what the engine may look at in its next call (`need`), before the call.
    pub(crate) fn snapshot(&self, need: SegmentNeed) -> Snapshot {
        let probe = match need {
            SegmentNeed::Nothing => {
                return Snapshot {
                    probe: Probe::Absent,
                    reading: None,
                }
            }
            SegmentNeed::ProbeAndReading => self.probe(),
            SegmentNeed::Reading => Probe::Loaded,
        };
        let reading = match probe {
            Probe::Loaded => self.read(),
            _ => None,
        };
        Snapshot { probe, reading }
    }

    /// Listens to `identify`, `reset`, `page` and `track` on the loaded instance; dropping the
    /// subscriptions (or [`Segment::unsubscribe`]) calls `off`.
    pub(crate) fn subscribe(&self) {
        let (Some(live), Some(handler)) = (self.live(), self.on_event.borrow().clone()) else {
            return;
        };
        let mut subscriptions = Vec::new();
        for (name, event) in [
            ("identify", SegmentEvent::Identify),
            ("reset", SegmentEvent::Reset),
            ("page", SegmentEvent::Dispatched),
            ("track", SegmentEvent::Dispatched),
        ] {
            let handler = handler.clone();
            subscriptions.extend(Subscription::new(&live, name, move || {
                (handler.0)(Some(event))
            }));
        }
        let old = self.subscriptions.replace(subscriptions);
        // Dropped out of the borrow: dropping calls analytics.off.
        drop(old);
    }

    /// Stops listening. A pending `AnalyticsBrowser`'s callback stays with its promise (it frees
    /// itself when called; freeing it here would make a promise that resolves later throw into
    /// the page), and reaches nobody.
    pub(crate) fn unsubscribe(&self) {
        let old = self.subscriptions.take();
        drop(old);
        self.on_event.take();
    }

    /// `analytics.track(event, properties)` on the loaded instance: false when there is none,
    /// it has no `track`, or it threw.
    pub(crate) fn track(&self, call: &SegmentCall) -> bool {
        let Some(live) = self.live() else {
            return false;
        };
        let properties = Object::new();
        for (key, value) in &call.properties {
            js::set(&properties, key, &js::text(value.as_deref()));
        }
        let Ok(track) = js::get(&live, "track").dyn_into::<Function>() else {
            return false;
        };
        track
            .call2(&live, &JsValue::from_str(call.event), &properties)
            .is_ok()
    }

    /// Which Segment the page has, for `diagnose()`: `(flavour, version)`.
    pub(crate) fn describe(&self) -> (&'static str, Option<String>) {
        let Some(live) = self.live() else {
            let current = self.source.current();
            let flavour = match current.is_undefined() || current.is_null() {
                true => "absent",
                false => "blocked",
            };
            return (flavour, None);
        };
        // Classic analytics.js is 3.x/4.x; analytics.js 2.0 is 1.x.
        let version = js::get(&live, "VERSION").as_string();
        let classic = version
            .as_deref()
            .is_some_and(|v| v.starts_with('3') || v.starts_with('4'));
        let flavour = match &self.source {
            Source::Instance(given) if js::is_thenable(given) => "analytics-next (npm)",
            _ if classic => "classic analytics.js",
            Source::Instance(_) => "analytics-next instance",
            Source::Global(_) => "analytics.js 2.0",
        };
        (flavour, version)
    }

    /// Waits for an `AnalyticsBrowser` to resolve to its `[analytics, context]`, once. The
    /// callback is the promise's: it frees itself when called (a promise that never resolves,
    /// Segment's CDN blocked, keeps one small closure).
    fn await_instance(&self, pending: &JsValue) {
        if self.waiting.replace(true) {
            return;
        }
        let (resolved, handler) = (Rc::clone(&self.resolved), self.on_event.borrow().clone());
        let callback = Closure::once_into_js(move |value: JsValue| {
            let instance = match Array::is_array(&value) {
                true => Array::from(&value).get(0),
                false => value,
            };
            *resolved.borrow_mut() = Some(instance);
            if let Some(handler) = &handler {
                (handler.0)(None);
            }
        });
        let promise = Promise::resolve(pending);
        if let Ok(then) = js::get(&promise, "then").dyn_into::<Function>() {
            let _ = then.call1(&promise, &callback);
        }
    }

    /// Looks for a loaded instance now (the global is re-read every time: the snippet's stub
    /// is replaced by the real instance when it loads).
    fn probe(&self) -> Probe {
        let current = self.source.current();
        if is_loaded(&current) {
            *self.live.borrow_mut() = Some(current);
            return Probe::Loaded;
        }
        if js::is_thenable(&current) && js::has_method(&current, "user") {
            let resolved = self.resolved.borrow().clone();
            match resolved {
                Some(instance) if is_loaded(&instance) => {
                    *self.live.borrow_mut() = Some(instance);
                    return Probe::Loaded;
                }
                Some(_) => {}
                None => self.await_instance(&current),
            }
            return Probe::Loading;
        }
        match current.is_undefined() || current.is_null() {
            true => Probe::Absent,
            false => Probe::Loading,
        }
    }

    /// Reads the loaded instance's identity now; `None` when it cannot be read.
    fn read(&self) -> Option<Reading> {
        if let Source::Global(_) = self.source {
            // analytics.js loaded twice, or a stub replaced late: follow the new instance.
            let current = self.source.current();
            let replaced = self
                .live
                .borrow()
                .as_ref()
                .is_some_and(|live| !Object::is(&current, live));
            if replaced && is_loaded(&current) {
                *self.live.borrow_mut() = Some(current);
                if !self.subscriptions.borrow().is_empty() {
                    self.subscribe();
                }
            }
        }
        read_user(&self.live()?, &self.traits)
    }
}

/// True once `analytics` answers `user()` synchronously with Segment's stored identity. A classic
/// instance exists before `initialize()` has loaded the user, with `initialized === false`; an
/// `AnalyticsBrowser` answers `user()` with a Promise.
fn is_loaded(analytics: &JsValue) -> bool {
    if !js::has_method(analytics, "user") || js::get(analytics, "initialized") == JsValue::FALSE {
        return false;
    }
    js::call0(analytics, "user")
        .is_some_and(|user| !js::is_thenable(&user) && js::has_method(&user, "anonymousId"))
}

/// The IDs of a loaded instance and the allowlisted traits of its user, from one `user()`
/// call. Never calls the non-existent `userId()`.
fn read_user(analytics: &JsValue, allow: &[String]) -> Option<Reading> {
    let user = js::call0(analytics, "user")?;
    if js::is_thenable(&user) {
        return None;
    }
    let ids = SegmentIds {
        user_id: js::call0(&user, "id").and_then(|id| id_string(&id)),
        anonymous_id: js::call0(&user, "anonymousId").and_then(|id| id_string(&id)),
    };
    let mut traits = Context::new();
    if !allow.is_empty() {
        let all = js::call0(&user, "traits").unwrap_or(JsValue::UNDEFINED);
        for key in allow {
            // Values of other types are skipped, never stringified: `[object Object]` targets
            // nobody.
            if let Some(value) = primitive(&js::get(&all, key)) {
                traits.insert(key.clone(), value);
            }
        }
    }
    Some(Reading { ids, traits })
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

/// Segment's value of an ID (`identify(42)` makes it a number): `crate::identity` decides what
/// it stands for.
fn id_string(value: &JsValue) -> Option<String> {
    match value.as_string() {
        Some(text) => Some(text),
        None => crate::identity::numeric_id(value.as_f64()?),
    }
}

/// A listener registered with `analytics.on(event, …)`; dropping it calls `analytics.off`.
#[must_use = "dropping a Subscription unsubscribes it"]
#[derive(Debug)]
struct Subscription {
    analytics: JsValue,
    event: &'static str,
    callback: Closure<dyn FnMut()>,
}

impl Subscription {
    /// Subscribes `callback` to `event` on `analytics`; `None` when it has no `on` (classic
    /// analytics.js has `on` but never emits `reset`: the per-request re-read covers that).
    fn new(
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
