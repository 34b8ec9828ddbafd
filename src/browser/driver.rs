//! The driver: one started module in the page. It owns the [`Engine`] and executes what it
//! polls (requests, one timer, storage, Segment calls, page events), feeding every answer and
//! event back with the time of day. No rule lives here: each branch of [`Driver::execute`]
//! performs one effect.

use alloc::rc::{Rc, Weak};
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};

use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;

use super::bucketing_engine::{self, BucketingEngine};
use super::earlier_calls::SegmentCallWatch;
use super::events::{dispatch, Event, Listeners};
use super::fetch::{self, InFlight};
use super::listener::PageListener;
use super::read_cache::ReadCache;
use super::segment::{Handler, Segment};
use super::storage::Store;
use super::timer::Timeout;
use super::{js, log};
use crate::config::{Config, LogLevel};
use crate::engine::{
    Answer, Effect, Engine, PageEvent, Preloaded, SegmentEvent, StoredState, Token,
};
use crate::error::Error;
use crate::wire::Request;

/// Milliseconds since the epoch: the engine's clock.
pub(crate) fn now() -> f64 {
    js_sys::Date::now()
}

/// A started module and the browser resources it holds.
#[derive(Debug)]
pub(crate) struct Driver {
    engine: RefCell<Engine>,
    segment: RefCell<Segment>,
    store: Store,
    log_level: LogLevel,
    /// The one timer, armed for the engine's next deadline.
    timer: RefCell<Option<(f64, Timeout)>>,
    /// Requests in flight, which the engine may abort.
    requests: RefCell<Vec<(Token, InFlight)>>,
    /// The page's `on(…)` listeners.
    listeners: RefCell<Listeners>,
    /// Warnings raised before the first `warning` listener was added, for it; `None` after.
    unheard_warnings: RefCell<Option<Vec<(&'static str, alloc::string::String)>>>,
    /// Settled primitive reads, answered in JS (read_cache.rs).
    read_cache: ReadCache,
    /// `pagehide`, `visibilitychange`, `online`, `storage`.
    page_listeners: RefCell<Vec<PageListener>>,
    /// Resolvers of promises waiting for a decision (`start`, `updateContext`).
    settle_waiters: RefCell<Vec<Function>>,
    /// Resolvers of promises waiting for a flush (`flush`, `close`), with its ID.
    flush_waiters: RefCell<Vec<(u32, Function)>>,
    /// Flushes done before their promise was made (nothing could leave: done at once).
    flushes_done: RefCell<Vec<u32>>,
    /// The flush of `close()`, after which the driver lets go of the page.
    close_flush: Cell<Option<u32>>,
    watch: RefCell<Option<SegmentCallWatch>>,
    bucketing: RefCell<Option<BucketingEngine>>,
    /// An effect pump is running: effects pushed meanwhile are taken by it, in order.
    pumping: Cell<bool>,
    me: Weak<Driver>,
}

/// Most warnings kept for the first `warning` listener.
const MAX_UNHEARD_WARNINGS: usize = 16;

impl Driver {
    /// Starts a module for `config` with Segment read from `segment`.
    pub(crate) fn start(config: Config, segment: Segment, preloaded: Preloaded) -> Rc<Driver> {
        let seed = (js_sys::Math::random() * 9.007_199_254_740_991e15) as u64;
        let driver = Rc::new_cyclic(|me: &Weak<Driver>| Driver {
            store: Store::new(&config.env_id),
            log_level: config.log_level,
            engine: RefCell::new(Engine::new(config, seed)),
            segment: RefCell::new(segment),
            timer: RefCell::default(),
            requests: RefCell::default(),
            listeners: RefCell::default(),
            unheard_warnings: RefCell::new(Some(Vec::new())),
            read_cache: ReadCache::default(),
            page_listeners: RefCell::default(),
            settle_waiters: RefCell::default(),
            flush_waiters: RefCell::default(),
            flushes_done: RefCell::default(),
            close_flush: Cell::new(None),
            watch: RefCell::default(),
            bucketing: RefCell::default(),
            pumping: Cell::new(false),
            me: me.clone(),
        });
        let me = driver.me.clone();
        driver.segment.borrow_mut().on_event(Handler(Rc::new(
            move |event: Option<SegmentEvent>| {
                if let Some(driver) = me.upgrade() {
                    driver.run(|engine, segment| match event {
                        Some(event) => engine.handle_segment_event(now(), event, segment),
                        None => engine.handle_segment_ready(now(), segment),
                    });
                }
            },
        )));
        driver.listen_to_the_page();
        driver.run(|engine, segment| engine.start(now(), preloaded, segment, &driver.store));
        driver
    }

