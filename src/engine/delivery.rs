//! Delivery of activations and hits: queued, held by the seen-by-Segment gate, batched, sent one
//! batch per queue at a time, retried with backoff, kept in storage per tab, handed to keepalive
//! requests when the page goes away. The queue rules are `tracking::queue`'s; this file decides
//! when they apply and which effects follow.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use super::io::{Effect, SegmentCall, StoredState};
use super::outbox::{Outbox, Purpose};
use super::stored_queues::{restore_queues, write_queues};
use crate::config::{Config, LogLevel};
use crate::context::SDK_CLIENT;
use crate::tracking::gate::{GateEvent, IdentityKey, SeenGate};
use crate::tracking::hits::{events_request, Hit};
use crate::tracking::queue::{Dropped, Entry, Outcome, Queue, QueuePolicy, MAX_AGE_MS};
use crate::tracking::{activation_request, Activation, ExposureLog};
use crate::wire::Request;

/// Activations wait this long for company, so that the reads of one render go out as one batch.
pub const ACTIVATION_WINDOW_MS: f64 = 50.0;
/// Browsers refuse keepalive bodies over 64 KiB; this leaves room for headers.
pub const KEEPALIVE_MAX_BYTES: usize = 60 * 1024;
/// Most activations in one `/activate` request.
const ACTIVATION_BATCH: usize = 100;
/// Most entries either queue holds; the oldest are dropped (and counted) beyond it.
const MAX_QUEUED: usize = 1000;
const SEEN_KEY: &str = "seen";
const EXPOSURES_KEY: &str = "exposures";

/// Totals for `diagnose()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Waiting, in flight included.
    pub queued: usize,
    /// Delivered since start.
    pub sent: u64,
    /// Expired, pushed out or refused by the server.
    pub dropped: u64,
}

fn dropped(d: Dropped) -> u64 {
    d.expired + d.overflow + d.rejected
}

fn key_of_activation(a: &Activation) -> IdentityKey {
    IdentityKey::new(&a.visitor_id, a.anonymous_id.as_deref())
}

fn key_of_hit(h: &Hit) -> IdentityKey {
    IdentityKey::of_hit(&h.visitor_id, h.customer_user_id.as_deref())
}

/// The queues of one module and what decides when they are sent.
#[derive(Debug)]
pub(super) struct Delivery {
    /// This tab's ID, known once restored.
    tab: Option<String>,
    /// [`Effect::Restore`] was asked for.
    restore_asked: bool,
    hits: Queue<Hit>,
    activations: Queue<Activation>,
    exposures: ExposureLog,
    gate: SeenGate,
    /// The page asked for a flush: send what may be sent without waiting for the interval, also
    /// what the gate releases later, until the queues are empty.
    expedite: bool,
    /// Flushes waiting to be reported done.
    flushes: Vec<u32>,
    next_flush: u32,
    /// When the queues are next stored (the end of the current task).
    persist_at: Option<f64>,
    /// When a queue or the gate next needs attention.
    due_at: Option<f64>,
    /// The flush of `close()`, after which delivery stops.
    close_after: Option<u32>,
    /// After `close()`'s flush: nothing more is sent or scheduled.
    closed: bool,
}

fn hit_policy(config: &Config) -> QueuePolicy {
    QueuePolicy {
        batch_size: config.batch_size,
        flush_interval_ms: f64::from(config.flush_interval_ms),
        max_age_ms: MAX_AGE_MS,
        max_entries: MAX_QUEUED,
    }
}

fn activation_policy() -> QueuePolicy {
    QueuePolicy {
        batch_size: ACTIVATION_BATCH,
        flush_interval_ms: ACTIVATION_WINDOW_MS,
        max_age_ms: MAX_AGE_MS,
        max_entries: MAX_QUEUED,
    }
}

impl Delivery {
    pub(super) fn new(config: &Config) -> Delivery {
        Delivery {
            tab: None,
            restore_asked: false,
            hits: Queue::new(hit_policy(config)),
            activations: Queue::new(activation_policy()),
            exposures: ExposureLog::new(f64::from(config.activation_dedupe_ms)),
            gate: SeenGate::new(
                config.ensure_segment_knows,
                f64::from(config.segment_knows_timeout_ms),
            ),
            expedite: false,
            flushes: Vec::new(),
            next_flush: 1,
            persist_at: None,
            due_at: None,
            close_after: None,
            closed: false,
        }
    }

    /// Asks, once, for the stored state: after the first decision request is out, storage
    /// being slow to open in a fresh page.
    pub(super) fn ask_restore(&mut self, out: &mut Outbox) {
        if !self.restore_asked {
            self.restore_asked = true;
            out.push(Effect::Restore);
        }
    }

