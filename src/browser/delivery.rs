//! Delivery of hits and activations: queued, batched, persisted per tab, retried with backoff,
//! flushed on `pagehide`. The rules (when to flush, what a status means, how long to wait) are
//! the core's (`tracking::queue`); this file only moves bytes between them and the browser.

use std::cell::{OnceCell, RefCell};
use std::rc::{Rc, Weak};

use super::http;
use super::listener::PageListener;
use super::storage::{tab_id, Store};
use super::stored_queues::{restore_queues, write_queues};
use super::timer::{now_ms, sleep, Timeout};
use super::{js, log};
use crate::config::Config;
use crate::decision::request::HttpRequest;
use crate::tracking::gate::{GateEvent, IdentityKey, SeenGate};
use crate::tracking::hits::{write_batch, Hit};
use crate::tracking::queue::{Entry, Outcome, Queue, QueuePolicy, MAX_AGE_MS};

use crate::tracking::{activation_request, Activation, ExposureLog};

/// Activations wait this long for company, so that the reads of one render go out as one batch.
pub(crate) const ACTIVATION_WINDOW_MS: f64 = 50.0;
/// Browsers refuse keepalive bodies over 64 KiB.
const KEEPALIVE_MAX_BYTES: usize = 60 * 1024;
const SEEN_KEY: &str = "seen";

/// Totals for `diagnose()` and tests.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counters {
    pub(crate) hits_queued: usize,
    pub(crate) hits_sent: u64,
    pub(crate) hits_dropped: u64,
    pub(crate) activations_queued: usize,
    pub(crate) activations_sent: u64,
    pub(crate) activations_dropped: u64,
}

/// One of the two queues.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Activations,
    Hits,
}

/// What the session must hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    /// Items are held: Segment has not dispatched a call for their visitor yet.
    Held,
    /// `ensureSegmentKnows: "track"`: make Segment dispatch a call for this identity.
    TrackNeeded(IdentityKey),
}

/// The session's handler of notices.
struct NoticeHook(Box<dyn Fn(Notice)>);

impl std::fmt::Debug for NoticeHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NoticeHook")
    }
}

fn key_of_activation(a: &Activation) -> IdentityKey {
    IdentityKey::new(&a.visitor_id, a.anonymous_id.as_deref())
}

fn key_of_hit(h: &Hit) -> IdentityKey {
    IdentityKey::of_hit(&h.visitor_id, h.customer_user_id.as_deref())
}

/// The queues of one session.
#[derive(Debug)]
pub(crate) struct Delivery {
    config: Config,
    store: Store,
    /// This tab's ID, set by [`Delivery::restore`].
    tab: OnceCell<String>,
    hits: RefCell<Queue<Hit>>,
    activations: RefCell<Queue<Activation>>,
    exposures: RefCell<ExposureLog>,
    gate: RefCell<SeenGate>,
    notices: RefCell<Option<NoticeHook>>,
    timer: RefCell<Option<Timeout>>,
    /// The page asked for a flush: send what may be sent without waiting for the interval, also
    /// what the gate releases later, until the queues are empty.
    expedite: std::cell::Cell<bool>,
    /// A [`Delivery::persist_soon`] is pending.
    persist_pending: std::cell::Cell<bool>,
    listeners: RefCell<Vec<PageListener>>,
    me: Weak<Delivery>,
}

fn hit_policy(config: &Config) -> QueuePolicy {
    QueuePolicy {
        batch_size: config.batch_size,
        flush_interval_ms: f64::from(config.flush_interval_ms),
        max_age_ms: MAX_AGE_MS,
        max_entries: 1000,
    }
}

fn activation_policy() -> QueuePolicy {
    QueuePolicy {
        batch_size: 100,
        flush_interval_ms: ACTIVATION_WINDOW_MS,
        max_age_ms: MAX_AGE_MS,
        max_entries: 1000,
    }
}

