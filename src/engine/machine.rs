//! The [`Engine`]: one started module's state, and the plumbing every rule shares (effects,
//! timers, requests in flight, status and failures). The rules themselves live in the sibling
//! files, one concern each, as `impl Engine` blocks.

use alloc::string::String;
use alloc::vec::Vec;

use super::delivery::Delivery;
use super::io::{Answer, Effect, SegmentNeed, SegmentSource, Token};
use super::outbox::{Outbox, Purpose};
use crate::config::Config;
use crate::context::Context;
use crate::decision::FlagStore;
use crate::error::Error;
use crate::identity::{Identity, SegmentIds};
use crate::status::Status;

/// How often analytics.js is looked for while it loads.
pub(super) const PROBE_EVERY_MS: f64 = 25.0;

/// Where the module stands with analytics.js.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Link {
    /// [`Engine::start`] has not run.
    Idle,
    /// Waiting for analytics.js to load: looked for again at `next_probe`, given up at
    /// `deadline`. `saw_something` tells a stub that never loaded from no Segment at all.
    Connecting {
        next_probe: f64,
        deadline: f64,
        saw_something: bool,
    },
    /// A loaded instance is followed.
    Connected,
    /// No Segment: the IDs it stored (fallback) or none.
    Without,
}

/// Where the visitor's IDs came from, for `diagnose()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdSource {
    /// Read from analytics.js.
    Segment,
    /// Read from what Segment stored (`fallback: "storage"`).
    Storage,
    /// None could be read.
    None,
}

/// One started module, as a state machine: no I/O, no clock, no awaiting.
///
/// Four kinds of methods, as in quinn-proto's `Connection`: getters (`&self`); `handle_*` for
/// what arrives (an answer, a timer, a Segment event); commands for what the page asks (`read`,
/// `track`, `set_consent`, …); and [`Engine::poll_effect`] / [`Engine::poll_timeout`] for what
/// the caller must do next. Every method that needs the time takes it (`now`, ms since the
/// epoch), and the ones that must see Segment's identity at that instant take the
/// [`SegmentSource`] to read it from. Every request is built from [`Engine::identity`], which
/// only a reading of Segment sets, and an answer is applied only to the generation (identity and
/// context) it was asked for.
#[derive(Debug)]
pub struct Engine {
    pub(super) config: Config,
    pub(super) out: Outbox,
    pub(super) link: Link,
    pub(super) id_source: IdSource,
    /// Segment's IDs at the last reading.
    pub(super) ids: Option<SegmentIds>,
    pub(super) identity: Option<Identity>,
    /// Context from allowlisted Segment traits.
    pub(super) traits: Context,
    /// Context from options and `updateContext`.
    pub(super) page_context: Context,
    pub(super) consent: bool,
    pub(super) status: Status,
    pub(super) last_error: Option<Error>,
    /// Bumped whenever identity or context change: an answer for an older one is stale.
    pub(super) generation: u64,
    pub(super) flags: FlagStore,
    /// Per campaign of `flags`: its exposure is with delivery already.
    pub(super) exposed: Vec<bool>,
    pub(super) decisions: super::kept_decisions::DecisionState,
    pub(super) bucketing: super::bucketing::BucketingState,
    pub(super) delivery: Delivery,
    /// Xorshift state for retry jitter, seeded by the caller.
    rng: u64,
    /// When the Resource Timing watch for Segment's calls ends.
    pub(super) watch_until: Option<f64>,
    /// Storage refused a write: queues live in memory only (told to the page once).
    pub(super) storage_refused: bool,
    /// The wall clock minus `now` at the last [`Engine::set_wall_clock`]: what turns an instant
    /// of the engine's clock into the time of day stored for other pages, and back.
    wall_offset: f64,
}

impl Engine {
    /// A module for `config`, not started. `seed` feeds the retry jitter (any value; the
    /// browser passes a random one so that tabs coming back online do not retry in step).
    pub fn new(config: Config, seed: u64) -> Engine {
        Engine {
            out: Outbox::new(config.log_level),
            link: Link::Idle,
            id_source: IdSource::None,
            ids: None,
            identity: None,
            traits: Context::new(),
            page_context: config.context.clone(),
            consent: config.consent,
            status: Status::Starting,
            last_error: None,
            generation: 0,
            flags: FlagStore::default(),
            exposed: Vec::new(),
            decisions: Default::default(),
            bucketing: Default::default(),
            delivery: Delivery::new(&config),
            rng: seed | 1,
            watch_until: None,
            config,
            storage_refused: false,
            wall_offset: 0.0,
        }
    }