    /// Takes back what this tab (or a closed tab) left unsent, the exposure log and the seen
    /// markers. What was queued or marked before this call is kept.
    pub(super) fn restore(
        &mut self,
        out: &mut Outbox,
        config: &Config,
        now: f64,
        stored: &impl StoredState,
    ) {
        if self.tab.is_some() {
            return;
        }
        let tab = stored.tab_id();
        let (hits, activations) = restore_queues(out, stored, &tab, now);
        self.hits.restore_front(hits, now);
        self.activations.restore_front(activations, now);
        let dedupe_ms = f64::from(config.activation_dedupe_ms);
        if let Some(text) = stored.get(EXPOSURES_KEY) {
            match ExposureLog::decode(&text, dedupe_ms, now) {
                Ok(log) => self.exposures.merge_older(log),
                Err(reason) => discard(out, EXPOSURES_KEY, "stored exposures discarded: ", reason),
            }
        }
        if let Some(text) = stored.get(SEEN_KEY) {
            if let Err(reason) = self.gate.restore(&text) {
                discard(
                    out,
                    SEEN_KEY,
                    "stored seen-by-Segment markers discarded: ",
                    reason,
                );
            }
        }
        self.tab = Some(tab);
        self.persist(out, now);
        self.schedule(out, now);
    }

    /// True when this exposure was queued already within the dedupe window.
    pub(super) fn already_exposed(&self, activation: &Activation, now: f64) -> bool {
        self.exposures.contains(activation, now)
    }

    /// Queues an exposure unless it was queued already; true when queued.
    pub(super) fn expose(&mut self, out: &mut Outbox, now: f64, activation: Activation) -> bool {
        if !self.exposures.record(&activation, now) {
            return false;
        }
        self.activations.push(activation, now);
        self.persist_soon(now);
        self.schedule(out, now);
        true
    }

    /// Queues a validated hit.
    pub(super) fn track(&mut self, out: &mut Outbox, now: f64, hit: Hit) {
        self.hits.push(hit, now);
        self.persist_soon(now);
        self.schedule(out, now);
    }

    /// Drops every queued item about these visitors (consent withdrawn); stored at once.
    pub(super) fn purge(&mut self, out: &mut Outbox, now: f64, visitor_ids: &[&str]) -> usize {
        let about = |id: &str| visitor_ids.contains(&id);
        let hits = self
            .hits
            .purge(|h| !about(&h.visitor_id) && !h.customer_user_id.as_deref().is_some_and(about));
        let activations = self
            .activations
            .purge(|a| !about(&a.visitor_id) && !a.anonymous_id.as_deref().is_some_and(about));
        self.persist(out, now);
        hits + activations
    }

    /// Sends `hit` at once with keepalive, bypassing the queue and storage: the consent
    /// withdrawn hit must leave, but nothing about this visitor may be stored any more.
    pub(super) fn send_now(&mut self, out: &mut Outbox, config: &Config, now: f64, hit: Hit) {
        let mut request = events_request(config, core::slice::from_ref(&hit));
        request.keepalive = true;
        out.send(request, Purpose::Unload, now, None);
    }

    /// Segment dispatched a call for `key`: its held items may go, now and on later pages.
    pub(super) fn mark_seen(&mut self, out: &mut Outbox, now: f64, key: IdentityKey) {
        let released = self.gate.mark_seen(key);
        out.push(Effect::Store {
            name: SEEN_KEY.to_owned(),
            value: Some(self.gate.encode()),
        });
        if released.is_some() {
            self.schedule(out, now);
        }
    }

    /// True when Segment dispatched a call for `key` (or the gate is off).
    pub(super) fn is_seen(&self, key: IdentityKey) -> bool {
        self.gate.is_seen(key)
    }

    /// Identities whose items went out unseen after the gate's timeout.
    pub(super) fn sent_unseen(&self) -> u64 {
        self.gate.sent_unseen
    }

    /// `(activations, hits)` totals.
    pub(super) fn counters(&self) -> (Counters, Counters) {
        let of = |len, sent, d| Counters {
            queued: len,
            sent,
            dropped: dropped(d),
        };
        (
            of(
                self.activations.len(),
                self.activations.delivered,
                self.activations.dropped,
            ),
            of(self.hits.len(), self.hits.delivered, self.hits.dropped),
        )
    }

    /// When [`Delivery::on_timeout`] must run.
    pub(super) fn due_at(&self) -> Option<f64> {
        [self.due_at, self.persist_at]
            .into_iter()
            .flatten()
            .reduce(f64::min)
    }

    /// The browser came back online: every entry may be tried again now.
    pub(super) fn online(&mut self, out: &mut Outbox, now: f64) {
        self.hits.retry_now(now);
        self.activations.retry_now(now);
        self.schedule(out, now);
    }