impl Delivery {
    /// Empty queues; nothing is read from storage until [`Delivery::restore`] or first use, so
    /// that `start()` can send its Decision API request first.
    pub(crate) fn new(config: &Config) -> Rc<Delivery> {
        let dedupe_ms = f64::from(config.activation_dedupe_ms);
        Rc::new_cyclic(|me| Delivery {
            config: config.clone(),
            store: Store::new(&config.env_id),
            tab: OnceCell::new(),
            hits: RefCell::new(Queue::new(hit_policy(config))),
            activations: RefCell::new(Queue::new(activation_policy())),
            exposures: RefCell::new(ExposureLog::new(dedupe_ms)),
            gate: RefCell::new(SeenGate::new(
                config.ensure_segment_knows,
                f64::from(config.segment_knows_timeout_ms),
            )),
            notices: RefCell::new(None),
            timer: RefCell::new(None),
            expedite: std::cell::Cell::new(false),
            persist_pending: std::cell::Cell::new(false),
            listeners: RefCell::new(Vec::new()),
            me: me.clone(),
        })
    }

    /// Restores what this tab (or a closed tab) left unsent, sends it when due, and starts
    /// listening for unload. Once; every entry point calls it first, so nothing reads or writes
    /// the queues before what was stored is back in them.
    pub(crate) fn restore(&self) {
        if self.tab.get().is_some() {
            return;
        }
        let now = now_ms();
        let tab = self.tab.get_or_init(tab_id);
        let (hits, activations) = restore_queues(&self.store, tab, now);
        *self.hits.borrow_mut() = Queue::restore(hit_policy(&self.config), hits, now);
        *self.activations.borrow_mut() = Queue::restore(activation_policy(), activations, now);
        let dedupe_ms = f64::from(self.config.activation_dedupe_ms);
        match self
            .store
            .get("exposures")
            .map(|t| ExposureLog::decode(&t, dedupe_ms, now))
        {
            Some(Ok(log)) => *self.exposures.borrow_mut() = log,
            Some(Err(reason)) => {
                log::warn(&format!("stored exposures discarded: {reason}"));
                self.store.remove("exposures");
            }
            None => {}
        }
        let restored = self
            .store
            .get(SEEN_KEY)
            .map(|t| self.gate.borrow_mut().restore(&t));
        if let Some(Err(reason)) = restored {
            log::warn(&format!(
                "stored seen-by-Segment markers discarded: {reason}"
            ));
            self.store.remove(SEEN_KEY);
        }
        self.listen();
        self.persist();
        self.schedule();
    }

