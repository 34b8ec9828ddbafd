//! One running instance: the identity read from Segment, the flags decided for it, and the
//! exposures sent for it. Every request is built from `State::identity`, which only a fresh
//! reading of Segment sets, and every answer is applied only if it belongs to the current
//! `generation` (the identity and context it was asked for are still the current ones).

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use wasm_bindgen::JsValue;
use web_sys::AbortController;

use super::delivery::{Delivery, Notice};
use super::earlier_calls::SegmentCallWatch;
use super::events::{dispatch, Event, Listeners};
use super::read_cache::ReadCache;
use super::segment::{self, SegmentSource, Subscription};
use super::storage::Store;
use super::{js, log};
use crate::bucketing::BucketingFile;
use crate::config::{Config, Mode};
use crate::context::Context;
use crate::decision::FlagStore;
use crate::error::Error;
use crate::identity::{ChangeHint, ChangeReason, Identity, SegmentIds};
use crate::status::Status;

/// Where the last good decisions are kept (`flagship-segment:{envId}:decisions`).
pub(super) const CACHE_KEY: &str = "decisions";

/// The mutable part of a session. Never borrowed across an `.await` or a page callback.
#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) status: Status,
    pub(super) last_error: Option<Error>,
    /// The loaded analytics instance, once found; `None` under the storage fallback.
    pub(super) live: Option<JsValue>,
    /// Segment's IDs at the last reading.
    pub(super) ids: Option<SegmentIds>,
    pub(super) identity: Option<Identity>,
    /// Context from options and `updateContext`.
    pub(super) page_context: Context,
    /// Context from allowlisted Segment traits.
    pub(super) traits: Context,
    pub(super) flags: FlagStore,
    /// Campaigns of `flags` (by address) already handed to delivery: later reads of their flags
    /// skip the exposure path without building anything. Cleared with every new `flags`.
    pub(super) exposed: std::collections::HashSet<usize>,
    /// Settled reads of `flags`, mirrored in JS for the render loop. Cleared with every new
    /// `flags`.
    pub(super) read_cache: ReadCache,
    /// The visitor's consent: without it nothing is sent or stored about them but decisions.
    pub(super) consent: bool,
    /// Bumped whenever identity or context change, so an older answer is recognised as stale.
    pub(super) generation: u64,
    pub(super) in_flight: Option<AbortController>,
    /// The last good bucketing file (mode "bucketing"), and its `Last-Modified`.
    pub(super) bucketing: Option<Rc<BucketingFile>>,
    pub(super) last_modified: Option<String>,
    /// Resolvers of [`Session::settled`] promises, called when a decision is applied or fails.
    pub(super) settle_waiters: Vec<js_sys::Function>,
    /// Watching Resource Timing for a call Segment sent before we listened (earlier_calls.rs).
    pub(super) segment_call_watch: Option<SegmentCallWatch>,
    /// Which Segment this is, for `diagnose()`.
    pub(super) segment: segment::SegmentInfo,
    /// Where the IDs came from: "segment", "storage" or "none".
    pub(super) id_source: &'static str,
}

impl State {
    /// Traits first, so that a value the page set explicitly wins.
    pub(super) fn context(&self) -> Context {
        let mut context = self.traits.clone();
        context.extend(
            self.page_context
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        context
    }

    /// Replaces the flags; what was exposed of the old ones no longer says anything.
    pub(super) fn set_flags(&mut self, flags: FlagStore) {
        self.flags = flags;
        self.exposed.clear();
        self.read_cache.clear();
    }

    /// Starts a new generation: answers for the previous one will be ignored, and the request
    /// still in flight for it is aborted.
    pub(super) fn next_generation(&mut self) -> u64 {
        self.generation += 1;
        if let Some(controller) = self.in_flight.take() {
            controller.abort();
        }
        self.generation
    }
}

/// A started module.
#[derive(Debug)]
pub(crate) struct Session {
    pub(super) config: Config,
    pub(super) source: SegmentSource,
    pub(super) delivery: Rc<Delivery>,
    pub(super) store: Store,
    pub(super) state: RefCell<State>,
    pub(super) listeners: RefCell<Listeners>,
    pub(super) subscriptions: RefCell<Vec<Subscription>>,
    pub(super) me: Weak<Session>,
}

impl Session {
    /// Reads the identity from Segment and fetches its decision. Never fails: a problem leaves
    /// the session on defaults with a status and `last_error` saying why.
    pub(crate) async fn start(
        config: Config,
        source: SegmentSource,
        initial_bucketing: Option<String>,
    ) -> Rc<Session> {
        let session = Rc::new_cyclic(|me| Session {
            state: RefCell::new(State {
                page_context: config.context.clone(),
                consent: config.consent,
                ..State::default()
            }),
            delivery: Delivery::new(&config),
            store: Store::new(&config.env_id),
            config,
            source,
            listeners: RefCell::default(),
            subscriptions: RefCell::default(),
            me: me.clone(),
        });
        let me = Rc::downgrade(&session);
        session.delivery.on_notice(move |notice| {
            if let Some(session) = me.upgrade() {
                session.on_delivery_notice(notice);
            }
        });
        // Storage is slow to open in a fresh page: read the stored queues while the decision
        // request is out (this runs at the first await below) rather than before sending it.
        let delivery = Rc::clone(&session.delivery);
        wasm_bindgen_futures::spawn_local(async move { delivery.restore() });
        match segment::connect(&session.source, session.config.segment_timeout_ms).await {
            Ok(live) => {
                {
                    let mut state = session.state.borrow_mut();
                    state.segment = segment::describe_loaded(&session.source, &live);
                    state.id_source = "segment";
                }
                session.attach(live);
                session.sync_identity(ChangeHint::None);
            }
            Err(error) => {
                session.state.borrow_mut().segment = segment::describe_missing(&session.source);
                session.use_stored_ids(error);
            }
        }
        if session.config.mode == Mode::Bucketing {
            session.load_bucketing(initial_bucketing).await;
        }
        session.decide().await;
        // Segment's identity changed while that request was out: its answer was stale, and the
        // decision of the identity Segment reports now is on its way. Resolve with that one.
        // (Without an identity nothing is being decided, and nothing would wake us.)
        while session.deciding() {
            session.settled().await;
        }
        session
    }