    /// Sends everything that may be sent now, ignoring the flush interval (not a backoff, not
    /// the gate); `Flushed(id)` follows once nothing more can leave now. With `then_close`,
    /// delivery stops for good after it: what is left stays stored for the next page.
    pub(super) fn flush(
        &mut self,
        out: &mut Outbox,
        config: &Config,
        now: f64,
        then_close: bool,
    ) -> u32 {
        let id = self.next_flush;
        self.next_flush += 1;
        self.flushes.push(id);
        if then_close {
            self.close_after = Some(id);
        }
        self.expedite = true;
        self.send_due(out, config, now);
        id
    }

    /// What a timer found due: storage, the gate's waits, batches.
    pub(super) fn on_timeout(
        &mut self,
        out: &mut Outbox,
        config: &Config,
        now: f64,
        current: Option<IdentityKey>,
    ) {
        if self.persist_at.is_some_and(|at| at <= now) {
            self.persist(out, now);
        }
        if self.due_at.is_some_and(|at| at <= now) {
            for event in self.gate.poll(now) {
                if let GateEvent::TrackNeeded(key) = event {
                    if Some(key) == current {
                        out.push(Effect::TrackInSegment(SegmentCall {
                            event: "Flagship Visitor Seen",
                            properties: alloc::vec![("source", Some(SDK_CLIENT.to_owned()))],
                        }));
                    }
                }
            }
            self.send_due(out, config, now);
        }
    }

    /// The answer to a batch: `status` `None` for no answer.
    pub(super) fn on_answer(
        &mut self,
        out: &mut Outbox,
        config: &Config,
        now: f64,
        purpose: Purpose,
        status: Option<u16>,
        jitter: f64,
    ) {
        let outcome = Outcome::of(status);
        match purpose {
            Purpose::Activations => self.activations.complete(outcome, now, jitter),
            _ => self.hits.complete(outcome, now, jitter),
        }
        if outcome != Outcome::Delivered {
            out.log(LogLevel::Warn, "DELIVERY_FAILED", |line| {
                line.push_str(match purpose {
                    Purpose::Activations => "activations ",
                    _ => "hits ",
                });
                match status {
                    Some(status) => {
                        line.push_str("http ");
                        crate::json::write_number(line, f64::from(status));
                    }
                    None => line.push_str("no answer"),
                }
                line.push_str(match outcome {
                    Outcome::Retry => "; will retry",
                    _ => "; dropped",
                });
            });
        }
        self.persist(out, now);
        self.send_due(out, config, now);
    }

    /// The page is going away (`pagehide`, or hidden): what may be sent leaves with keepalive
    /// requests, which outlive the page, and the queues are stored at once.
    pub(super) fn unload(&mut self, out: &mut Outbox, config: &Config, now: f64) {
        if self.closed {
            return;
        }
        let gate = &mut self.gate;
        let activations = self
            .activations
            .drain(now, |a| gate.allows(key_of_activation(a), now));
        for chunk in activations.chunks(ACTIVATION_BATCH) {
            let items: Vec<Activation> = chunk.iter().map(|e| e.item.clone()).collect();
            let mut request = activation_request(config, &items, now);
            request.keepalive = true;
            out.send(request, Purpose::Unload, now, None);
        }
        let hits = self.hits.drain(now, |h| gate.allows(key_of_hit(h), now));
        for chunk in hits.chunks(config.batch_size.max(1)) {
            let mut request = events_request(config, &hits_at(chunk, now));
            request.keepalive = true;
            out.send(request, Purpose::Unload, now, None);
        }
        self.persist(out, now);
    }

    /// Sends one batch of each queue that is due, reports finished flushes, and schedules the
    /// next attention.
    fn send_due(&mut self, out: &mut Outbox, config: &Config, now: f64) {
        if self.closed {
            return;
        }
        if self.activations_due_at(now).is_some_and(|at| at <= now) {
            self.send_batch(out, config, now, Purpose::Activations);
        }
        if self.hits_due_at(now).is_some_and(|at| at <= now) {
            self.send_batch(out, config, now, Purpose::Hits);
        }
        if self.activations.is_empty() && self.hits.is_empty() {
            self.expedite = false;
        }
        self.report_flushes(out, now);
        self.schedule(out, now);
    }

    /// A flush is done once no batch is in flight and nothing may leave now (sent, held by the
    /// gate, or waiting for a backoff after a failure).
    fn report_flushes(&mut self, out: &mut Outbox, now: f64) {
        if self.flushes.is_empty()
            || out.is_waiting_for(Purpose::Activations)
            || out.is_waiting_for(Purpose::Hits)
        {
            return;
        }
        let gate = &mut self.gate;
        let ready = |at: Option<f64>| at.is_some_and(|at| at <= now);
        let more = ready(
            self.activations
                .next_ready_at_where(now, |a| gate.allows(key_of_activation(a), now)),
        ) || ready(
            self.hits
                .next_ready_at_where(now, |h| gate.allows(key_of_hit(h), now)),
        );
        if !more {
            for id in self.flushes.drain(..) {
                out.push(Effect::Flushed(id));
                if self.close_after == Some(id) {
                    self.closed = true;
                    self.due_at = None;
                }
            }
        }
    }