    fn listen(&self) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let document: Option<web_sys::EventTarget> = window.document().map(Into::into);
        let window: web_sys::EventTarget = window.into();
        let mut listeners = Vec::new();
        let mut add =
            |target: &web_sys::EventTarget, event: &'static str, action: fn(&Delivery)| {
                let me = self.me.clone();
                listeners.extend(PageListener::new(target, event, move || {
                    if let Some(delivery) = me.upgrade() {
                        action(&delivery);
                    }
                }));
            };
        // pagehide and visibilitychange both, as the page may be frozen without unloading;
        // sending twice is harmless since the first send empties the queues.
        add(&window, "pagehide", Delivery::unload);
        if let Some(document) = &document {
            add(document, "visibilitychange", |d| {
                let hidden = web_sys::window()
                    .and_then(|w| w.document())
                    .is_some_and(|doc| {
                        js::get(&doc, "visibilityState").as_string().as_deref() == Some("hidden")
                    });
                if hidden {
                    d.unload();
                }
            });
        }
        add(&window, "online", |d| {
            let now = now_ms();
            d.hits.borrow_mut().retry_now(now);
            d.activations.borrow_mut().retry_now(now);
            d.schedule();
        });
        *self.listeners.borrow_mut() = listeners;
    }

    /// Where notices go (the session's warnings and Segment calls).
    pub(crate) fn on_notice(&self, hook: impl Fn(Notice) + 'static) {
        *self.notices.borrow_mut() = Some(NoticeHook(Box::new(hook)));
    }

    fn notify(&self, notice: Notice) {
        if let Some(hook) = self.notices.borrow().as_ref() {
            (hook.0)(notice);
        }
    }

    /// Segment dispatched a call for `key`: its held items may go, now and on later pages.
    pub(crate) fn mark_seen(&self, key: IdentityKey) {
        self.restore();
        let released = self.gate.borrow_mut().mark_seen(key);
        let _ = self.store.set(SEEN_KEY, &self.gate.borrow().encode());
        if released.is_some() {
            self.schedule();
        }
    }

    /// True when Segment has dispatched a call for `key` (or the gate is off).
    pub(crate) fn is_seen(&self, key: IdentityKey) -> bool {
        self.restore();
        self.gate.borrow().is_seen(key)
    }

    /// Identities that went out unseen after the gate's timeout.
    pub(crate) fn sent_unseen(&self) -> u64 {
        self.restore();
        self.gate.borrow().sent_unseen
    }

    /// True when this exposure was already queued within the dedupe window.
    pub(crate) fn already_exposed(&self, activation: &Activation) -> bool {
        self.restore();
        self.exposures.borrow().contains(activation, now_ms())
    }

    /// Queues an exposure unless it was already queued; true when queued.
    pub(crate) fn expose(&self, activation: Activation) -> bool {
        self.restore();
        let now = now_ms();
        if !self.exposures.borrow_mut().record(&activation, now) {
            return false;
        }
        self.activations.borrow_mut().push(activation, now);
        self.persist_soon();
        self.schedule();
        true
    }

    /// Queues a validated hit.
    pub(crate) fn track(&self, hit: Hit) {
        self.restore();
        self.hits.borrow_mut().push(hit, now_ms());
        self.persist_soon();
        self.schedule();
    }

    /// Drops every queued hit and activation of these visitors (consent withdrawn).
    pub(crate) fn purge(&self, visitor_ids: &[&str]) -> usize {
        self.restore();
        let about = |id: &str| visitor_ids.contains(&id);
        let hits = self
            .hits
            .borrow_mut()
            .purge(|h| !about(&h.visitor_id) && !h.customer_user_id.as_deref().is_some_and(about));
        let activations = self
            .activations
            .borrow_mut()
            .purge(|a| !about(&a.visitor_id) && !a.anonymous_id.as_deref().is_some_and(about));
        self.persist();
        hits + activations
    }

    /// Sends a hit at once with keepalive, bypassing queue and storage (the consent-withdrawn
    /// hit must leave, but nothing about this visitor may be stored any more).
    pub(crate) fn send_now(&self, hit: Hit) {
        let mut body = String::new();
        write_batch(&mut body, &self.config.env_id, std::slice::from_ref(&hit));
        http::post_and_forget(&events_request(&self.config, body));
    }

    pub(crate) fn counters(&self) -> Counters {
        self.restore();
        let hits = self.hits.borrow();
        let activations = self.activations.borrow();
        let dropped = |d: crate::tracking::queue::Dropped| d.expired + d.overflow + d.rejected;
        Counters {
            hits_queued: hits.len(),
            hits_sent: hits.delivered,
            hits_dropped: dropped(hits.dropped),
            activations_queued: activations.len(),
            activations_sent: activations.delivered,
            activations_dropped: dropped(activations.dropped),
        }
    }

    /// Arms the timer for the earliest flush either queue needs.
    fn schedule(&self) {
        let now = now_ms();
        let was_holding = self.gate.borrow().is_holding();
        let next = [
            self.activations_due_at(now),
            self.hits_due_at(now),
            self.gate.borrow().next_deadline(),
        ]
        .into_iter()
        .flatten()
        .reduce(f64::min);
        if !was_holding && self.gate.borrow().is_holding() {
            self.notify(Notice::Held);
        }
        let Some(at) = next else {
            *self.timer.borrow_mut() = None;
            return;
        };
        let me = self.me.clone();
        let timeout = Timeout::new((at - now).max(0.0).ceil() as u32, move || {
            if let Some(delivery) = me.upgrade() {
                wasm_bindgen_futures::spawn_local(async move { delivery.flush_ready().await });
            }
        });
        *self.timer.borrow_mut() = Some(timeout);
    }

    fn allows(&self, key: IdentityKey, now: f64) -> bool {
        self.gate.borrow_mut().allows(key, now)
    }

    /// When the activations the gate lets through should go: after their window, or as soon as
    /// possible when the page asked for a flush.
    fn activations_due_at(&self, now: f64) -> Option<f64> {
        let queue = self.activations.borrow();
        let allow = |a: &Activation| self.allows(key_of_activation(a), now);
        match self.expedite.get() {
            true => queue.next_ready_at_where(now, allow),
            false => queue.next_flush_at_where(now, allow),
        }
    }

    /// [`Delivery::activations_due_at`] for hits.
    fn hits_due_at(&self, now: f64) -> Option<f64> {
        let queue = self.hits.borrow();
        let allow = |h: &Hit| self.allows(key_of_hit(h), now);
        match self.expedite.get() {
            true => queue.next_ready_at_where(now, allow),
            false => queue.next_flush_at_where(now, allow),
        }
    }

    /// Sends one batch of each queue that is due.
    async fn flush_ready(&self) {
        let now = now_ms();
        let events = self.gate.borrow_mut().poll(now);
        for event in events {
            if let GateEvent::TrackNeeded(key) = event {
                self.notify(Notice::TrackNeeded(key));
            }
        }
        if self.activations_due_at(now).is_some_and(|at| at <= now) {
            self.send_batch(Kind::Activations).await;
        }
        if self.hits_due_at(now).is_some_and(|at| at <= now) {
            self.send_batch(Kind::Hits).await;
        }
        if self.activations.borrow().is_empty() && self.hits.borrow().is_empty() {
            self.expedite.set(false);
        }
        self.schedule();
    }

    /// Sends everything that can be sent now, ignoring the flush interval (but not a backoff or
    /// the seen-by-Segment gate); stops at the first failure.
    pub(crate) async fn flush(&self) {
        self.restore();
        self.expedite.set(true);
        for _ in 0..1000 {
            let sent_activations = self.send_batch(Kind::Activations).await;
            let sent_hits = self.send_batch(Kind::Hits).await;
            let more = !self.activations.borrow().is_empty() || !self.hits.borrow().is_empty();
            if !more
                || (sent_activations != Some(Outcome::Delivered)
                    && sent_hits != Some(Outcome::Delivered))
            {
                break;
            }
        }
        self.schedule();
    }

    /// Takes the next batch of `queue` the gate lets through and writes its request.
    fn take_request(&self, queue: Kind, now: f64) -> Option<HttpRequest> {
        match queue {
            Kind::Activations => {
                let batch = self
                    .activations
                    .borrow_mut()
                    .take_batch_where(now, |a| self.allows(key_of_activation(a), now))?;
                let items = activations_of(batch);
                Some(activation_request(&self.config, &items, now))
            }
            Kind::Hits => {
                let batch = self
                    .hits
                    .borrow_mut()
                    .take_batch_where(now, |h| self.allows(key_of_hit(h), now))?;
                let hits = hits_at(batch, now);
                let mut body = String::new();
                write_batch(&mut body, &self.config.env_id, &hits);
                Some(events_request(&self.config, body))
            }
        }
    }

    /// Sends one batch of `queue`, if one is ready. One async path for both queues: each
    /// `async fn` is a state machine of its own in the wasm.
    async fn send_batch(&self, queue: Kind) -> Option<Outcome> {
        let request = self.take_request(queue, now_ms())?;
        // A rejected exposure stays remembered: re-sending it on the next read would fail the
        // same way, once per render.
        let outcome = self.send(&request).await;
        let (now, jitter) = (now_ms(), js_sys::Math::random());
        match queue {
            Kind::Activations => self.activations.borrow_mut().complete(outcome, now, jitter),
            Kind::Hits => self.hits.borrow_mut().complete(outcome, now, jitter),
        }
        self.persist();
        Some(outcome)
    }

    async fn send(&self, request: &HttpRequest) -> Outcome {
        let keepalive = request.body.len() <= KEEPALIVE_MAX_BYTES;
        let status = match http::post(request, self.config.timeout_ms, keepalive, None).await {
            Ok(response) => Some(response.status),
            Err(_) => None,
        };
        let outcome = Outcome::of(status);
        if outcome != Outcome::Delivered {
            let what = status.map_or("no answer".to_owned(), |s| format!("http {s}"));
            log::warn(&format!(
                "delivery to {} failed ({what}); {}",
                host_of(&request.url),
                match outcome {
                    Outcome::Retry => "will retry",
                    _ => "dropped",
                }
            ));
        }
        outcome
    }

    /// The page is going away: hand everything to keepalive requests, which outlive the page.
    fn unload(&self) {
        let now = now_ms();
        let activations = activations_of(
            self.activations
                .borrow_mut()
                .drain(now, |a| self.allows(key_of_activation(a), now)),
        );
        for chunk in activations.chunks(100) {
            http::post_and_forget(&activation_request(&self.config, chunk, now));
        }
        let hits = hits_at(
            self.hits
                .borrow_mut()
                .drain(now, |h| self.allows(key_of_hit(h), now)),
            now,
        );
        for chunk in hits.chunks(self.config.batch_size.max(1)) {
            let mut body = String::new();
            write_batch(&mut body, &self.config.env_id, chunk);
            http::post_and_forget(&events_request(&self.config, body));
        }
        self.persist();
    }

    /// [`Delivery::persist`] once the current task is done: the reads of one render queue their
    /// exposures, and the queue is stored once, not once per exposure, and after the page has
    /// its values. `pagehide` stores synchronously, so only a crash within that task loses them.
    fn persist_soon(&self) {
        if self.persist_pending.replace(true) {
            return;
        }
        let me = self.me.clone();
        wasm_bindgen_futures::spawn_local(async move {
            sleep(0).await;
            if let Some(delivery) = me.upgrade() {
                delivery.persist_pending.set(false);
                delivery.persist();
            }
        });
    }

    /// Writes this tab's queues and the exposure log. A full or disabled storage only costs
    /// reload-survival: the queues stay in memory.
    fn persist(&self) {
        let now = now_ms();
        let Some(tab) = self.tab.get() else {
            return;
        };
        write_queues(
            &self.store,
            tab,
            self.hits.borrow().entries(),
            self.activations.borrow().entries(),
            now,
        );
        let _ = self
            .store
            .set("exposures", &self.exposures.borrow().encode(now));
    }

    /// Stops timers and page listeners; queued items stay stored for the next page.
    pub(crate) fn close(&self) {
        *self.timer.borrow_mut() = None;
        self.listeners.borrow_mut().clear();
    }
}