    /// Runs `f` on the engine and then performs what it asked for. `None` when the engine is
    /// busy (a page callback calling back into the module from inside an engine call): the
    /// caller answers with its default rather than throwing into the page.
    pub(crate) fn run<R>(&self, f: impl FnOnce(&mut Engine, &mut Segment) -> R) -> Option<R> {
        let result = {
            let mut engine = self.engine.try_borrow_mut().ok()?;
            let mut segment = self.segment.try_borrow_mut().ok()?;
            f(&mut engine, &mut segment)
        };
        self.pump();
        Some(result)
    }

    /// Reads the engine without changing it; `None` when it is busy.
    pub(crate) fn peek<R>(&self, f: impl FnOnce(&Engine) -> R) -> Option<R> {
        Some(f(&*self.engine.try_borrow().ok()?))
    }

    /// The page's handle's JS read path.
    pub(crate) fn read_cache(&self) -> &ReadCache {
        &self.read_cache
    }

    /// Which Segment the page has, for `diagnose()`.
    pub(crate) fn describe_segment(&self) -> (&'static str, Option<alloc::string::String>) {
        self.segment
            .try_borrow()
            .map_or(("unknown", None), |segment| segment.describe())
    }

    /// Adds a page listener. The first `warning` listener also hears, at once, the warnings
    /// raised before any was added: a page can only listen once `start()` has resolved, and
    /// `start()`'s own warnings (a refused `initialDecision`, a failed decision) would be lost.
    pub(crate) fn on(&self, event: Event, callback: Function) {
        self.listeners.borrow_mut().add(event, callback.clone());
        if event == Event::Warning {
            let unheard = self.unheard_warnings.borrow_mut().take();
            for (code, message) in unheard.unwrap_or_default() {
                let payload = js::error_object(code, &message);
                dispatch(core::slice::from_ref(&callback), &payload, self.log_level);
            }
        }
    }

    /// Removes a page listener.
    pub(crate) fn off(&self, event: Event, callback: &Function) {
        self.listeners.borrow_mut().remove(event, callback);
    }

    /// A promise that resolves once nothing is being decided (at once if nothing is).
    pub(crate) fn settled(&self) -> Promise {
        let deciding = self.peek(Engine::is_deciding).unwrap_or(false);
        let mut resolver = None;
        let promise = Promise::new(&mut |resolve, _| resolver = Some(resolve));
        if let Some(resolve) = resolver {
            match deciding {
                true => self.settle_waiters.borrow_mut().push(resolve),
                false => {
                    let _ = resolve.call0(&JsValue::UNDEFINED);
                }
            }
        }
        promise
    }

    /// A promise that resolves when the flush `id` is done (at once if it is already).
    pub(crate) fn flushed(&self, id: Option<u32>) -> Promise {
        let mut resolver = None;
        let promise = Promise::new(&mut |resolve, _| resolver = Some(resolve));
        let (Some(resolve), Some(id)) = (resolver, id) else {
            return promise;
        };
        let mut done = self.flushes_done.borrow_mut();
        match done.iter().position(|d| *d == id) {
            Some(at) => {
                done.remove(at);
                let _ = resolve.call0(&JsValue::UNDEFINED);
            }
            None => self.flush_waiters.borrow_mut().push((id, resolve)),
        }
        promise
    }

    /// `close()`: stops the module; the promise resolves once what was queued has been sent.
    pub(crate) fn close(&self) -> Promise {
        self.listeners.borrow_mut().clear();
        let id = self.run(|engine, _| engine.close(now()));
        self.close_flush.set(id);
        self.flushed(id)
    }

    /// Takes the next effects, in order, until there are none; then arms the timer.
    fn pump(&self) {
        if self.pumping.replace(true) {
            return;
        }
        loop {
            let effect = match self.engine.try_borrow_mut() {
                Ok(mut engine) => engine.poll_effect(),
                Err(_) => None,
            };
            let Some(effect) = effect else { break };
            self.execute(effect);
        }
        self.pumping.set(false);
        self.arm_timer();
    }

