//! The driver: one started module in the page. It owns the [`Engine`] and executes what it
//! polls (requests, one timer, storage, Segment calls, page events), feeding every answer and
//! event back with the time. No rule lives here: each branch of [`Driver::execute`] performs one
//! effect, each branch of [`Driver::dispatch`] hands one input over.
//!
//! Nothing that arrives is dropped, and nothing is borrowed while page code runs: what the page,
//! the network, the timer or analytics.js delivers goes into an inbox, handled in order by one
//! loop that alternates the engine's effects and the inbox; Segment is read before each engine
//! call and the reading handed in (see [`Segment::snapshot`]), so the engine never runs page
//! code; and effects that call page code (listeners, `analytics.track`, `analytics.on`) run
//! with the engine released. A classic analytics.js that emits `track` from inside `track()`,
//! or a listener that calls back into the module, finds everything free or queues its input.

use alloc::collections::VecDeque;
use alloc::rc::{Rc, Weak};
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};

use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;

use super::bucketing_engine::{self, BucketingEngine};
use super::clock;
use super::earlier_calls::SegmentCallWatch;
use super::events::{dispatch, Event, Listeners};
use super::fetch::{self, InFlight};
use super::listener::PageListener;
use super::read_cache::ReadCache;
use super::segment::{Handler, Segment, Snapshot};
use super::storage::Store;
use super::timer::Timeout;
use super::{js, log};
use crate::config::{Config, LogLevel};
use crate::engine::{Answer, Departure, Effect, Engine, PageEvent, Preloaded, SegmentEvent, Token};
use crate::error::Error;
use crate::wire::Request;

mod effects;

/// The engine's clock: monotonic milliseconds (see `clock.rs`).
pub(crate) fn now() -> f64 {
    clock::now()
}

/// Something that arrived for the engine, waiting in the inbox.
#[derive(Debug)]
enum Input {
    /// analytics.js emitted an event, or (`None`) an `AnalyticsBrowser` resolved.
    Segment(Option<SegmentEvent>),
    /// A request's answer.
    Answer(Token, Answer),
    /// The timer fired.
    Timer,
    /// The page is going away.
    Unload(Departure),
    /// The browser is back online.
    Online,
    /// Another page of the site wrote localStorage: the key (`None`: cleared) and its value.
    StorageChanged(Option<String>, Option<String>),
    /// Storage refused a write.
    StorageRefused,
    /// The engine asked for the stored state.
    Restore,
    /// A request to Segment's API completed in the page.
    SegmentCallSeen,
    /// The bucketing engine loaded, or not.
    BucketingEngine(Result<(), Error>),
    /// The bucketing engine took the file, or not.
    BucketingFile(Result<(), Error>),
    /// The bucketing engine's answer for the request `token`, or why it gave none.
    LocalDecision(Token, Result<String, Error>),
}