    /// Takes the next batch of `purpose`'s queue that the gate lets through and sends it.
    fn send_batch(&mut self, out: &mut Outbox, config: &Config, now: f64, purpose: Purpose) {
        let gate = &mut self.gate;
        let request = match purpose {
            Purpose::Activations => {
                let Some(batch) = self
                    .activations
                    .take_batch_where(now, |a| gate.allows(key_of_activation(a), now))
                else {
                    return;
                };
                let items: Vec<Activation> = batch.into_iter().map(|e| e.item).collect();
                activation_request(config, &items, now)
            }
            _ => {
                let Some(batch) = self
                    .hits
                    .take_batch_where(now, |h| gate.allows(key_of_hit(h), now))
                else {
                    return;
                };
                events_request(config, &hits_at(&batch, now))
            }
        };
        out.send(
            keepalive_if_small(request),
            purpose,
            now,
            Some(config.timeout_ms),
        );
    }

    /// Arms the next attention for the earliest flush either queue needs or the gate's next
    /// deadline; warns when the gate starts holding.
    fn schedule(&mut self, out: &mut Outbox, now: f64) {
        if self.closed {
            return;
        }
        let was_holding = self.gate.is_holding();
        self.due_at = [
            self.activations_due_at(now),
            self.hits_due_at(now),
            self.gate.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .reduce(f64::min);
        if !was_holding && self.gate.is_holding() {
            out.warn_page(
                "HITS_HELD",
                String::from(
                    "activations and hits held: Segment has not dispatched anything for this visitor yet",
                ),
            );
        }
    }

    /// When the activations the gate lets through should go: after their window, or as soon as
    /// possible when the page asked for a flush.
    fn activations_due_at(&mut self, now: f64) -> Option<f64> {
        let gate = &mut self.gate;
        let allow = |a: &Activation| gate.allows(key_of_activation(a), now);
        match self.expedite {
            true => self.activations.next_ready_at_where(now, allow),
            false => self.activations.next_flush_at_where(now, allow),
        }
    }

    /// [`Delivery::activations_due_at`] for hits.
    fn hits_due_at(&mut self, now: f64) -> Option<f64> {
        let gate = &mut self.gate;
        let allow = |h: &Hit| gate.allows(key_of_hit(h), now);
        match self.expedite {
            true => self.hits.next_ready_at_where(now, allow),
            false => self.hits.next_flush_at_where(now, allow),
        }
    }

    /// Stores the queues once the current task is done: the reads of one render queue their
    /// exposures, and the queue is stored once, not once per exposure.
    fn persist_soon(&mut self, now: f64) {
        self.persist_at.get_or_insert(now);
    }

    /// Stores this tab's queues and the exposure log now. A full or disabled storage only
    /// costs reload-survival: the queues stay in memory.
    fn persist(&mut self, out: &mut Outbox, now: f64) {
        self.persist_at = None;
        let Some(tab) = &self.tab else {
            // Not restored yet: writing now would overwrite what the last page left.
            return;
        };
        write_queues(
            out,
            tab,
            self.hits.entries(),
            self.activations.entries(),
            now,
        );
        out.push(Effect::Store {
            name: EXPOSURES_KEY.to_owned(),
            value: Some(self.exposures.encode(now)),
        });
    }
}

/// Removes an unreadable stored key, saying so.
fn discard(out: &mut Outbox, name: &str, what: &str, reason: &str) {
    out.log(LogLevel::Warn, "STORED_DATA_DISCARDED", |line| {
        line.push_str(what);
        line.push_str(reason);
    });
    out.push(Effect::Store {
        name: name.to_owned(),
        value: None,
    });
}

/// The hits of `entries` with their queue time (`qt`) at `now`.
fn hits_at(entries: &[Entry<Hit>], now: f64) -> Vec<Hit> {
    let mut hits = Vec::with_capacity(entries.len());
    for entry in entries {
        let mut hit = entry.item.clone();
        hit.queue_time_ms = crate::num::round((now - entry.created_at_ms).max(0.0));
        hits.push(hit);
    }
    hits
}

/// A batch may outlive the page when the browser allows it (bodies up to 64 KiB).
fn keepalive_if_small(mut request: Request) -> Request {
    request.keepalive = request.body.len() <= KEEPALIVE_MAX_BYTES;
    request
}