    /// Performs one effect.
    fn execute(&self, effect: Effect) {
        match effect {
            Effect::Send { token, request } => self.send(token, request),
            Effect::Abort(token) => {
                let mut requests = self.requests.borrow_mut();
                if let Some(at) = requests.iter().position(|(t, _)| *t == token) {
                    requests.remove(at).1.abort();
                }
            }
            Effect::Store { name, value } => {
                if !self.store.write(&name, value.as_deref()) {
                    self.run(|engine, _| engine.handle_storage_refused());
                }
            }
            Effect::Restore => {
                self.run(|engine, _| engine.handle_restore(now(), &self.store));
            }
            Effect::Emit(event) => self.emit(event),
            Effect::FlagsReplaced => self.read_cache.clear(),
            Effect::Subscribe => self.segment.borrow_mut().subscribe(),
            Effect::Unsubscribe => self.segment.borrow_mut().unsubscribe(),
            Effect::WatchSegmentCalls => {
                let live = self.segment.borrow().live().cloned();
                let me = self.me.clone();
                let watch = live.and_then(|live| {
                    SegmentCallWatch::new(&live, move || {
                        if let Some(driver) = me.upgrade() {
                            driver.run(|engine, _| engine.handle_segment_call_seen(now()));
                        }
                    })
                });
                *self.watch.borrow_mut() = watch;
            }
            Effect::StopWatching => *self.watch.borrow_mut() = None,
            Effect::TrackInSegment(call) => {
                if !self.segment.borrow().track(&call) {
                    log::warn(
                        self.log_level,
                        "SEGMENT_TRACK_FAILED",
                        "analytics.track threw",
                    );
                }
            }
            Effect::LoadBucketingEngine(url) => self.load_bucketing_engine(url),
            Effect::LoadBucketingFile(text) => {
                let loaded = match self.bucketing.borrow().as_ref() {
                    Some(engine) => engine.load_file(&text),
                    None => Err(Error::BucketingFetch("bucketing engine not loaded".into())),
                };
                self.run(|engine, _| engine.handle_bucketing_file(now(), loaded));
            }
            Effect::DecideLocally {
                token,
                visitor_id,
                context,
            } => {
                let body = self
                    .bucketing
                    .borrow()
                    .as_ref()
                    .and_then(|engine| engine.decide(&visitor_id, &context))
                    .unwrap_or_default();
                self.run(|engine, segment| {
                    engine.handle_local_decision(now(), token, body, segment)
                });
            }
            Effect::Settled => {
                let waiters = core::mem::take(&mut *self.settle_waiters.borrow_mut());
                for resolve in waiters {
                    let _ = resolve.call0(&JsValue::UNDEFINED);
                }
            }
            Effect::Flushed(id) => {
                let done: Vec<Function> = {
                    let mut waiters = self.flush_waiters.borrow_mut();
                    let mut done = Vec::new();
                    waiters.retain(|(waiting, resolve)| {
                        let finished = *waiting == id;
                        if finished {
                            done.push(resolve.clone());
                        }
                        !finished
                    });
                    done
                };
                if self.close_flush.get() == Some(id) {
                    self.let_go();
                }
                if done.is_empty() {
                    self.flushes_done.borrow_mut().push(id);
                }
                for resolve in done {
                    let _ = resolve.call0(&JsValue::UNDEFINED);
                }
            }
            Effect::Log { level, line } => log::write(level, &line),
        }
    }

    /// After `close()`: page listeners, the timer and the watch go; requests already sent
    /// finish on their own.
    fn let_go(&self) {
        self.page_listeners.borrow_mut().clear();
        *self.watch.borrow_mut() = None;
        *self.bucketing.borrow_mut() = None;
        self.settle_waiters.borrow_mut().clear();
    }

    /// Sends `request`; its answer goes back to the engine with `token`.
    fn send(&self, token: Token, request: Request) {
        let me = self.me.clone();
        let in_flight = fetch::send(request, move |answer| {
            if let Some(driver) = me.upgrade() {
                driver.on_answer(token, answer);
            }
        });
        self.requests.borrow_mut().push((token, in_flight));
    }

    fn on_answer(&self, token: Token, answer: Answer) {
        self.requests.borrow_mut().retain(|(t, _)| *t != token);
        self.run(|engine, segment| engine.handle_response(now(), token, answer, segment));
    }