/// The hits of `entries` with their queue time at `now`. One loop shared by send and unload: an
/// iterator chain per call site compiled to a `Map::next` of its own (~1.5 KB).
fn hits_at(entries: Vec<Entry<Hit>>, now: f64) -> Vec<Hit> {
    let mut hits = Vec::with_capacity(entries.len());
    for entry in entries {
        let mut hit = entry.item;
        hit.queue_time_ms = (now - entry.created_at_ms).max(0.0).round();
        hits.push(hit);
    }
    hits
}

/// The activations of `entries`, for send and unload alike.
fn activations_of(entries: Vec<Entry<Activation>>) -> Vec<Activation> {
    let mut items = Vec::with_capacity(entries.len());
    for entry in entries {
        items.push(entry.item);
    }
    items
}

fn events_request(config: &Config, body: String) -> HttpRequest {
    HttpRequest {
        url: config.endpoints.events.clone(),
        headers: vec![("content-type", "application/json".to_owned())],
        body,
    }
}

/// `url.split("://").nth(1)` up to its first '/', or `url`; written with byte searches because
/// core's substring searcher (`StrSearcher`) costs more of the module than this log line.
fn host_of(url: &str) -> &str {
    let Some(scheme_end) = url.as_bytes().windows(3).position(|w| w == b"://") else {
        return url;
    };
    let rest = url.get(scheme_end + 3..).unwrap_or_default();
    let bytes = rest.as_bytes();
    let end = match bytes.iter().position(|&b| b == b'/') {
        // The first '/' opens a second "://": the segment ends before its ':'.
        Some(slash)
            if slash > 0 && bytes[slash - 1] == b':' && bytes.get(slash + 1) == Some(&b'/') =>
        {
            slash - 1
        }
        Some(slash) => slash,
        None => bytes.len(),
    };
    rest.get(..end).unwrap_or_default()
}
