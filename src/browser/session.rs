//! One running instance: the identity read from Segment, the flags decided for it, and the
//! exposures sent for it. Every request is built from `State::identity`, which only a fresh
//! reading of Segment sets, and every answer is applied only if it belongs to the current
//! `generation` (the identity and context it was asked for are still the current ones).

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use wasm_bindgen::JsValue;
use web_sys::AbortController;

use super::bucketing_file::{self, Fetched};
use super::delivery::{Delivery, Notice};
use super::events::{dispatch, Event, Listeners};
use super::http::{self, SendError};
use super::segment::{self, SegmentSource, Subscription};
use super::storage::Store;
use super::timer::now_ms;
use super::timer::sleep;
use super::{js, log, stored_ids};
use crate::bucketing::{self, parse_bucketing, BucketingFile};
use crate::config::{Config, Fallback, Mode};
use crate::context::{full_context, Context};
use crate::decision::cache::DecisionCache;
use crate::decision::{campaigns_request, interpret_campaigns_response, Decision, FlagStore};

/// Where the last good decisions are kept (`flagship-segment:{envId}:decisions`).
const CACHE_KEY: &str = "decisions";
use crate::error::Error;
use crate::identity::{classify, redact, resolve, ChangeHint, ChangeReason, Identity, SegmentIds};
use crate::status::Status;
use crate::tracking::gate::IdentityKey;

/// The mutable part of a session. Never borrowed across an `.await` or a page callback.
#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) status: Status,
    pub(super) last_error: Option<Error>,
    /// The loaded analytics instance, once found; `None` under the storage fallback.
    live: Option<JsValue>,
    /// Segment's IDs at the last reading.
    ids: Option<SegmentIds>,
    pub(super) identity: Option<Identity>,
    /// Context from options and `updateContext`.
    page_context: Context,
    /// Context from allowlisted Segment traits.
    traits: Context,
    pub(super) flags: FlagStore,
    /// The visitor's consent: without it nothing is sent or stored about them but decisions.
    pub(super) consent: bool,
    /// Bumped whenever identity or context change, so an older answer is recognised as stale.
    generation: u64,
    in_flight: Option<AbortController>,
    /// The last good bucketing file (mode "bucketing"), and its `Last-Modified`.
    bucketing: Option<Rc<BucketingFile>>,
    last_modified: Option<String>,
    /// Which Segment this is, for `diagnose()`.
    pub(super) segment: segment::SegmentInfo,
    /// Where the IDs came from: "segment", "storage" or "none".
    pub(super) id_source: &'static str,
}

