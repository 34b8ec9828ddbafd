//! Delivery of activations and hits: queued, held by the seen-by-Segment gate, batched, sent one
//! regular batch per queue at a time, retried with backoff, kept in storage per tab, and handed
//! to keepalive requests when the page goes away. The queue rules are `tracking::queue`'s
//! (including which entries may leave at unload); this file decides when they apply and which
//! effects follow.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use super::io::{Effect, Response, SegmentCall, StoredState};
use super::outbox::{Outbox, Purpose};
use super::stored_queues::{restore_queues, write_queues};
use crate::config::{Config, LogLevel};
use crate::context::SDK_CLIENT;
use crate::tracking::gate::{GateEvent, IdentityKey, SeenGate};
use crate::tracking::item::BATCH_ENVELOPE_BYTES;
use crate::tracking::queue::{Dropped, Entry, Outcome, Queue, QueuePolicy, MAX_AGE_MS};
use crate::tracking::{batch_request, ExposureLog, Item, Kind};
use crate::wire::{parse_retry_after, Request};

/// Activations wait this long for company, so that the reads of one render go out as one batch.
pub const ACTIVATION_WINDOW_MS: f64 = 50.0;
/// What keepalive requests in flight may carry in all: browsers refuse a keepalive request that
/// would take the document's total over 64 KiB; this leaves room for headers.
pub const KEEPALIVE_BUDGET_BYTES: usize = 60 * 1024;
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

/// An unload batch out in a keepalive request.
#[derive(Debug)]
struct Leaving {
    number: u32,
    ids: Vec<u64>,
}

/// The queues of one module and what decides when they are sent.
#[derive(Debug)]
pub(super) struct Delivery {
    /// This tab's ID, known once restored.
    tab: Option<String>,
    /// [`Effect::Restore`] was asked for.
    restore_asked: bool,
    activations: Queue<Item>,
    hits: Queue<Item>,
    exposures: ExposureLog,
    gate: SeenGate,
    /// The page asked for a flush: send what may be sent without waiting for the interval, also
    /// what the gate releases later, until the queues are empty.
    expedite: bool,
    /// Flushes waiting to be reported done.
    flushes: Vec<u32>,
    next_flush: u32,
    /// Unload batches out, and the number of the next one.
    leaving: Vec<Leaving>,
    next_leaving: u32,
    /// When the queues are next stored (the end of the current task).
    persist_at: Option<f64>,
    /// When a queue or the gate next needs attention.
    due_at: Option<f64>,
    /// The flush of `close()`, after which delivery stops.
    close_after: Option<u32>,
    /// After `close()`'s flush: nothing more is sent or scheduled.
    closed: bool,
    hit_batch: usize,
}

fn policy(batch_size: usize, flush_interval_ms: f64) -> QueuePolicy {
    QueuePolicy {
        batch_size,
        flush_interval_ms,
        max_age_ms: MAX_AGE_MS,
        max_entries: MAX_QUEUED,
    }
}

impl Delivery {
    pub(super) fn new(config: &Config) -> Delivery {
        Delivery {
            tab: None,
            restore_asked: false,
            activations: Queue::new(policy(ACTIVATION_BATCH, ACTIVATION_WINDOW_MS)),
            hits: Queue::new(policy(
                config.batch_size,
                f64::from(config.flush_interval_ms),
            )),
            exposures: ExposureLog::new(f64::from(config.activation_dedupe_ms)),
            gate: SeenGate::new(
                config.ensure_segment_knows,
                f64::from(config.segment_knows_timeout_ms),
            ),
            expedite: false,
            flushes: Vec::new(),
            next_flush: 1,
            leaving: Vec::new(),
            next_leaving: 1,
            persist_at: None,
            due_at: None,
            close_after: None,
            closed: false,
            hit_batch: config.batch_size.max(1),
        }
    }

