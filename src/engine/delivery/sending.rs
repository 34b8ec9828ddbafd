//! Sending: when each queue's next batch goes (its window, a flush, the gate), what an answer
//! does to it (delivered, retried after a backoff or a `Retry-After`, refused), and what leaves
//! in keepalive requests when the page goes away.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use super::{Delivery, Leaving, ACTIVATION_BATCH, DELIVERY_TIMEOUT_MS, KEEPALIVE_BUDGET_BYTES};
use crate::config::{Config, LogLevel};
use crate::context::SDK_CLIENT;
use crate::engine::io::{Effect, Response, SegmentCall};
use crate::engine::outbox::{Outbox, Purpose};
use crate::tracking::gate::IdentityKey;
use crate::tracking::item::BATCH_ENVELOPE_BYTES;
use crate::tracking::queue::{Entry, Outcome, Settlement};
use crate::tracking::{batch_request, Item, Kind};
use crate::wire::{parse_retry_after, Request};

impl Delivery {
    /// Sends `item` at once with keepalive, bypassing the queue and storage: the consent
    /// withdrawn hit must leave, but nothing about this visitor may be stored any more.
    pub(in crate::engine) fn send_now(
        &mut self,
        out: &mut Outbox,
        config: &Config,
        now: f64,
        item: Item,
    ) {
        let request = batch_request(config, Kind::Hit, &[(now, &item)], now);
        let request = keepalive_within(out, request);
        out.send(request, Purpose::Unstored, now, None);
    }

    /// The browser came back online: every entry may be tried again now.
    pub(in crate::engine) fn online(&mut self, out: &mut Outbox, now: f64) {
        self.hits.retry_now(now);
        self.activations.retry_now(now);
        self.schedule(out, now);
    }

    /// Sends everything that may be sent now, ignoring the flush interval (not a backoff, not
    /// the gate); `Flushed(id)` follows once nothing more can leave now. With `then_close`,
    /// delivery stops for good after it: what is left stays stored for the next page.
    pub(in crate::engine) fn flush(
        &mut self,
        out: &mut Outbox,
        config: &Config,
        now: f64,
        then_close: bool,
    ) -> u32 {
        let id = self.next_flush;
        self.next_flush += 1;
        if self.closed {
            // Closed: nothing more leaves, so this flush is over (a second close() too).
            out.push(Effect::Flushed(id));
            return id;
        }
        self.flushes.push(id);
        if then_close {
            self.close_after = Some(id);
        }
        self.expedite = true;
        self.send_due(out, config, now);
        id
    }

    /// What a timer found due: storage, the gate's waits, batches.
    pub(in crate::engine) fn on_timeout(
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
            // The gate releases what waited long enough by itself; it names the identities
            // Segment must be asked to dispatch a call for.
            for key in self.gate.poll(now) {
                if Some(key) == current {
                    out.push(Effect::TrackInSegment(SegmentCall {
                        event: "Flagship Visitor Seen",
                        properties: alloc::vec![("source", Some(SDK_CLIENT.to_owned()))],
                    }));
                }
            }
            self.send_due(out, config, now);
        }
    }

    /// The answer to a batch: `response` `None` for no answer.
    pub(in crate::engine) fn on_answer(
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
        let settlement = Settlement {
            outcome,
            retry_after_ms: response
                .and_then(|r| r.retry_after.as_deref())
                .and_then(parse_retry_after),
            answered: response.is_some(),
        };
        let kind = match purpose {
            Purpose::Batch(kind) => {
                self.queue(kind).complete(settlement, now, jitter);
                kind
            }
            Purpose::Leaving(kind, number) => {
                let Some(at) = self.leaving.iter().position(|l| l.number == number) else {
                    return;
                };
                let left = self.leaving.remove(at);
                self.queue(kind)
                    .complete_handed_over(&left.ids, settlement, now, jitter);
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

    /// The page is going away: hidden (it may be frozen, or closed, without another event) or
    /// unloaded (`page_hide`). What may leave goes in keepalive requests, within the browser's
    /// keepalive budget counted over every request in flight, and is handed over: out of
    /// storage, never sent again, since the browser completes those requests after the page is
    /// gone. So is the regular batch out in a keepalive request. Items in backoff, held by the
    /// gate, over the budget, or out in a request that could not be keepalive stay stored for
    /// the next page. Storage is written at once. Firing twice (hidden, then `pagehide`) sends
    /// nothing twice: what left is out.
    pub(in crate::engine) fn unload(
        &mut self,
        out: &mut Outbox,
        config: &Config,
        now: f64,
        page_hide: bool,
    ) {
        if self.closed {
            return;
        }
        for kind in [Kind::Activation, Kind::Hit] {
            // Handed over, it must outlive the page: no deadline aborts it any more. A batch too
            // large for keepalive was not, and keeps its deadline should the page live on.
            if self.queue(kind).hand_over_at_unload(now, page_hide) {
                out.never_abandon(Purpose::Batch(kind));
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
                let entries = self.queue(kind).hand_over(&ids);
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
    pub(super) fn send_due(&mut self, out: &mut Outbox, config: &Config, now: f64) {
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
        if request.keepalive {
            queue.mark_batch_keepalive();
        }
        out.send(
            request,
            Purpose::Batch(kind),
            now,
            Some(DELIVERY_TIMEOUT_MS),
        );
    }

    /// Arms the next attention for the earliest flush either queue needs or the gate's next
    /// deadline; warns when the gate starts holding.
    pub(super) fn schedule(&mut self, out: &mut Outbox, now: f64) {
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
}

/// What an item adds to a request besides its body: `"qt":…,` and a comma.
const QT_BYTES: usize = 16;

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