    /// The wall clock (`Date.now()`) read at the instant `now`. Every `now` the engine is given
    /// is on a monotonic clock, so in-page deadlines neither fire early nor freeze when the
    /// system clock is set; only what is stored for other pages, whose clocks are wall clocks,
    /// is dated with the wall clock, as of the last reading. Without a reading, the two clocks
    /// are taken to agree.
    pub fn set_wall_clock(&mut self, now: f64, wall: f64) {
        if now.is_finite() && wall.is_finite() {
            self.wall_offset = wall - now;
            self.delivery.set_wall_offset(self.wall_offset);
        }
    }

    /// `now` as the time of day, for storage.
    pub(super) fn wall(&self, now: f64) -> f64 {
        now + self.wall_offset
    }

    /// What turns an engine instant into the time of day (add) and back (subtract).
    pub(super) fn wall_offset(&self) -> f64 {
        self.wall_offset
    }

    /// The next thing to do, in order; `None` when there is nothing left for now.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.out.pop()
    }

    /// When [`Engine::handle_timeout`] must run next (ms since the epoch).
    pub fn poll_timeout(&self) -> Option<f64> {
        let probe = match self.link {
            Link::Connecting {
                next_probe,
                deadline,
                ..
            } => Some(next_probe.min(deadline)),
            _ => None,
        };
        [
            probe,
            self.out.next_deadline(),
            self.decisions.next_timer(),
            self.bucketing.next_poll_at,
            self.delivery.due_at(),
            self.watch_until,
        ]
        .into_iter()
        .flatten()
        .reduce(f64::min)
    }

    /// Runs whatever was due at `now`: request timeouts, the search for analytics.js, the
    /// decision cache write, bucketing file polling, delivery and storage.
    pub fn handle_timeout(&mut self, now: f64, segment: &mut impl SegmentSource) {
        for purpose in self.out.expire(now) {
            self.on_no_answer(now, purpose, None, segment);
        }
        if let Link::Connecting { next_probe, .. } = self.link {
            if next_probe <= now {
                self.probe(now, segment);
            }
        }
        if self.decisions.cache_write_at().is_some_and(|at| at <= now) {
            self.write_decision_cache(now);
        }
        self.ask_after_rate_limit(now);
        if self.bucketing.next_poll_at.is_some_and(|at| at <= now) {
            self.fetch_bucketing_file(now);
        }
        if self.watch_until.is_some_and(|at| at <= now) {
            self.watch_until = None;
            self.out.push(Effect::StopWatching);
        }
        // Segment can be asked to dispatch a call only when it is there (not under `fallback`).
        let current = self.identity_key().filter(|_| self.link == Link::Connected);
        self.delivery
            .on_timeout(&mut self.out, &self.config, now, current);
    }

    /// Writes at once what was due to be stored at the next timer (queues, exposure log, the
    /// decision cache): the module's handle is going away and no timer will fire for it.
    pub fn write_pending(&mut self, now: f64) {
        if self.decisions.cache_write_at().is_some() {
            self.write_decision_cache(now);
        }
        self.delivery.persist_if_pending(&mut self.out, now);
    }

    /// The answer to the request `token` asked for.
    pub fn handle_response(
        &mut self,
        now: f64,
        token: Token,
        answer: Answer,
        segment: &mut impl SegmentSource,
    ) {
        let Some(purpose) = self.out.take(token) else {
            // Abandoned (stale or timed out): nothing waits for it any more.
            return;
        };
        match (purpose, answer) {
            (_, Err(message)) => self.on_no_answer(now, purpose, Some(message), segment),
            (Purpose::Decision(generation), Ok(response)) => {
                self.on_decision_answer(now, generation, response, segment);
            }
            (Purpose::BucketingFile, Ok(response)) => self.on_bucketing_file(now, response),
            (Purpose::Batch(_) | Purpose::Leaving(..), Ok(response)) => {
                let jitter = self.random();
                self.delivery.on_answer(
                    &mut self.out,
                    &self.config,
                    now,
                    purpose,
                    Some(&response),
                    jitter,
                );
            }
            (Purpose::Unstored, Ok(_)) => {}
        }
    }

    /// A request that got no answer: none came (`message`), or its deadline passed (`None`).
    fn on_no_answer(
        &mut self,
        now: f64,
        purpose: Purpose,
        message: Option<String>,
        segment: &mut impl SegmentSource,
    ) {
        match purpose {
            Purpose::Decision(generation) => {
                let error = match message {
                    Some(message) => Error::DecisionNetwork(message),
                    None => Error::DecisionTimeout(self.config.timeout_ms),
                };
                self.on_decision_failure(now, generation, error, segment);
            }
            Purpose::BucketingFile => {
                let reason = message.unwrap_or_else(|| String::from("timed out"));
                self.on_bucketing_file_failure(Error::BucketingFetch(reason));
            }
            Purpose::Batch(_) | Purpose::Leaving(..) => {
                let jitter = self.random();
                self.delivery
                    .on_answer(&mut self.out, &self.config, now, purpose, None, jitter);
            }
            Purpose::Unstored => {}
        }
    }

    /// Storage refused an [`Effect::Store`] (full, disabled, or blocked): the page is told
    /// once, as a warning; queues carry on in memory, and `diagnose()` shows it.
    pub fn handle_storage_refused(&mut self) {
        if !core::mem::replace(&mut self.storage_refused, true) {
            self.out.warn_page(
                "STORAGE_REFUSED",
                String::from(
                    "localStorage refused a write (full or disabled): queues are kept in memory only and will not survive a reload",
                ),
            );
        }
    }

    /// What the next call may read of Segment, for the caller to read first.
    pub fn segment_need(&self) -> SegmentNeed {
        match self.link {
            _ if self.is_closed() => SegmentNeed::Nothing,
            Link::Idle | Link::Connecting { .. } => SegmentNeed::ProbeAndReading,
            Link::Connected => SegmentNeed::Reading,
            Link::Without => SegmentNeed::Nothing,
        }
    }

    /// The module's status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The last failure, if the module is not in a good state because of one.
    pub fn last_error(&self) -> Option<&Error> {
        self.last_error.as_ref()
    }

    /// The identity every request is built from, once Segment gave a usable one.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// The visitor's consent.
    pub fn consent(&self) -> bool {
        self.consent
    }

    /// The validated options.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the visitor's IDs came from.
    pub fn id_source(&self) -> IdSource {
        self.id_source
    }

    /// True while promises waiting for a decision (`start`, `updateContext`) must keep waiting:
    /// analytics.js is still looked for, or the decision of the current identity is on its way.
    pub fn is_deciding(&self) -> bool {
        matches!(self.link, Link::Idle | Link::Connecting { .. })
            || (self.identity.is_some()
                && match self.status {
                    Status::Starting => true,
                    Status::Refreshing => !self.decisions.serves_stored(self.generation),
                    _ => false,
                })
    }

    /// The flags are the current identity's, decided or stored for it: reads expose them.
    pub(super) fn flags_are_current(&self) -> bool {
        match self.status {
            Status::Ready | Status::Cached => true,
            Status::Refreshing => self.decisions.serves_stored(self.generation),
            _ => false,
        }
    }

    /// True once [`Engine::close`] ran.
    pub fn is_closed(&self) -> bool {
        self.status == Status::Closed
    }

    /// Signals waiting promises if nothing is being decided any more.
    pub(super) fn settle_if_done(&mut self) {
        if !self.is_deciding() {
            self.out.push(Effect::Settled);
        }
    }

    /// Records a failure to decide: status, `lastError`, a warning. Waiting promises settle.
    pub(super) fn fail(&mut self, error: Error) {
        self.warn_page(error.code(), error.message());
        self.status = Status::after(&error);
        self.last_error = Some(error);
        self.settle_if_done();
    }

    /// Logs a warning and tells the page's `warning` listeners.
    pub(super) fn warn_page(&mut self, code: &'static str, message: String) {
        self.out.warn_page(code, message);
    }

    /// Replaces the flags; what was exposed or remembered of the old ones no longer holds.
    pub(super) fn set_flags(&mut self, flags: FlagStore) {
        self.exposed.clear();
        self.exposed.resize(flags.campaigns().len(), false);
        self.flags = flags;
        self.out.push(Effect::FlagsReplaced);
    }

    /// Starts a new generation: answers for the previous one are stale, and its request is
    /// aborted.
    pub(super) fn next_generation(&mut self) {
        self.generation += 1;
        self.out
            .abandon(|purpose| matches!(purpose, Purpose::Decision(_)));
    }

    /// Jitter in `0..1` for the next retry.
    pub(super) fn random(&mut self) -> f64 {
        // xorshift64*: plenty to spread retries, and the same sequence for a test's seed.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}