/// A started module and the browser resources it holds.
#[derive(Debug)]
pub(crate) struct Driver {
    engine: RefCell<Engine>,
    segment: Segment,
    store: Store,
    log_level: LogLevel,
    /// What arrived and waits for the engine, in order.
    inbox: RefCell<VecDeque<Input>>,
    /// The loop of [`Driver::turn`] runs: inputs and effects that appear meanwhile are its.
    turning: Cell<bool>,
    /// The one timer, armed for the engine's next deadline.
    timer: RefCell<Option<(f64, Timeout)>>,
    /// Requests in flight, which the engine may abort.
    requests: RefCell<Vec<(Token, InFlight)>>,
    /// The page's `on(…)` listeners.
    listeners: RefCell<Listeners>,
    /// Warnings raised before the first `warning` listener was added, for it; `None` after.
    unheard_warnings: RefCell<Option<Vec<(&'static str, String)>>>,
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
    me: Weak<Driver>,
}

/// Most warnings kept for the first `warning` listener.
const MAX_UNHEARD_WARNINGS: usize = 16;

impl Driver {
    /// Starts a module for `config` with Segment read from `segment`, `listeners` hearing its
    /// events from the first (the web build's takeover: the page listens already).
    pub(crate) fn start(
        config: Config,
        segment: Segment,
        preloaded: Preloaded,
        listeners: Listeners,
    ) -> Rc<Driver> {
        let seed = (js_sys::Math::random() * 9.007_199_254_740_991e15) as u64;
        let driver = Rc::new_cyclic(|me: &Weak<Driver>| Driver {
            store: Store::new(&config.env_id),
            log_level: config.log_level,
            engine: RefCell::new(Engine::new(config, seed)),
            segment,
            inbox: RefCell::default(),
            turning: Cell::new(false),
            timer: RefCell::default(),
            requests: RefCell::default(),
            listeners: RefCell::new(listeners),
            unheard_warnings: RefCell::new(Some(Vec::new())),
            read_cache: ReadCache::default(),
            page_listeners: RefCell::default(),
            settle_waiters: RefCell::default(),
            flush_waiters: RefCell::default(),
            flushes_done: RefCell::default(),
            close_flush: Cell::new(None),
            watch: RefCell::default(),
            bucketing: RefCell::default(),
            me: me.clone(),
        });
        let me = driver.me.clone();
        driver
            .segment
            .on_event(Handler(Rc::new(move |event: Option<SegmentEvent>| {
                if let Some(driver) = me.upgrade() {
                    driver.deliver(Input::Segment(event));
                }
            })));
        driver.listen_to_the_page();
        driver.run(|engine, segment| engine.start(now(), preloaded, segment, &driver.store));
        driver
    }

    /// Runs a command of the page on the engine, with Segment read just before, then performs
    /// what it asked for. `None` only if the engine is in the middle of a call, which no page
    /// code can observe (no page code runs inside one): the caller answers with its default.
    pub(crate) fn run<R>(&self, f: impl FnOnce(&mut Engine, &mut Snapshot) -> R) -> Option<R> {
        let result = self.call(f)?;
        self.turn();
        Some(result)
    }

    /// [`Driver::run`] for a command that does not look at Segment (no reading is taken).
    pub(crate) fn run_alone<R>(&self, f: impl FnOnce(&mut Engine) -> R) -> Option<R> {
        let result = self.call_alone(f)?;
        self.turn();
        Some(result)
    }

    /// One engine call that does not look at Segment: the wall clock only.
    fn call_alone<R>(&self, f: impl FnOnce(&mut Engine) -> R) -> Option<R> {
        let mut engine = self.engine.try_borrow_mut().ok()?;
        engine.set_wall_clock(now(), clock::wall());
        Some(f(&mut engine))
    }

    /// One engine call: the wall clock and Segment are read first, with nothing borrowed, and
    /// handed in.
    fn call<R>(&self, f: impl FnOnce(&mut Engine, &mut Snapshot) -> R) -> Option<R> {
        let need = self.peek(Engine::segment_need)?;
        let mut snapshot = self.segment.snapshot(need);
        let mut engine = self.engine.try_borrow_mut().ok()?;
        engine.set_wall_clock(now(), clock::wall());
        Some(f(&mut engine, &mut snapshot))
    }