    fn queue(&mut self, kind: Kind) -> &mut Queue<Item> {
        match kind {
            Kind::Activation => &mut self.activations,
            Kind::Hit => &mut self.hits,
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
        let (activations, hits) = restore_queues(out, stored, &tab, now);
        self.activations.restore_front(activations, now);
        self.hits.restore_front(hits, now);
        let dedupe_ms = f64::from(config.activation_dedupe_ms);
        if let Some(text) = stored.get(EXPOSURES_KEY) {
            match ExposureLog::decode(&text, dedupe_ms, now) {
                Ok(log) => self.exposures.merge_older(log),
                Err(reason) => discard(out, EXPOSURES_KEY, "stored exposures discarded: ", reason),
            }
        }
        if let Some(text) = stored.get(SEEN_KEY) {
            if let Err(reason) = self.gate.restore(&text) {
                let what = "stored seen-by-Segment markers discarded: ";
                discard(out, SEEN_KEY, what, reason);
            }
        }
        self.tab = Some(tab);
        self.persist(out, now);
        self.schedule(out, now);
    }

    /// True when this exposure was queued already within the dedupe window.
    pub(super) fn already_exposed(
        &self,
        activation: &crate::tracking::Activation,
        now: f64,
    ) -> bool {
        self.exposures.contains(activation, now)
    }

    /// Queues an exposure unless it was queued already; true when queued.
    pub(super) fn expose(
        &mut self,
        out: &mut Outbox,
        now: f64,
        activation: crate::tracking::Activation,
    ) -> bool {
        if !self.exposures.record(&activation, now) {
            return false;
        }
        self.activations.push(Item::activation(&activation), now);
        self.persist_soon(now);
        self.schedule(out, now);
        true
    }

    /// Queues a validated hit.
    pub(super) fn track(&mut self, out: &mut Outbox, now: f64, item: Item) {
        self.hits.push(item, now);
        self.persist_soon(now);
        self.schedule(out, now);
    }

    /// Drops every queued item about these visitors (consent withdrawn); stored at once.
    pub(super) fn purge(&mut self, out: &mut Outbox, now: f64, visitor_ids: &[&str]) -> usize {
        let purged = self.hits.purge(|item| !item.is_about(visitor_ids))
            + self.activations.purge(|item| !item.is_about(visitor_ids));
        self.persist(out, now);
        purged
    }

    /// Sends `item` at once with keepalive, bypassing the queue and storage: the consent
    /// withdrawn hit must leave, but nothing about this visitor may be stored any more.
    pub(super) fn send_now(&mut self, out: &mut Outbox, config: &Config, now: f64, item: Item) {
        let request = batch_request(config, Kind::Hit, &[(now, &item)], now);
        let request = keepalive_within(out, request);
        out.send(request, Purpose::Unstored, now, None);
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
        let of = |q: &Queue<Item>| {
            let d: Dropped = q.dropped;
            Counters {
                queued: q.len(),
                sent: q.delivered,
                dropped: d.expired + d.overflow + d.rejected,
            }
        };
        (of(&self.activations), of(&self.hits))
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

    /// The answer to a batch: `response` `None` for no answer.
    pub(super) fn on_answer(
        &mut self,
        out: &mut Outbox,
        config: &Config,
        now: f64,
        purpose: Purpose,
        response: Option<&Response>,
        jitter: f64,
    ) {
        let status = response.map(|r| r.status);
        let outcome = Outcome::of(status);
        let wait = response
            .and_then(|r| r.retry_after.as_deref())
            .and_then(parse_retry_after);
        let kind = match purpose {
            Purpose::Batch(kind) => {
                self.queue(kind).complete_after(outcome, now, jitter, wait);
                kind
            }
            Purpose::Leaving(kind, number) => {
                let Some(at) = self.leaving.iter().position(|l| l.number == number) else {
                    return;
                };
                let left = self.leaving.remove(at);
                self.queue(kind)
                    .complete_left(&left.ids, outcome, now, jitter, wait);
                kind
            }
            _ => return,
        };
        let what = match kind {
            Kind::Activation => "activations ",
            Kind::Hit => "hits ",
        };
        match (outcome, status) {
            (Outcome::Delivered, _) => {}
            // The server will never take these: the page learns it (they are lost, and
            // counted in diagnose()), a retry would only repeat the refusal.
            (Outcome::Rejected, Some(status)) => {
                let mut message = String::from(what);
                message.push_str("refused with http ");
                crate::json::write_uint(&mut message, u64::from(status));
                message.push_str("; dropped");
                out.warn_page("DELIVERY_REJECTED", message);
            }
            (_, status) => out.log(LogLevel::Warn, "DELIVERY_FAILED", |line| {
                line.push_str(what);
                match status {
                    Some(status) => {
                        line.push_str("http ");
                        crate::json::write_uint(line, u64::from(status));
                    }
                    None => line.push_str("no answer"),
                }
                line.push_str("; will retry");
            }),
        }
        self.persist(out, now);
        self.send_due(out, config, now);
    }

    /// The page is going away (`pagehide`, or hidden). What may leave goes in keepalive
    /// requests, within the browser's keepalive budget counted over every request in flight,
    /// and stays stored with the time it left: if the page survives, the answers settle it;
    /// if not, the next page sends it again after a grace period (at least once). Items in
    /// backoff, held by the gate, over the budget or already out are not sent now. Storage is
    /// written at once. Firing twice (hidden, then `pagehide`) sends nothing twice: what left is
    /// out.
    pub(super) fn unload(&mut self, out: &mut Outbox, config: &Config, now: f64) {
        if self.closed {
            return;
        }
        for kind in [Kind::Activation, Kind::Hit] {
            // A regular batch out in a keepalive request outlives the page as well.
            if out.is_waiting_for(Purpose::Batch(kind)) {
                self.queue(kind).batch_left(now);
            }
        }
        for kind in [Kind::Activation, Kind::Hit] {
            let budget = KEEPALIVE_BUDGET_BYTES.saturating_sub(out.keepalive_in_flight());
            let batch_size = match kind {
                Kind::Activation => ACTIVATION_BATCH,
                Kind::Hit => self.hit_batch,
            };
            let envelope = BATCH_ENVELOPE_BYTES + config.env_id.len();
            let gate = &self.gate;
            let plan = match kind {
                Kind::Activation => &self.activations,
                Kind::Hit => &self.hits,
            }
            .plan_unload(
                |item| gate.lets_through(item.key),
                |item| item.body.len() + QT_BYTES,
                budget,
                envelope,
                batch_size,
            );
            for ids in plan {
                let entries = self.queue(kind).leave(&ids, now);
                let mut request = batch_request(config, kind, &sent_items(&entries), now);
                request.keepalive = true;
                let number = self.next_leaving;
                self.next_leaving += 1;
                out.send(request, Purpose::Leaving(kind, number), now, None);
                self.leaving.push(Leaving { number, ids });
            }
        }
        self.persist(out, now);
    }

    /// Sends one regular batch of each queue that is due, reports finished flushes, and
    /// schedules the next attention.
    fn send_due(&mut self, out: &mut Outbox, config: &Config, now: f64) {
        if self.closed {
            return;
        }
        for kind in [Kind::Activation, Kind::Hit] {
            if self.due(kind, now).is_some_and(|at| at <= now) {
                self.send_batch(out, config, now, kind);
            }
        }
        if self.activations.is_empty() && self.hits.is_empty() {
            self.expedite = false;
        }
        self.report_flushes(out, now);
        self.schedule(out, now);
    }

    /// A flush is done once no regular batch is out and nothing may leave now (sent, held by
    /// the gate, or waiting for a backoff after a failure).
    fn report_flushes(&mut self, out: &mut Outbox, now: f64) {
        if self.flushes.is_empty()
            || out.is_waiting_for(Purpose::Batch(Kind::Activation))
            || out.is_waiting_for(Purpose::Batch(Kind::Hit))
        {
            return;
        }
        let gate = &mut self.gate;
        let ready = |at: Option<f64>| at.is_some_and(|at| at <= now);
        let more = ready(
            self.activations
                .next_ready_at_where(now, |item| gate.allows(item.key, now)),
        ) || ready(
            self.hits
                .next_ready_at_where(now, |item| gate.allows(item.key, now)),
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

    /// Takes the next regular batch of `kind` that the gate lets through and sends it.
    fn send_batch(&mut self, out: &mut Outbox, config: &Config, now: f64, kind: Kind) {
        let gate = &mut self.gate;
        let queue = match kind {
            Kind::Activation => &mut self.activations,
            Kind::Hit => &mut self.hits,
        };
        let Some(batch) = queue.take_batch_where(now, |item| gate.allows(item.key, now)) else {
            return;
        };
        let request = batch_request(config, kind, &sent_items(&batch), now);
        let request = keepalive_within(out, request);
        out.send(request, Purpose::Batch(kind), now, Some(config.timeout_ms));
    }

    /// Arms the next attention for the earliest flush either queue needs or the gate's next
    /// deadline; warns when the gate starts holding.
    fn schedule(&mut self, out: &mut Outbox, now: f64) {
        if self.closed {
            return;
        }
        let was_holding = self.gate.is_holding();
        self.due_at = [
            self.due(Kind::Activation, now),
            self.due(Kind::Hit, now),
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

    /// When the entries of `kind` the gate lets through should go: after their window, or as
    /// soon as possible when the page asked for a flush.
    fn due(&mut self, kind: Kind, now: f64) -> Option<f64> {
        let gate = &mut self.gate;
        let queue = match kind {
            Kind::Activation => &self.activations,
            Kind::Hit => &self.hits,
        };
        let allow = |item: &Item| gate.allows(item.key, now);
        match self.expedite {
            true => queue.next_ready_at_where(now, allow),
            false => queue.next_flush_at_where(now, allow),
        }
    }

    /// Stores now what [`Delivery::persist_soon`] would store at the next timer.
    pub(super) fn persist_if_pending(&mut self, out: &mut Outbox, now: f64) {
        if self.persist_at.is_some() {
            self.persist(out, now);
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
            self.activations.entries(),
            self.hits.entries(),
            now,
        );
        out.push(Effect::Store {
            name: EXPOSURES_KEY.to_owned(),
            value: Some(self.exposures.encode(now)),
        });
    }
}

/// What an item adds to a request besides its body: `"qt":…,` and a comma.
const QT_BYTES: usize = 16;

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

/// The items of `entries` with the time each was queued, for a request body.
fn sent_items(entries: &[Entry<Item>]) -> Vec<(f64, &Item)> {
    let mut items = Vec::with_capacity(entries.len());
    for entry in entries {
        items.push((entry.created_at_ms, &entry.item));
    }
    items
}

/// A request may outlive the page when its body fits in what keepalive requests in flight leave
/// of the browser's budget.
fn keepalive_within(out: &Outbox, mut request: Request) -> Request {
    let left = KEEPALIVE_BUDGET_BYTES.saturating_sub(out.keepalive_in_flight());
    request.keepalive = request.body.len() <= left;
    request
}
