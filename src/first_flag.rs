//! The first stage of the web build: what a page needs for its first flag, as a `.wasm` small
//! enough to travel inside the JavaScript that loads it (feature `first-flag`; no wasm-bindgen,
//! the C ABI of `c_abi`). The full module (the engine: delivery, hits, the gate, identity
//! changes) is fetched once the first flag is in hand and takes over, hydrating with this
//! stage's decision, checked against Segment's identity (`engine::Takeover`).
//!
//! Every rule is the crate's own: the options are read by `crate::options`, the identity chosen
//! by `identity::resolve` (or read from Segment's storage under `fallback: "storage"`), the
//! request built and the answer judged by `crate::decision`, a stored decision reused and a
//! stored rate limit honoured as the engine does, reads answered by the [`FlagStore`]. The
//! loader (js/web/first-stage.js) only finds analytics.js, reads `user()`, sends what this stage
//! built, runs the bucketing engine in that mode, and hands every answer back.
//!
//! Like the engine, a state machine with time as an argument ([`FirstFlag`], natively tested);
//! [`exports`] drives one instance of it through the C ABI.

use alloc::string::String;
use alloc::vec::Vec;

use crate::config::{storage_prefix, Config, Fallback, Mode};
use crate::context::{full_context, write_context, Context};
use crate::decision::cache::DecisionCache;
use crate::decision::initial::parse_initial_decision;
use crate::decision::rate_limit;
use crate::decision::{
    campaigns_request, interpret_campaigns_response, FlagMetadata, FlagStore, ReadOutcome,
    ValueKind,
};
use crate::engine::bucketing_file_request;
use crate::error::Error;
use crate::identity::{resolve, Identity, SegmentIds};
use crate::json::Value;
use crate::options::{read_options, Options, Reader};
use crate::status::Status;
use crate::tracking::hits::{hit_of_call, Hit, HitMethod};
use crate::wire::Request;

/// How often the loader looks for analytics.js while it loads, as the engine does.
pub const PROBE_EVERY_MS: u32 = 25;

/// What the loader found of Segment.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// A loaded instance answered `user()`: its IDs and the allowlisted traits.
    Read(SegmentIds, Context),
    /// Something was there but did not load within `segmentTimeoutMs`.
    TimedOut,
    /// Nothing at all.
    Absent,
}

/// What the page stored that the first decision depends on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stored {
    /// The IDs Segment stored (cookie, else localStorage), read only under `fallback:
    /// "storage"` when Segment cannot be read.
    pub segment_ids: SegmentIds,
    /// This module's stored decisions (`decisions`).
    pub decisions: Option<String>,
    /// The environment's stored rate limit (`decisions-not-before`).
    pub not_before: Option<String>,
}

/// What the loader must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Send this request; hand the answer to [`FirstFlag::answer`].
    Send(Request),
    /// Bucketing mode: load the bucketing engine, give it the file (`file`, from the page, or
    /// fetched with `file_request`), and hand its answer for `visitor_id` and `context` (a JSON
    /// object) to [`FirstFlag::answer`].
    Bucketing {
        /// The page's `initialBucketing`.
        file: Option<String>,
        /// `GET {cdn}/{envId}/bucketing.json`, when the page gave no file or the engine refuses
        /// the page's.
        file_request: Request,
        /// Who to decide for.
        visitor_id: String,
        /// The full context, as a JSON object.
        context: String,
    },
    /// Flags (or defaults) are in hand.
    Done,
}