    /// True while a decision for the current identity is still to be applied.
    fn deciding(&self) -> bool {
        let state = self.state.borrow();
        state.identity.is_some() && matches!(state.status, Status::Starting | Status::Refreshing)
    }

    /// Resolves at the next decision applied or failed (or at close).
    async fn settled(&self) {
        let waiting = js_sys::Promise::new(&mut |resolve, _| {
            self.state.borrow_mut().settle_waiters.push(resolve);
        });
        let _ = wasm_bindgen_futures::JsFuture::from(waiting).await;
    }

    /// Wakes every [`Session::settled`]: the status has left `STARTING`/`REFRESHING`.
    pub(super) fn notify_settled(&self) {
        let waiters = std::mem::take(&mut self.state.borrow_mut().settle_waiters);
        for resolve in waiters {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    }

    fn on_delivery_notice(&self, notice: Notice) {
        match notice {
            Notice::Held => self.warn_page(
                "HITS_HELD",
                "activations and hits held: Segment has not dispatched anything for this visitor yet",
            ),
            Notice::TrackNeeded(key) if self.identity_key() == Some(key) => {
                let properties = js_sys::Object::new();
                js::set(&properties, "source", &JsValue::from_str(crate::context::SDK_CLIENT));
                self.track_in_segment("Flagship Visitor Seen", &properties.into());
            }
            Notice::TrackNeeded(_) => {}
        }
    }

    /// Logs a warning and tells the page's `warning` listeners.
    pub(crate) fn warn_page(&self, code: &str, message: &str) {
        log::warn(&format!("{code}: {message}"));
        self.emit(Event::Warning, &js::error_object(code, message));
    }

    pub(crate) fn on(&self, event: Event, callback: js_sys::Function) {
        self.listeners.borrow_mut().add(event, callback);
    }

    pub(crate) fn off(&self, event: Event, callback: &js_sys::Function) {
        self.listeners.borrow_mut().remove(event, callback);
    }

    pub(super) fn emit(&self, event: Event, payload: &JsValue) {
        let callbacks = self.listeners.borrow().of(event);
        dispatch(&callbacks, payload);
    }

    /// Like [`Session::emit`], building the payload only when someone listens.
    pub(super) fn emit_with(&self, event: Event, payload: impl FnOnce() -> JsValue) {
        if self.listens(event) {
            self.emit(event, &payload());
        }
    }

    /// True when the page listens to `event`: payloads cost JS strings, built only then.
    pub(super) fn listens(&self, event: Event) -> bool {
        self.listeners.borrow().has(event)
    }

    /// Gives `instance` (the page's handle on this session) the JS read path.
    pub(crate) fn install_read_cache(&self, instance: &JsValue) {
        self.state.borrow().read_cache.install(instance);
    }

    pub(crate) fn status(&self) -> Status {
        self.state.borrow().status
    }

    pub(crate) fn last_error(&self) -> Option<Error> {
        self.state.borrow().last_error.clone()
    }

    pub(crate) fn visitor_id(&self) -> Option<String> {
        self.state
            .borrow()
            .identity
            .as_ref()
            .map(|i| i.visitor_id().to_owned())
    }

    pub(crate) fn anonymous_id(&self) -> Option<String> {
        let state = self.state.borrow();
        state.identity.as_ref()?.anonymous_id().map(str::to_owned)
    }

    /// Every non-null flag as a plain object, without exposure.
    pub(crate) fn flags_snapshot(&self) -> JsValue {
        let state = self.state.borrow();
        let object = js_sys::Object::new();
        for (key, value) in state.flags.values() {
            js::set_data(&object, key, &js::to_js(value));
        }
        object.into()
    }

    /// Stops listening and deciding at once; later reads return defaults. What is queued is
    /// then sent, and the returned future ends when that is done.
    pub(crate) fn close(&self) -> impl std::future::Future<Output = ()> {
        {
            let mut state = self.state.borrow_mut();
            state.status = Status::Closed;
            state.segment_call_watch = None;
            state.set_flags(FlagStore::default());
            state.next_generation();
        }
        self.subscriptions.borrow_mut().clear();
        self.listeners.borrow_mut().clear();
        self.notify_settled();
        let delivery = Rc::clone(&self.delivery);
        async move {
            delivery.flush().await;
            delivery.close();
        }
    }
}

/// `{visitorId, anonymousId, reason}` for `change` listeners.
pub(super) fn change_payload(state: &State, reason: ChangeReason) -> JsValue {
    let object = js_sys::Object::new();
    let id = |s: Option<&str>| s.map_or(JsValue::NULL, JsValue::from_str);
    let identity = state.identity.as_ref();
    js::set(
        &object,
        "visitorId",
        &id(identity.map(Identity::visitor_id)),
    );
    js::set(
        &object,
        "anonymousId",
        &id(identity.and_then(Identity::anonymous_id)),
    );
    js::set(&object, "reason", &JsValue::from_str(reason.as_str()));
    object.into()
}
