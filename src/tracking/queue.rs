//! The delivery queue for hits and activations: when to flush, what to send, what to do with the
//! answer. Pure rules over an injected clock and random jitter, so every interleaving of enqueue,
//! send and reload can be tested natively (the analytics-next dispatcher's habit of keeping
//! policy apart from the code that sends).
//!
//! Entries leave the queue only when delivered, rejected (a 4xx that retrying cannot fix), expired
//! (older than `max_age_ms`, 4 h by default, as Flagship's SDKs do), pushed out by the size
//! bound, or handed over to a keepalive request as the page goes away; each of these is counted,
//! never silent.
//!
//! Exactly once rests on one rule: an entry the browser has taken in a keepalive request when
//! the page goes away is *handed over*. It leaves storage at that moment and is never sent again
//! by a later page, because the browser completes such a request after the page is gone and
//! Flagship has no key to deduplicate a second copy. Only an answer that proves it was not
//! delivered (a retryable HTTP status, seen by a page that lived on) brings it back.

use super::retry::is_retryable;
use alloc::vec::Vec;

/// Flush and retention rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueuePolicy {
    /// Send as soon as this many entries are ready.
    pub batch_size: usize,
    /// Send at most this long after the oldest ready entry was queued.
    pub flush_interval_ms: f64,
    /// Entries older than this are dropped unsent.
    pub max_age_ms: f64,
    /// Most entries held; the oldest are dropped beyond it.
    pub max_entries: usize,
}

/// Four hours: unsent hits older than this are worthless to AB Tasty's reports.
pub const MAX_AGE_MS: f64 = 4.0 * 60.0 * 60.0 * 1000.0;

/// A keepalive batch left unanswered this long before `pagehide` is taken to have been cut off
/// by the navigation: Chromium rejects such a fetch just before `pagehide`, and sends it. It is
/// handed over like what leaves at that moment. A real failure further back is retried after
/// its backoff.
pub const UNLOAD_RACE_MS: f64 = 1000.0;

/// One queued item with its delivery bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<T> {
    /// Unique within the queue, also across reloads.
    pub id: u64,
    /// When the item was queued (ms since the epoch); `qt` and expiry derive from it.
    pub created_at_ms: f64,
    /// Failed sends so far.
    pub attempts: u32,
    /// Not to be sent before this time (backoff after a failure).
    pub not_before_ms: f64,
    /// The hit or activation.
    pub item: T,
}

/// What became of a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: remove the entries.
    Delivered,
    /// No answer, 408, 429 or 5xx: keep them and try again later.
    Retry,
    /// Another 4xx: sending again would fail again; drop and count them.
    Rejected,
}

impl Outcome {
    /// The outcome of an HTTP status, `None` meaning no answer at all.
    pub fn of(status: Option<u16>) -> Outcome {
        match status {
            Some(200..=299) => Outcome::Delivered,
            other if is_retryable(other) => Outcome::Retry,
            _ => Outcome::Rejected,
        }
    }
}

/// How a send of entries ended, as the queue needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settlement {
    /// Delivered, to retry, or refused.
    pub outcome: Outcome,
    /// The wait the server asked for (`Retry-After`), in ms.
    pub retry_after_ms: Option<f64>,
    /// An HTTP answer came. Without one, a request the browser took as the page went away is
    /// taken as delivered (the network failing during that very request is the one way it is
    /// lost), and a keepalive batch may have been cut off by a navigation about to happen (see
    /// [`Queue::hand_over_at_unload`]).
    pub answered: bool,
}

impl Settlement {
    /// No answer at all: the network failed, or the request was abandoned.
    pub fn no_answer() -> Settlement {
        Settlement {
            outcome: Outcome::Retry,
            retry_after_ms: None,
            answered: false,
        }
    }
}

impl From<Outcome> for Settlement {
    /// An answer with a status of this outcome and no `Retry-After`.
    fn from(outcome: Outcome) -> Settlement {
        Settlement {
            outcome,
            retry_after_ms: None,
            answered: true,
        }
    }
}

/// How long to wait before attempt `attempts + 1`: 1 s doubling up to 5 min, spread by `jitter`
/// (in `0..1`) over +0–100% so that many tabs coming back online do not retry in step.
pub fn backoff_ms(attempts: u32, jitter: f64) -> f64 {
    let base = (1000.0 * (1u32 << attempts.min(20)) as f64).min(300_000.0);
    base * (1.0 + jitter.clamp(0.0, 1.0))
}

/// Counters of what left the queue other than by delivery.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Older than `max_age_ms`.
    pub expired: u64,
    /// Pushed out by `max_entries`.
    pub overflow: u64,
    /// Refused by the server with a non-retryable status.
    pub rejected: u64,
}