/// How an answer came back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer<'a> {
    /// The Decision API's answer: status, body, `Retry-After`.
    Http(u16, &'a str, Option<&'a str>),
    /// No answer: the request's deadline passed.
    TimedOut,
    /// No answer: the browser's message (offline, DNS, CORS).
    Network(&'a str),
    /// The bucketing engine's decision, a Decision API body.
    Local(&'a str),
    /// The bucketing engine or its file could not be fetched.
    BucketingFetch(&'a str),
    /// The bucketing engine refused the file.
    BucketingMalformed(&'a str),
}

/// The first stage of one `start()`.
#[derive(Debug)]
pub struct FirstFlag {
    options: Options,
    identity: Option<Identity>,
    context: Context,
    flags: FlagStore,
    status: Status,
    last_error: Option<Error>,
    /// The answer the flags came from, handed to the full module.
    body: Option<String>,
    /// That answer came from the Decision API (or the page) just now, not from storage.
    fresh: bool,
    /// Warnings for the page, in order.
    warnings: Vec<(&'static str, String)>,
    /// A 429's "not before" time of day, to store once.
    rate_limit: Option<f64>,
    /// The identity's last good answer from storage, served (`CACHED`) if the request fails,
    /// as the full module serves it.
    cached: Option<String>,
}

impl FirstFlag {
    /// Reads the options (their JSON text, as the full module reads them).
    pub fn new(options_text: &str) -> Result<FirstFlag, Error> {
        let options = read_options(options_text, Reader::Browser)?;
        Ok(FirstFlag {
            context: options.config.context.clone(),
            options,
            identity: None,
            flags: FlagStore::default(),
            status: Status::Starting,
            last_error: None,
            body: None,
            fresh: false,
            warnings: Vec::new(),
            rate_limit: None,
            cached: None,
        })
    }

    /// The validated options.
    pub fn config(&self) -> &Config {
        &self.options.config
    }

    /// Options ignored, to log.
    pub fn option_warnings(&self) -> &[String] {
        &self.options.warnings
    }

    /// Where this environment's stored keys start.
    pub fn storage_prefix(&self) -> String {
        storage_prefix(&self.options.config.env_id)
    }

    /// Decides, at `now` (time of day, ms), for what the loader found of Segment and what the
    /// page stored.
    pub fn decide(&mut self, now: f64, segment: Segment, stored: Stored) -> Next {
        let config = self.options.config.clone();
        let fallback = config.fallback == Fallback::Storage;
        let ids = match segment {
            Segment::Read(ids, traits) => {
                for (key, value) in traits.iter() {
                    self.context.insert(key.clone(), value.clone());
                }
                ids
            }
            _ if fallback && stored.segment_ids != SegmentIds::default() => stored.segment_ids,
            Segment::TimedOut => {
                return self.fail(Error::SegmentTimeout(config.segment_timeout_ms))
            }
            Segment::Absent => return self.fail(Error::SegmentUnavailable),
        };
        let identity = match resolve(&ids, config.id_policy) {
            Ok(identity) => identity,
            Err(rejection) => return self.fail(Error::InvalidVisitorId(rejection)),
        };
        self.identity = Some(identity.clone());
        if let Some(text) = self.options.initial_decision.take() {
            if self.hydrate(&identity, &text) {
                return Next::Done;
            }
        }
        if config.mode == Mode::Bucketing {
            let visitor_id = String::from(identity.visitor_id());
            let mut context = String::new();
            write_context(&mut context, &full_context(&self.context, &visitor_id));
            return Next::Bucketing {
                file: self.options.initial_bucketing.clone(),
                file_request: bucketing_file_request(&config),
                visitor_id,
                context,
            };
        }
        let cache = stored
            .decisions
            .as_deref()
            .and_then(|text| DecisionCache::decode(text).ok());
        if config.decision_max_age_ms > 0 {
            let mut context = String::new();
            write_context(&mut context, &self.context);
            let fresh = cache
                .as_ref()
                .and_then(|cache| cache.lookup_same(&identity, &context, now))
                .filter(|kept| kept.age_ms <= f64::from(config.decision_max_age_ms))
                .map(|kept| String::from(kept.body));
            if fresh.is_some_and(|body| self.apply(&identity, &body).is_ok()) {
                self.fresh = false;
                return Next::Done;
            }
        }
        let limited = stored
            .not_before
            .as_deref()
            .and_then(rate_limit::decode)
            .filter(|until| *until > now);
        self.cached = cache
            .as_ref()
            .and_then(|cache| cache.lookup(&identity, now))
            .map(String::from);
        if let Some(until) = limited {
            let seconds = crate::num::ceil((until - now) / 1000.0) as u32;
            let cached = self.cached.take();
            return self.fail_or_cached(Error::DecisionRateLimited(seconds), cached.as_deref());
        }
        let request = campaigns_request(&config, &identity, &self.context, config.consent);
        Next::Send(request)
    }

    /// The answer to what [`FirstFlag::decide`] asked for, at `now` (time of day, ms), with
    /// Segment's IDs as they are as it arrives (`ids_now`, `None` without Segment): an answer
    /// for an identity Segment no longer reports is not applied, and the full module asks for
    /// the new one.
    pub fn answer(&mut self, now: f64, answer: Answer<'_>, ids_now: Option<SegmentIds>) {
        let Some(identity) = self.identity.clone() else {
            return;
        };
        let policy = self.options.config.id_policy;
        if ids_now.is_some_and(|ids| resolve(&ids, policy).ok().as_ref() != Some(&identity)) {
            self.status = Status::Refreshing;
            return;
        }
        let result = match answer {
            Answer::Http(status, body, retry_after) => {
                if status == 429 {
                    self.rate_limit = Some(rate_limit::not_before(now, retry_after));
                }
                interpret_campaigns_response(&identity, status, body).map(|_| body)
            }
            Answer::Local(body) => Ok(body),
            Answer::TimedOut => Err(Error::DecisionTimeout(self.options.config.timeout_ms)),
            Answer::Network(message) => Err(Error::DecisionNetwork(String::from(message))),
            Answer::BucketingFetch(reason) => Err(Error::BucketingFetch(String::from(reason))),
            Answer::BucketingMalformed(reason) => {
                Err(Error::BucketingMalformed(String::from(reason).into()))
            }
        };
        if let Err(error) = result.and_then(|body| self.apply(&identity, body)) {
            let cached = self.cached.take();
            self.fail_or_cached(error, cached.as_deref());
        }
    }

    /// Reads `key` expecting `kind`: the value (`None`: the caller's default) and whether the
    /// read exposes the visitor (the full module sends it once it takes over).
    pub fn read(&mut self, key: &str, kind: ValueKind) -> (Option<&Value>, bool) {
        let current = matches!(self.status, Status::Ready | Status::Cached);
        let read = self.flags.read(key, kind);
        if read.outcome == ReadOutcome::TypeMismatch {
            let mut message = String::from("flag `");
            message.push_str(key);
            message.push_str("` has another type than its default; default returned");
            self.warnings.push(("FLAG_TYPE_MISMATCH", message));
        }
        (read.value, current && read.expose.is_some())
    }

    /// The identity of this moment: what Segment's IDs `now` make under the module's policy
    /// (`None`: no Segment to ask, or IDs it would not use), else the one decided for.
    pub fn identity_now(&self, now: Option<SegmentIds>) -> Option<Identity> {
        let policy = self.options.config.id_policy;
        now.and_then(|ids| resolve(&ids, policy).ok())
            .or_else(|| self.identity.clone())
    }

    /// Whether a hit call (`[method, …args]`, as the page made it) would be sent, and for whom:
    /// `Ok(Some(identity))`, the identity of this moment (see [`FirstFlag::identity_now`]);
    /// `Ok(None)` when it is not for a reason that is not the page's mistake (no identity, no
    /// consent: `consent` is the visitor's as the page last set it); or why it is refused, as
    /// the full module answers the same call.
    pub fn check_hit(
        &self,
        call: &[Value],
        consent: bool,
        ids_now: Option<SegmentIds>,
    ) -> Result<Option<Identity>, Error> {
        let Some(identity) = self.identity_now(ids_now) else {
            return Ok(None);
        };
        if !consent {
            return Ok(None);
        }
        let (method, args) = call
            .split_first()
            .ok_or(Error::InvalidHit("action must be a string"))?;
        let method = method
            .as_str()
            .and_then(HitMethod::parse)
            .ok_or(Error::InvalidHit("action must be a string"))?;
        let (vid, cuid) = identity.hit_ids();
        let hit = Hit {
            visitor_id: String::from(vid),
            customer_user_id: cuid.map(String::from),
            queue_time_ms: 0.0,
            kind: hit_of_call(method, args, "")?,
        };
        hit.validate().map_err(Error::InvalidHit)?;
        Ok(Some(identity))
    }

    /// Metadata of the campaign that sets `key`.
    pub fn metadata(&self, key: &str) -> Option<FlagMetadata<'_>> {
        self.flags
            .campaign_of(key)
            .map(|(_, campaign)| FlagMetadata::of(campaign))
    }

    /// The flags.
    pub fn flags(&self) -> &FlagStore {
        &self.flags
    }

    /// The module's status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The last failure.
    pub fn last_error(&self) -> Option<&Error> {
        self.last_error.as_ref()
    }

    /// The identity decided for.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// What the full module hydrates with, `{visitorId, anonymousId, decision}` as
    /// `start({initialDecision})` takes it: `None` unless the flags are a decision for the
    /// identity (cached flags and defaults are the full module's to find again).
    pub fn initial_decision(&self) -> Option<String> {
        if !matches!(self.status, Status::Ready | Status::Panic) {
            return None;
        }
        let (identity, body) = (self.identity.as_ref()?, self.body.as_deref()?);
        let mut out = String::with_capacity(body.len() + 128);
        crate::json::ObjectWriter::new(&mut out)
            .string("visitorId", identity.visitor_id())
            .opt_string("anonymousId", identity.anonymous_id())
            .with("decision", |out| out.push_str(body))
            .finish();
        Some(out)
    }

    /// The decision came from the Decision API or the page just now, not from storage.
    pub fn is_fresh(&self) -> bool {
        self.fresh
    }

    /// Warnings raised since the last call, for the page's listeners and the console.
    pub fn take_warnings(&mut self) -> Vec<(&'static str, String)> {
        core::mem::take(&mut self.warnings)
    }

    /// A 429's time of day before which no decision is asked, to store once.
    pub fn take_rate_limit(&mut self) -> Option<f64> {
        self.rate_limit.take()
    }

    /// `initialDecision`, if made for exactly `identity`; otherwise the page is told why.
    fn hydrate(&mut self, identity: &Identity, text: &str) -> bool {
        let refused = match parse_initial_decision(text) {
            Ok(initial) if initial.is_for(identity) => match self.apply(identity, &initial.body) {
                Ok(()) => return true,
                Err(error) => error,
            },
            Ok(_) => Error::StaleIdentity,
            Err(error) => error,
        };
        self.warnings.push((refused.code(), refused.message()));
        false
    }

    /// Applies a Decision API body for `identity` (taken as fresh until a caller says not).
    fn apply(&mut self, identity: &Identity, body: &str) -> Result<(), Error> {
        let decision = interpret_campaigns_response(identity, 200, body)?;
        self.status = match decision.panic {
            true => Status::Panic,
            false => Status::Ready,
        };
        self.flags = FlagStore::new(decision);
        self.body = Some(String::from(body));
        self.fresh = true;
        Ok(())
    }

    fn fail(&mut self, error: Error) -> Next {
        self.fail_or_cached(error, None)
    }

    /// A failure: the identity's cached answer if there is one (status `CACHED`), else
    /// defaults.
    fn fail_or_cached(&mut self, error: Error, cached: Option<&str>) -> Next {
        self.warnings.push((error.code(), error.message()));
        let served = match (cached.map(String::from), self.identity.clone()) {
            (Some(body), Some(identity)) => self.apply(&identity, &body).is_ok(),
            _ => false,
        };
        self.status = match served {
            true => Status::Cached,
            false => Status::after(&error),
        };
        // Served from storage, if at all: not a decision to keep as new.
        self.fresh = false;
        self.last_error = Some(error);
        Next::Done
    }
}

pub mod exports;

#[cfg(test)]
mod tests;