impl State {
    /// Traits first, so that a value the page set explicitly wins.
    fn context(&self) -> Context {
        let mut context = self.traits.clone();
        context.extend(
            self.page_context
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        context
    }

    /// Starts a new generation: answers for the previous one will be ignored, and the request
    /// still in flight for it is aborted.
    fn next_generation(&mut self) -> u64 {
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
    source: SegmentSource,
    pub(super) delivery: Rc<Delivery>,
    store: Store,
    pub(super) state: RefCell<State>,
    listeners: RefCell<Listeners>,
    subscriptions: RefCell<Vec<Subscription>>,
    me: Weak<Session>,
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
        session
    }

    /// Takes the page's file if it gave one (no request before the first decision), else
    /// fetches it; then keeps it fresh if polling is on.
    async fn load_bucketing(&self, initial: Option<String>) {
        let from_page = initial.map(|text| parse_bucketing(&text));
        match from_page {
            Some(Ok(file)) => self.state.borrow_mut().bucketing = Some(Rc::new(file)),
            Some(Err(error)) => {
                log::warn(&format!(
                    "initialBucketing refused ({}); fetching the file",
                    error
                ));
                self.refresh_bucketing().await;
            }
            None => {
                self.refresh_bucketing().await;
            }
        }
        self.start_polling();
    }

    /// Fetches the bucketing file once; true when a new file was adopted.
    async fn refresh_bucketing(&self) -> bool {
        let last_modified = self.state.borrow().last_modified.clone();
        match bucketing_file::fetch(&self.config, last_modified.as_deref()).await {
            Fetched::Updated(file, last_modified) => {
                let mut state = self.state.borrow_mut();
                state.bucketing = Some(Rc::new(file));
                state.last_modified = last_modified;
                true
            }
            Fetched::NotModified => false,
            Fetched::Failed(error) => {
                // The last good file stays in use; without one, decide() reports the error.
                log::warn(&format!(
                    "{}: {}; keeping the last good bucketing file",
                    error.code(),
                    error
                ));
                self.state.borrow_mut().last_error = Some(error);
                false
            }
        }
    }

    fn start_polling(&self) {
        let interval = self.config.polling_interval_ms;
        if interval == 0 {
            return;
        }
        let me = self.me.clone();
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                sleep(interval).await;
                let Some(session) = me.upgrade() else { return };
                if session.status() == Status::Closed {
                    return;
                }
                if session.refresh_bucketing().await {
                    session.state.borrow_mut().next_generation();
                    session.decide().await;
                }
            }
        });
    }

    /// Under `fallback: "storage"`, adopts the IDs Segment stored; otherwise records `error`.
    fn use_stored_ids(&self, error: Error) {
        let stored = stored_ids::read();
        if self.config.fallback != Fallback::Storage || stored == SegmentIds::default() {
            return self.fail(error);
        }
        log::info("segment unavailable; using the IDs segment stored");
        self.state.borrow_mut().id_source = "storage";
        self.switch_to(stored, Context::new(), ChangeHint::None);
    }

    /// Keeps `live` as the instance to read, and listens to its identity events.
    fn attach(&self, live: JsValue) {
        let subscribe = |event: &'static str, hint: Option<ChangeHint>| {
            let me = self.me.clone();
            Subscription::new(&live, event, move || {
                if let Some(session) = me.upgrade() {
                    if let Some(hint) = hint {
                        session.on_segment_event(hint);
                    }
                    if event != "reset" {
                        session.on_dispatched();
                    }
                }
            })
        };
        // identify and reset change who the visitor is; page and track (and identify) tell that
        // Segment has dispatched a call for the current visitor, which opens the gate.
        let subscriptions: Vec<_> = [
            ("identify", Some(ChangeHint::Identify)),
            ("reset", Some(ChangeHint::Reset)),
            ("page", None),
            ("track", None),
        ]
        .into_iter()
        .filter_map(|(event, hint)| subscribe(event, hint))
        .collect();
        *self.subscriptions.borrow_mut() = subscriptions;
        self.state.borrow_mut().live = Some(live);
    }

    /// The loaded instance to read now. A global that was replaced by another loaded instance
    /// (analytics.js loaded twice, or a stub replaced late) is adopted and re-subscribed.
    fn live_instance(&self) -> Option<JsValue> {
        let held = self.state.borrow().live.clone()?;
        if let SegmentSource::Global(_) = self.source {
            let current = self.source.current();
            if !js_sys::Object::is(&current, &held) && segment::is_loaded(&current) {
                log::info("segment instance replaced; following the new one");
                self.attach(current.clone());
                return Some(current);
            }
        }
        Some(held)
    }

    /// The loaded analytics instance, if Segment was reached.
    pub(crate) fn live(&self) -> Option<JsValue> {
        self.state.borrow().live.clone()
    }

    /// Segment emitted a dispatched call: the visitor it carried is now known to Segment.
    pub(crate) fn on_dispatched(&self) {
        if self.sync_identity(ChangeHint::None) {
            self.spawn_decide();
        }
        if let Some(key) = self.identity_key() {
            self.delivery.mark_seen(key);
        }
    }

    /// The gate's key of the current identity.
    pub(crate) fn identity_key(&self) -> Option<IdentityKey> {
        let state = self.state.borrow();
        let identity = state.identity.as_ref()?;
        Some(IdentityKey::new(
            identity.visitor_id(),
            identity.anonymous_id(),
        ))
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
        let payload = js_sys::Object::new();
        js::set(&payload, "code", &JsValue::from_str(code));
        js::set(&payload, "message", &JsValue::from_str(message));
        self.emit(Event::Warning, &payload.into());
    }

    /// Called by Segment's `identify`/`reset` events and by the plugin's `identify` hook.
    pub(crate) fn on_segment_event(&self, hint: ChangeHint) {
        if self.sync_identity(hint) {
            self.spawn_decide();
        }
    }

    /// Re-reads Segment's IDs and allowlisted traits; true when that changed the identity or
    /// context, in which case a decision must be fetched.
    pub(crate) fn sync_identity(&self, hint: ChangeHint) -> bool {
        if self.status() == Status::Closed {
            return false;
        }
        let Some(live) = self.live_instance() else {
            return false;
        };
        let Some(ids) = segment::read_ids(&live) else {
            return false;
        };
        let mut skipped = Vec::new();
        let traits = segment::read_traits(&live, &self.config.traits, &mut skipped);
        for key in skipped {
            log::debug(&format!(
                "trait `{key}` is not a string, number or boolean; not sent"
            ));
        }
        self.switch_to(ids, traits, hint)
    }

    /// Adopts a reading of Segment. Returns true when a decision must be fetched.
    fn switch_to(&self, ids: SegmentIds, traits: Context, hint: ChangeHint) -> bool {
        let event = {
            let mut state = self.state.borrow_mut();
            let before = state.ids.replace(ids.clone());
            let context_changed = state.traits != traits;
            state.traits = traits;
            let first = before.is_none();
            let reason = before.as_ref().and_then(|b| classify(b, &ids, hint));
            match resolve(&ids, self.config.id_policy) {
                Err(error) => {
                    let was = state.identity.take();
                    state.next_generation();
                    state.flags = FlagStore::default();
                    drop(state);
                    if first || was.is_some() {
                        self.fail(error);
                    }
                    return false;
                }
                Ok(identity) => {
                    let identity_changed = state.identity.as_ref() != Some(&identity);
                    if !first && !identity_changed && !context_changed {
                        return false;
                    }
                    state.identity = Some(identity);
                    state.next_generation();
                    if first {
                        return true;
                    }
                    if identity_changed {
                        log::info(&format!(
                            "segment identity changed ({})",
                            reason.map_or("id", ChangeReason::as_str)
                        ));
                        if !self.config.keep_flags_during_refresh {
                            state.flags = FlagStore::default();
                        }
                    }
                    state.status = Status::Refreshing;
                    let reason = if identity_changed {
                        reason.unwrap_or(ChangeReason::Identify)
                    } else {
                        ChangeReason::Refresh
                    };
                    change_payload(&state, reason)
                }
            }
        };
        self.emit(Event::Change, &event);
        true
    }

    /// Merges `context` into the page context; true when that changed what is sent.
    pub(crate) fn update_context(&self, context: Context) -> bool {
        let payload = {
            let mut state = self.state.borrow_mut();
            let before = state.context();
            state.page_context.extend(context);
            if state.context() == before
                || state.identity.is_none()
                || state.status == Status::Closed
            {
                return false;
            }
            state.next_generation();
            state.status = Status::Refreshing;
            change_payload(&state, ChangeReason::Refresh)
        };
        self.emit(Event::Change, &payload);
        true
    }

    pub(crate) fn spawn_decide(&self) {
        if let Some(session) = self.me.upgrade() {
            wasm_bindgen_futures::spawn_local(async move { session.decide().await });
        }
    }

    /// Fetches the decision of the current generation and applies it if it is still current.
    pub(crate) async fn decide(&self) {
        let (identity, context, generation, controller) = {
            let mut state = self.state.borrow_mut();
            let Some(identity) = state.identity.clone() else {
                return;
            };
            if state.status == Status::Closed {
                return;
            }
            let controller = AbortController::new().ok();
            state.in_flight = controller.clone();
            (identity, state.context(), state.generation, controller)
        };
        log::debug(&format!(
            "deciding for visitor {}",
            redact(identity.visitor_id())
        ));
        let answer = match self.config.mode {
            Mode::Api => self.fetch_decision(&identity, &context, controller).await,
            Mode::Bucketing => self.local_decision(&identity, &context),
        };
        if self.state.borrow().generation != generation {
            // Whoever moved to a new generation started that generation's decision.
            log::debug("decision for a previous identity or context discarded");
            return;
        }
        // Segment may have changed with no event (setAnonymousId) while the request was out.
        if self.sync_identity(ChangeHint::None) {
            log::debug("segment identity changed during the request; deciding again");
            return self.spawn_decide();
        }
        self.state.borrow_mut().in_flight = None;
        match answer {
            Ok((decision, cached)) => {
                if decision.skipped_campaigns > 0 {
                    log::warn(&format!(
                        "{} malformed campaign(s) ignored",
                        decision.skipped_campaigns
                    ));
                }
                log::info(&format!(
                    "{} campaign(s) for visitor {}{}",
                    decision.campaigns.len(),
                    redact(identity.visitor_id()),
                    if decision.panic { " (panic mode)" } else { "" }
                ));
                {
                    let mut state = self.state.borrow_mut();
                    state.status = match (decision.panic, cached) {
                        (true, _) => Status::Panic,
                        (false, true) => Status::Cached,
                        (false, false) => Status::Ready,
                    };
                    if !cached {
                        state.last_error = None;
                    }
                    state.flags = FlagStore::new(decision);
                }
                self.emit(Event::Flags, &self.flags_snapshot());
            }
            Err(error) => {
                self.state.borrow_mut().flags = FlagStore::default();
                self.fail(error);
            }
        }
    }

    /// Asks the Decision API. A good answer is kept for this identity; when the API fails, the
    /// answer kept for exactly this identity is used instead (`true`: from the cache).
    async fn fetch_decision(
        &self,
        identity: &Identity,
        context: &Context,
        controller: Option<AbortController>,
    ) -> Result<(Decision, bool), Error> {
        let consent = self.state.borrow().consent;
        let request = campaigns_request(&self.config, identity, context, consent);
        let failure = match http::post(&request, self.config.timeout_ms, false, controller).await {
            Ok(response) => {
                match interpret_campaigns_response(identity, response.status, &response.body) {
                    Ok(decision) => {
                        self.cache_decision(identity, &response.body);
                        return Ok((decision, false));
                    }
                    Err(error) => error,
                }
            }
            Err(SendError::Timeout) => Error::DecisionTimeout(self.config.timeout_ms),
            Err(SendError::Network(message)) => Error::DecisionNetwork(message),
        };
        let cached = self
            .load_cache()
            .lookup(identity, now_ms())
            .and_then(|body| interpret_campaigns_response(identity, 200, body).ok());
        match cached {
            Some(decision) => {
                log::warn(&format!(
                    "{}: {}; serving this visitor's cached decision",
                    failure.code(),
                    failure
                ));
                self.state.borrow_mut().last_error = Some(failure);
                Ok((decision, true))
            }
            None => Err(failure),
        }
    }

    fn load_cache(&self) -> DecisionCache {
        match self
            .store
            .get(CACHE_KEY)
            .map(|text: String| DecisionCache::decode(&text))
        {
            Some(Ok(cache)) => cache,
            Some(Err(reason)) => {
                log::warn(&format!("stored decisions discarded: {reason}"));
                self.store.remove(CACHE_KEY);
                DecisionCache::default()
            }
            None => DecisionCache::default(),
        }
    }

    fn cache_decision(&self, identity: &Identity, body: &str) {
        let mut cache = self.load_cache();
        cache.store(identity, body, now_ms());
        if self.store.set(CACHE_KEY, &cache.encode()).is_err() {
            log::debug("decision cache not stored (storage full or disabled)");
        }
    }

    /// Decides from the bucketing file: the same answer the Decision API would give, no request.
    fn local_decision(
        &self,
        identity: &Identity,
        context: &Context,
    ) -> Result<(Decision, bool), Error> {
        let file = self.state.borrow().bucketing.clone();
        let Some(file) = file else {
            let error = self.state.borrow().last_error.clone();
            return Err(error.unwrap_or_else(|| Error::BucketingFetch("no bucketing file".into())));
        };
        let visitor = identity.visitor_id();
        let decision = bucketing::decide(&file, visitor, &full_context(context, visitor));
        Ok((decision, false))
    }

    fn fail(&self, error: Error) {
        let status = Status::after(&error);
        self.warn_page(error.code(), &error.to_string());
        let mut state = self.state.borrow_mut();
        state.status = status;
        state.last_error = Some(error);
    }

    pub(crate) fn on(&self, event: Event, callback: js_sys::Function) {
        self.listeners.borrow_mut().add(event, callback);
    }

    pub(crate) fn off(&self, event: Event, callback: &js_sys::Function) {
        self.listeners.borrow_mut().remove(event, callback);
    }

    fn emit(&self, event: Event, payload: &JsValue) {
        let callbacks = self.listeners.borrow().of(event);
        dispatch(&callbacks, payload);
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
            js::set(&object, key, &js::to_js(value));
        }
        object.into()
    }

    /// Stops listening and deciding at once; later reads return defaults. What is queued is
    /// then sent, and the returned future ends when that is done.
    pub(crate) fn close(&self) -> impl std::future::Future<Output = ()> {
        {
            let mut state = self.state.borrow_mut();
            state.status = Status::Closed;
            state.flags = FlagStore::default();
            state.next_generation();
        }
        self.subscriptions.borrow_mut().clear();
        self.listeners.borrow_mut().clear();
        let delivery = Rc::clone(&self.delivery);
        async move {
            delivery.flush().await;
            delivery.close();
        }
    }
}

/// `{visitorId, anonymousId, reason}` for `change` listeners.
fn change_payload(state: &State, reason: ChangeReason) -> JsValue {
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