/// A queue of `T` under a [`QueuePolicy`].
#[derive(Debug, Clone)]
pub struct Queue<T> {
    policy: QueuePolicy,
    entries: Vec<Entry<T>>,
    next_id: u64,
    /// The regular batch out, at most one at a time.
    in_flight: Vec<u64>,
    /// The regular batch out is a keepalive request: it may outlive the page.
    batch_keepalive: bool,
    /// Entries the browser took in keepalive requests as the page went away: out of storage,
    /// never sent again; kept in memory only for an answer, should the page live on.
    handed_over: Vec<u64>,
    /// The last regular batch that went out with keepalive and got no answer, and when.
    unanswered: Option<(f64, Vec<u64>)>,
    /// What was dropped, by reason.
    pub dropped: Dropped,
    /// Entries delivered since start.
    pub delivered: u64,
}

/// Merges two lists of entries, each oldest first, into one oldest first; at equal ages the
/// entries of `a` come first. Restored queues of several tabs are combined this way.
pub fn merge_by_age<T>(a: Vec<Entry<T>>, b: Vec<Entry<T>>) -> Vec<Entry<T>> {
    let mut merged = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let from_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => !y.created_at_ms.total_cmp(&x.created_at_ms).is_lt(),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return merged,
        };
        merged.extend(if from_a { a.next() } else { b.next() });
    }
}

impl<T: Clone> Queue<T> {
    /// An empty queue.
    pub fn new(policy: QueuePolicy) -> Self {
        Queue {
            policy,
            entries: Vec::new(),
            next_id: 1,
            in_flight: Vec::new(),
            batch_keepalive: false,
            handed_over: Vec::new(),
            unanswered: None,
            dropped: Dropped::default(),
            delivered: 0,
        }
    }

    /// A queue holding entries restored from storage (the in-flight state is not restored: a
    /// regular send that was under way when the page died, and could not be handed over, is
    /// sent again).
    pub fn restore(policy: QueuePolicy, entries: Vec<Entry<T>>, now_ms: f64) -> Self {
        let mut queue = Queue::new(policy);
        queue.next_id = entries.iter().map(|e| e.id).max().unwrap_or(0) + 1;
        queue.entries = entries;
        queue.expire(now_ms);
        queue.bound();
        queue
    }

    fn is_out(&self, id: u64) -> bool {
        self.in_flight.contains(&id) || self.handed_over.contains(&id)
    }

    /// Puts `restored`, what a previous page left (oldest first), before what was queued since,
    /// with IDs of their own; then drops what expired or exceeds the bound.
    pub fn restore_front(&mut self, restored: Vec<Entry<T>>, now_ms: f64) {
        let mut entries = Vec::with_capacity(restored.len() + self.entries.len());
        for mut entry in restored {
            entry.id = self.next_id;
            self.next_id += 1;
            entries.push(entry);
        }
        entries.append(&mut self.entries);
        self.entries = entries;
        self.expire(now_ms);
        self.bound();
    }

    /// Queues `item` at `now_ms`.
    pub fn push(&mut self, item: T, now_ms: f64) {
        self.entries.push(Entry {
            id: self.next_id,
            created_at_ms: now_ms,
            attempts: 0,
            not_before_ms: now_ms,
            item,
        });
        self.next_id += 1;
        self.bound();
    }

    fn bound(&mut self) {
        while self.entries.len() > self.policy.max_entries {
            let oldest = self.entries.iter().position(|e| !self.is_out(e.id));
            match oldest {
                Some(i) => {
                    self.entries.remove(i);
                    self.dropped.overflow += 1;
                }
                None => break,
            }
        }
    }

    fn expire(&mut self, now_ms: f64) {
        let max_age = self.policy.max_age_ms;
        let (in_flight, handed_over) = (&self.in_flight, &self.handed_over);
        let before = self.entries.len();
        self.entries.retain(|e| {
            in_flight.contains(&e.id)
                || handed_over.contains(&e.id)
                || now_ms - e.created_at_ms <= max_age
        });
        self.dropped.expired += (before - self.entries.len()) as u64;
    }

