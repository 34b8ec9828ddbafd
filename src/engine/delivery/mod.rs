//! Delivery of activations and hits: queued, held by the seen-by-Segment gate, batched, sent one
//! regular batch per queue at a time, retried with backoff, kept in storage per tab, and handed
//! to keepalive requests when the page goes away. The queue rules are `tracking::queue`'s
//! (including which entries may leave at unload); this module decides when they apply and which
//! effects follow: here the queues, the gate and storage, in `sending.rs` the requests.

mod sending;

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use super::io::{Effect, StoredState};
use super::outbox::Outbox;
use super::stored_queues::{restore_queues, write_queues};
use crate::config::{Config, LogLevel};
use crate::tracking::gate::{IdentityKey, SeenGate};
use crate::tracking::queue::{Dropped, Queue, QueuePolicy, MAX_AGE_MS};
use crate::tracking::{ExposureLog, Item, Kind};

/// How long an exposure waits for others to share its request when no request of activations
/// is out: none, so it leaves at the end of the task that queued it (the reads of one render
/// share that task, and one request), and what is exposed while a request is out goes when it
/// returns. Waiting longer would only leave more to the unload.
pub const ACTIVATION_WAIT_MS: f64 = 0.0;
/// How long a delivery request may go unanswered before it is abandoned and retried. Much
/// longer than a decision's `timeoutMs`: the visitor waits for no delivery, and an answer that
/// is only slow (a phone's network) means the collector has the batch; abandoning and sending it
/// again would count it twice.
pub const DELIVERY_TIMEOUT_MS: u32 = 30_000;
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
    /// The last write of the queues left entries out (the stored size limit).
    stored_full: bool,
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
    /// The wall clock minus the engine's clock: added to what is stored (see
    /// `Engine::set_wall_clock`).
    to_wall_ms: f64,
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
            activations: Queue::new(policy(ACTIVATION_BATCH, ACTIVATION_WAIT_MS)),
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
            stored_full: false,
            flushes: Vec::new(),
            next_flush: 1,
            leaving: Vec::new(),
            next_leaving: 1,
            persist_at: None,
            due_at: None,
            close_after: None,
            closed: false,
            hit_batch: config.batch_size.max(1),
            to_wall_ms: 0.0,
        }
    }

    fn queue(&mut self, kind: Kind) -> &mut Queue<Item> {
        match kind {
            Kind::Activation => &mut self.activations,
            Kind::Hit => &mut self.hits,
        }
    }

    /// The wall clock minus the engine's clock, as last read.
    pub(super) fn set_wall_offset(&mut self, to_wall_ms: f64) {
        self.to_wall_ms = to_wall_ms;
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
        let (activations, hits) = restore_queues(out, stored, &tab, now, self.to_wall_ms);
        self.activations.restore_front(activations, now);
        self.hits.restore_front(hits, now);
        let dedupe_ms = f64::from(config.activation_dedupe_ms);
        if let Some(text) = stored.get(EXPOSURES_KEY) {
            match ExposureLog::decode(&text, dedupe_ms, now, self.to_wall_ms) {
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
        self.track_at(out, now, now, item);
    }

    /// Queues a validated hit made at `made_at` (an earlier page's, say).
    pub(super) fn track_at(&mut self, out: &mut Outbox, now: f64, made_at: f64, item: Item) {
        self.hits.push(item, made_at);
        self.persist_soon(now);
        self.schedule(out, now);
    }

    /// Queues an exposure made at its `created_at_ms`, unless the log says it was queued already.
    pub(super) fn expose_at(
        &mut self,
        out: &mut Outbox,
        now: f64,
        activation: crate::tracking::Activation,
    ) -> bool {
        if self.exposures.contains(&activation, now) {
            return false;
        }
        self.exposures.record(&activation, now);
        self.activations
            .push(Item::activation(&activation), activation.created_at_ms);
        self.persist_soon(now);
        self.schedule(out, now);
        true
    }

    /// Drops every queued item about these visitors (consent withdrawn); stored at once.
    pub(super) fn purge(&mut self, out: &mut Outbox, now: f64, visitor_ids: &[&str]) -> usize {
        let purged = self.hits.purge(|item| !item.is_about(visitor_ids))
            + self.activations.purge(|item| !item.is_about(visitor_ids));
        self.persist(out, now);
        purged
    }

    /// Segment dispatched a call for `key`: its held items may go, now and on later pages.
    pub(super) fn mark_seen(&mut self, out: &mut Outbox, now: f64, key: IdentityKey) {
        let released_some = self.gate.mark_seen(key);
        out.push(Effect::Store {
            name: SEEN_KEY.to_owned(),
            value: Some(self.gate.encode()),
        });
        if released_some {
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
        let full = write_queues(
            out,
            tab,
            &self.activations,
            &self.hits,
            now,
            self.to_wall_ms,
        );
        // Said when the stored queue reaches its limit, not at every write while it stays there.
        if full && !self.stored_full {
            out.log(LogLevel::Warn, "STORED_QUEUE_FULL", |line| {
                line.push_str("the stored queue is at its size limit; the oldest entries will not survive a reload");
            });
        }
        self.stored_full = full;
        out.push(Effect::Store {
            name: EXPOSURES_KEY.to_owned(),
            value: Some(self.exposures.encode(now, self.to_wall_ms)),
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