    /// Keeps the one timer armed for the engine's next deadline.
    fn arm_timer(&self) {
        let next = self.peek(Engine::poll_timeout).flatten();
        let mut timer = self.timer.borrow_mut();
        match next {
            None => *timer = None,
            Some(at) if timer.as_ref().is_some_and(|(armed, _)| *armed == at) => {}
            Some(at) => {
                let me = self.me.clone();
                *timer = Timeout::new(at - now(), move || {
                    if let Some(driver) = me.upgrade() {
                        driver.on_timer();
                    }
                })
                .map(|timeout| (at, timeout));
            }
        }
    }

    fn on_timer(&self) {
        // The fired timer is spent: forget it, so that the next deadline arms a new one even
        // if it is the same instant.
        let _spent = self.timer.borrow_mut().take();
        self.run(|engine, segment| engine.handle_timeout(now(), segment));
    }

    fn load_bucketing_engine(&self, url: Option<alloc::string::String>) {
        let me = self.me.clone();
        bucketing_engine::load_engine(url.as_deref(), move |loaded| {
            let Some(driver) = me.upgrade() else { return };
            let result = loaded.map(|engine| *driver.bucketing.borrow_mut() = Some(engine));
            driver.run(|engine, _| engine.handle_bucketing_engine(now(), result));
        });
    }

    /// Tells the page's listeners; a payload is built only when someone listens.
    fn emit(&self, event: PageEvent) {
        let kind = match &event {
            PageEvent::Change { .. } => Event::Change,
            PageEvent::Flags => Event::Flags,
            PageEvent::Warning { .. } => Event::Warning,
        };
        let callbacks = self.listeners.borrow().of(kind);
        if callbacks.is_empty() {
            if let (PageEvent::Warning { code, message }, Some(unheard)) =
                (&event, self.unheard_warnings.borrow_mut().as_mut())
            {
                if unheard.len() < MAX_UNHEARD_WARNINGS {
                    unheard.push((code, message.clone()));
                }
            }
            return;
        }
        let payload = match event {
            PageEvent::Change {
                reason,
                visitor_id,
                anonymous_id,
            } => {
                let object = js_sys::Object::new();
                js::set(&object, "visitorId", &js::text(visitor_id.as_deref()));
                js::set(&object, "anonymousId", &js::text(anonymous_id.as_deref()));
                js::set(&object, "reason", &JsValue::from_str(reason.as_str()));
                object.into()
            }
            PageEvent::Flags => self
                .peek(|engine| js::flags_object(engine.flags()))
                .unwrap_or(JsValue::NULL),
            PageEvent::Warning { code, message } => js::error_object(code, &message),
        };
        dispatch(&callbacks, &payload, self.log_level);
    }

    /// `pagehide`, and `visibilitychange` to hidden (a page may be frozen without unloading),
    /// hand what is queued to keepalive requests; `online` retries what waits for a backoff;
    /// `storage` brings a rate limit another tab was given.
    fn listen_to_the_page(&self) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let document: Option<web_sys::EventTarget> = window.document().map(Into::into);
        let window: web_sys::EventTarget = window.into();
        let mut listeners = Vec::new();
        let mut add = |target: &web_sys::EventTarget, name: &'static str, act: fn(&Driver)| {
            let me = self.me.clone();
            listeners.extend(PageListener::new(target, name, move || {
                if let Some(driver) = me.upgrade() {
                    act(&driver);
                }
            }));
        };
        add(&window, "pagehide", |d| {
            d.run(|engine, _| engine.handle_unload(now()));
        });
        if let Some(document) = &document {
            add(document, "visibilitychange", |d| {
                let document = js::get(&js_sys::global(), "document");
                if js::get(&document, "visibilityState").as_string().as_deref() == Some("hidden") {
                    d.run(|engine, _| engine.handle_unload(now()));
                }
            });
        }
        add(&window, "online", |d| {
            d.run(|engine, _| engine.handle_online(now()));
        });
        // Another tab or page of the site wrote localStorage: it may have been rate limited.
        add(&window, "storage", |d| {
            let until = d.store.get(crate::decision::rate_limit::NOT_BEFORE_KEY);
            d.run(|engine, _| engine.handle_stored_rate_limit(now(), until.as_deref()));
        });
        *self.page_listeners.borrow_mut() = listeners;
    }
}

impl Drop for Driver {
    /// The page let go of the module: what was due to be stored at the next timer is stored
    /// now (no timer will fire for it); nothing else is done.
    fn drop(&mut self) {
        let engine = self.engine.get_mut();
        engine.write_pending(now());
        while let Some(effect) = engine.poll_effect() {
            if let Effect::Store { name, value } = effect {
                self.store.write(&name, value.as_deref());
            }
        }
    }
}