    fn ready<'a>(
        &'a self,
        now_ms: f64,
        allow: &'a mut impl FnMut(&T) -> bool,
    ) -> impl Iterator<Item = &'a Entry<T>> {
        self.entries
            .iter()
            .filter(move |e| e.not_before_ms <= now_ms && !self.is_out(e.id) && allow(&e.item))
    }

    /// When a flush should happen: now (`Some(now)`) or at a later time; `None` when there is
    /// nothing to send or a send is under way (its completion reschedules).
    pub fn next_flush_at(&self, now_ms: f64) -> Option<f64> {
        self.next_flush_at_where(now_ms, |_| true)
    }

    /// [`Queue::next_flush_at`] over the entries `allow` lets through (the others are held, e.g.
    /// until Segment has seen their visitor).
    pub fn next_flush_at_where(
        &self,
        now_ms: f64,
        mut allow: impl FnMut(&T) -> bool,
    ) -> Option<f64> {
        if !self.in_flight.is_empty() {
            return None;
        }
        if self.ready(now_ms, &mut allow).count() >= self.policy.batch_size {
            return Some(now_ms);
        }
        // A fresh entry waits for company up to the flush interval; one that failed already
        // waited and goes again as soon as its backoff ends.
        self.entries
            .iter()
            .filter(|e| !self.is_out(e.id) && allow(&e.item))
            .map(|e| match e.attempts {
                0 => e
                    .not_before_ms
                    .max(e.created_at_ms + self.policy.flush_interval_ms),
                _ => e.not_before_ms,
            })
            .reduce(f64::min)
            .map(|at| at.max(now_ms))
    }

    /// When the earliest entry `allow` lets through may be sent, ignoring the flush interval
    /// (the page asked for a flush); `None` when a send is under way or nothing is allowed.
    pub fn next_ready_at_where(
        &self,
        now_ms: f64,
        mut allow: impl FnMut(&T) -> bool,
    ) -> Option<f64> {
        if !self.in_flight.is_empty() {
            return None;
        }
        self.entries
            .iter()
            .filter(|e| !self.is_out(e.id) && allow(&e.item))
            .map(|e| e.not_before_ms)
            .reduce(f64::min)
            .map(|at| at.max(now_ms))
    }

    /// Takes up to `batch_size` ready entries, oldest first, and marks them in flight. Expired
    /// entries are dropped first. `None` when a send is already under way or nothing is ready.
    pub fn take_batch(&mut self, now_ms: f64) -> Option<Vec<Entry<T>>> {
        self.take_batch_where(now_ms, |_| true)
    }

    /// [`Queue::take_batch`] over the entries `allow` lets through.
    pub fn take_batch_where(
        &mut self,
        now_ms: f64,
        mut allow: impl FnMut(&T) -> bool,
    ) -> Option<Vec<Entry<T>>> {
        if !self.in_flight.is_empty() {
            return None;
        }
        self.expire(now_ms);
        let batch: Vec<Entry<T>> = self
            .ready(now_ms, &mut allow)
            .take(self.policy.batch_size)
            .cloned()
            .collect();
        if batch.is_empty() {
            return None;
        }
        self.in_flight = batch.iter().map(|e| e.id).collect();
        self.batch_keepalive = false;
        Some(batch)
    }

    /// The batch just taken went out in a keepalive request: should the page go away before
    /// its answer, the browser completes it, and its entries are handed over.
    pub fn mark_batch_keepalive(&mut self) {
        self.batch_keepalive = !self.in_flight.is_empty();
    }

    /// The page is going away: which entries may leave in keepalive requests, in batches of at
    /// most `batch_size`, until `budget` bytes are spent (`size` of an entry; each request also
    /// costs `envelope`). Only entries `allow` lets through, out in no request, and that never
    /// failed (an entry in backoff waits for its time on the next page); in queue order,
    /// stopping at the first that does not fit.
    pub fn plan_unload(
        &self,
        mut allow: impl FnMut(&T) -> bool,
        size: impl Fn(&T) -> usize,
        mut budget: usize,
        envelope: usize,
        batch_size: usize,
    ) -> Vec<Vec<u64>> {
        let mut batches: Vec<Vec<u64>> = Vec::new();
        for entry in &self.entries {
            let eligible = entry.attempts == 0 && !self.is_out(entry.id) && allow(&entry.item);
            if !eligible {
                continue;
            }
            let opens_batch = batches.last().is_none_or(|b| b.len() >= batch_size.max(1));
            let cost = size(&entry.item) + 1 + if opens_batch { envelope } else { 0 };
            if cost > budget {
                break;
            }
            budget -= cost;
            match batches.last_mut() {
                Some(batch) if !opens_batch => batch.push(entry.id),
                _ => batches.push(alloc::vec![entry.id]),
            }
        }
        batches
    }

    /// Hands `ids` over to a keepalive request of the page going away, and returns their
    /// entries (for the request body). From now on they are out of storage and never sent
    /// again, unless an answer proves they were not delivered.
    pub fn hand_over(&mut self, ids: &[u64]) -> Vec<Entry<T>> {
        let left: Vec<Entry<T>> = self
            .entries
            .iter()
            .filter(|e| ids.contains(&e.id))
            .cloned()
            .collect();
        self.handed_over.extend(left.iter().map(|e| e.id));
        left
    }

    /// The page is going away at `now_ms`. The regular batch out in a keepalive request
    /// outlives the page: it is handed over. With `page_hide` (the document is being unloaded,
    /// not only hidden), so is a keepalive batch that got no answer within [`UNLOAD_RACE_MS`]
    /// before: Chromium rejects such a fetch as the page goes away, and sends it all the same.
    /// Those entries were in backoff, with no request out; they leave the queue now.
    /// Returns whether the regular batch was handed over (it must then never be abandoned).
    pub fn hand_over_at_unload(&mut self, now_ms: f64, page_hide: bool) -> bool {
        let batch_handed_over = self.batch_keepalive;
        if batch_handed_over {
            for id in &self.in_flight {
                if !self.handed_over.contains(id) {
                    self.handed_over.push(*id);
                }
            }
        }
        if !page_hide {
            return batch_handed_over;
        }
        let Some((at, ids)) = self.unanswered.take() else {
            return batch_handed_over;
        };
        if now_ms - at > UNLOAD_RACE_MS {
            return batch_handed_over;
        }
        let (in_flight, handed_over) = (&self.in_flight, &self.handed_over);
        let before = self.entries.len();
        self.entries.retain(|e| {
            !ids.contains(&e.id) || in_flight.contains(&e.id) || handed_over.contains(&e.id)
        });
        self.delivered += (before - self.entries.len()) as u64;
        batch_handed_over
    }

    /// Records how a keepalive request of [`Queue::hand_over`] ended (the page lived on).
    pub fn complete_handed_over(
        &mut self,
        ids: &[u64],
        settlement: impl Into<Settlement>,
        now_ms: f64,
        jitter: f64,
    ) {
        self.settle(ids, settlement.into(), now_ms, jitter);
    }

    /// Records how the batch in flight ended.
    pub fn complete(&mut self, settlement: impl Into<Settlement>, now_ms: f64, jitter: f64) {
        let batch = core::mem::take(&mut self.in_flight);
        let keepalive = core::mem::replace(&mut self.batch_keepalive, false);
        let settlement = settlement.into();
        let handed_over = batch.iter().any(|id| self.handed_over.contains(id));
        if keepalive && !handed_over && !settlement.answered {
            self.unanswered = Some((now_ms, batch.clone()));
        }
        self.settle(&batch, settlement, now_ms, jitter);
    }

    fn settle(&mut self, ids: &[u64], settlement: Settlement, now_ms: f64, jitter: f64) {
        let handed_over = ids.iter().any(|id| self.handed_over.contains(id));
        self.handed_over.retain(|id| !ids.contains(id));
        // Taken by the browser as the page went away and not answered: the browser completes
        // such a request after the page; sending it again would count it twice.
        let delivered = match settlement.outcome {
            Outcome::Retry if handed_over && !settlement.answered => true,
            Outcome::Retry => false,
            Outcome::Delivered => true,
            Outcome::Rejected => {
                self.remove(ids, |queue, removed| queue.dropped.rejected += removed);
                return;
            }
        };
        if delivered {
            self.remove(ids, |queue, removed| queue.delivered += removed);
            return;
        }
        // A retry waits at least what the server asked for, the backoff if longer.
        let asked = settlement.retry_after_ms.unwrap_or(0.0);
        for entry in self.entries.iter_mut().filter(|e| ids.contains(&e.id)) {
            entry.not_before_ms = now_ms + backoff_ms(entry.attempts, jitter).max(asked);
            entry.attempts += 1;
        }
    }

    /// Removes the entries `ids` and counts them with `count`.
    fn remove(&mut self, ids: &[u64], count: impl FnOnce(&mut Self, u64)) {
        let before = self.entries.len();
        self.entries.retain(|e| !ids.contains(&e.id));
        let removed = (before - self.entries.len()) as u64;
        count(self, removed);
    }

    /// Makes every entry sendable now (the browser came back online).
    pub fn retry_now(&mut self, now_ms: f64) {
        for entry in &mut self.entries {
            entry.not_before_ms = entry.not_before_ms.min(now_ms);
        }
    }

    /// Drops the entries `keep` refuses (consent withdrawn); returns how many.
    pub fn purge(&mut self, keep: impl Fn(&T) -> bool) -> usize {
        let (in_flight, handed_over) = (&self.in_flight, &self.handed_over);
        let before = self.entries.len();
        self.entries
            .retain(|e| in_flight.contains(&e.id) || handed_over.contains(&e.id) || keep(&e.item));
        before - self.entries.len()
    }

    /// Every entry in memory, oldest first (handed-over ones included).
    pub fn entries(&self) -> &[Entry<T>] {
        &self.entries
    }

    /// The entries to keep in storage, oldest first: all but those handed over.
    pub fn stored(&self) -> impl Iterator<Item = &Entry<T>> {
        self.entries
            .iter()
            .filter(|e| !self.handed_over.contains(&e.id))
    }

    /// Entries waiting (in flight included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests;