    /// Puts `input` in the inbox and, unless the loop already runs (further up the stack),
    /// runs it.
    fn deliver(&self, input: Input) {
        self.inbox.borrow_mut().push_back(input);
        self.turn();
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
    pub(crate) fn describe_segment(&self) -> (&'static str, Option<String>) {
        self.segment.describe()
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
        // Known before the effects run: the flush may end among them, and then lets go.
        let id = self.call_alone(|engine| engine.close(now()));
        self.close_flush.set(id);
        self.turn();
        self.flushed(id)
    }

    /// Performs the engine's effects and hands it the inbox, in order, until neither has
    /// anything left; then arms the timer. Effects go first: they are what the engine already
    /// decided. A call from further down the stack (an effect's page code calling back) returns
    /// at once and leaves its work to this loop.
    fn turn(&self) {
        if self.turning.replace(true) {
            return;
        }
        loop {
            let effect = match self.engine.try_borrow_mut() {
                Ok(mut engine) => engine.poll_effect(),
                Err(_) => None,
            };
            if let Some(effect) = effect {
                self.execute(effect);
                continue;
            }
            let input = self.inbox.borrow_mut().pop_front();
            match input {
                Some(input) => self.dispatch(input),
                None => break,
            }
        }
        self.turning.set(false);
        self.arm_timer();
    }

    /// Hands one input to the engine. Segment is read only for the inputs that look at it: the
    /// page's unload path, for one, calls nothing of analytics.js.
    fn dispatch(&self, input: Input) {
        let with_segment = matches!(
            input,
            Input::Segment(_) | Input::Answer(..) | Input::Timer | Input::LocalDecision(..)
        );
        if with_segment {
            self.call(|engine, segment| match input {
                Input::Segment(Some(event)) => engine.handle_segment_event(now(), event, segment),
                Input::Segment(None) => engine.handle_segment_ready(now(), segment),
                Input::Answer(token, answer) => {
                    engine.handle_response(now(), token, answer, segment)
                }
                Input::Timer => engine.handle_timeout(now(), segment),
                Input::LocalDecision(token, answer) => {
                    engine.handle_local_decision(now(), token, answer, segment)
                }
                _ => {}
            });
            return;
        }
        self.call_alone(|engine| match input {
            Input::Unload(departure) => engine.handle_unload(now(), departure),
            Input::Online => engine.handle_online(now()),
            Input::StorageChanged(key, value) => {
                engine.handle_storage_changed(now(), key.as_deref(), value.as_deref())
            }
            Input::StorageRefused => engine.handle_storage_refused(),
            Input::Restore => engine.handle_restore(now(), &self.store),
            Input::SegmentCallSeen => engine.handle_segment_call_seen(now()),
            Input::BucketingEngine(loaded) => engine.handle_bucketing_engine(now(), loaded),
            Input::BucketingFile(loaded) => engine.handle_bucketing_file(now(), loaded),
            _ => {}
        });
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
        let mut add =
            |target: &web_sys::EventTarget, name: &'static str, act: fn(&Driver, JsValue)| {
                let me = self.me.clone();
                listeners.extend(PageListener::new(target, name, move |event| {
                    if let Some(driver) = me.upgrade() {
                        act(&driver, event);
                    }
                }));
            };
        add(&window, "pagehide", |d, _| {
            d.deliver(Input::Unload(Departure::PageHide));
        });
        if let Some(document) = &document {
            add(document, "visibilitychange", |d, _| {
                let document = js::get(&js_sys::global(), "document");
                if js::get(&document, "visibilityState").as_string().as_deref() == Some("hidden") {
                    d.deliver(Input::Unload(Departure::Hidden));
                }
            });
        }
        add(&window, "online", |d, _| d.deliver(Input::Online));
        // Another tab or page of the site wrote localStorage: the engine says whether it was
        // this environment's rate limit.
        add(&window, "storage", |d, event| {
            let key = js::get(&event, "key").as_string();
            let value = js::get(&event, "newValue").as_string();
            d.deliver(Input::StorageChanged(key, value));
        });
        *self.page_listeners.borrow_mut() = listeners;
    }
}

impl Drop for Driver {
    /// The page let go of the module: what was due to be stored at the next timer is stored
    /// now (no timer will fire for it); nothing else is done.
    fn drop(&mut self) {
        let engine = self.engine.get_mut();
        engine.set_wall_clock(now(), clock::wall());
        engine.write_pending(now());
        while let Some(effect) = engine.poll_effect() {
            if let Effect::Store { name, value } = effect {
                self.store.write(&name, value.as_deref());
            }
        }
    }
}
