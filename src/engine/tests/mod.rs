//! Native tests of the engine: a fake clock, a scripted Segment that behaves like analytics-next
//! (identify fires late and rotates the anonymousId, reset fires at once, setAnonymousId fires
//! nothing), an in-memory store and scripted HTTP routes. [`World::advance`] moves the clock and
//! delivers, in time order, every timer, answer and Segment event that falls due.

mod bucketing;
mod changes;
mod clock;
mod decisions;
mod delivery;
mod early;
mod gate;
mod hydration;
mod identity;
mod reads;
mod reuse;

use std::collections::BTreeMap;

use serde_json::{json, Value as J};

use super::*;
use crate::bucketing::{decide, parse_bucketing, BucketingFile};
use crate::config::{Config, EnsureSegmentKnows, LogLevel};
use crate::context::{Context, ContextValue};
use crate::decision::write_decision;
use crate::identity::SegmentIds;
use crate::wire::Request;

/// Start time of every world: a realistic epoch, so that ages are computed as in a browser.
pub const T0: f64 = 1_764_600_000_000.0;
/// analytics-next delivers a call (and fires `identify`/`page`/`track`) this long after it is made.
pub const DISPATCH_MS: f64 = 40.0;

/// Config pointing at test hosts, as the browser suites' `base_options`.
pub fn config() -> Config {
    let mut config = Config {
        env_id: "env_test".into(),
        api_key: "key_test_123456".into(),
        segment_timeout_ms: 300,
        timeout_ms: 300,
        log_level: LogLevel::Debug,
        // The gate has its own tests; the others test what is sent.
        ensure_segment_knows: EnsureSegmentKnows::Off,
        ..Config::default()
    };
    config.endpoints.decision = "https://decision.test".into();
    config.endpoints.events = "https://events.test".into();
    config.endpoints.cdn = "https://cdn.test".into();
    config
}

/// What analytics.js looks like to the engine.
#[derive(Debug, Default)]
pub struct FakeSegment {
    pub probe: Option<Probe>,
    pub ids: SegmentIds,
    pub traits: Context,
    pub stored: SegmentIds,
    pub reads: usize,
    /// Readings fail (`user()` threw).
    pub broken: bool,
}

impl SegmentSource for FakeSegment {
    fn probe(&mut self) -> Probe {
        self.probe.unwrap_or(Probe::Absent)
    }

    fn read(&mut self) -> Option<Reading> {
        self.reads += 1;
        if self.broken || self.probe != Some(Probe::Loaded) {
            return None;
        }
        Some(Reading {
            ids: self.ids.clone(),
            traits: self.traits.clone(),
        })
    }

    fn stored_ids(&mut self) -> SegmentIds {
        self.stored.clone()
    }
}

/// localStorage under the module's prefix, and the tab's sessionStorage ID.
#[derive(Debug, Clone)]
pub struct FakeStore {
    pub tab: String,
    pub map: BTreeMap<String, String>,
    /// Writes are refused (full or disabled storage).
    pub refuses: bool,
}

impl Default for FakeStore {
    fn default() -> Self {
        FakeStore {
            tab: "tab-1".into(),
            map: BTreeMap::new(),
            refuses: false,
        }
    }
}

impl StoredState for FakeStore {
    fn tab_id(&self) -> String {
        self.tab.clone()
    }
    fn get(&self, name: &str) -> Option<String> {
        self.map.get(name).cloned()
    }
    fn names(&self) -> Vec<String> {
        self.map.keys().cloned().collect()
    }
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status and a body.
    Status(u16, String),
    /// A status with a `Retry-After` header.
    RetryAfter(u16, String),
    /// A 200 with a body and a `Last-Modified` header.
    Modified(String, String),
    /// A `/campaigns` answer for whoever was asked about: `who` names them.
    Echo,
    /// No answer: the network failed.
    Network,
    /// No answer ever (until aborted).
    Hang,
}

/// Answers for URLs containing `part`, in order, each after `delay` ms; the last one repeats.
#[derive(Debug, Clone)]
struct Route {
    part: String,
    replies: Vec<(Reply, f64)>,
}

/// A request the engine asked for.
#[derive(Debug, Clone)]
pub struct Sent {
    pub token: Token,
    pub at: f64,
    pub request: Request,
    pub aborted: bool,
}

impl Sent {
    /// The body as JSON.
    pub fn body(&self) -> J {
        serde_json::from_str(&self.request.body).unwrap_or(J::Null)
    }
}

#[derive(Debug)]
enum Later {
    Answer(Token, Answer),
    Event(SegmentEvent),
    Loads,
}

/// The engine in a scripted page.
#[derive(Debug)]
pub struct World {
    pub engine: Engine,
    pub now: f64,
    pub segment: FakeSegment,
    pub store: FakeStore,
    pub sent: Vec<Sent>,
    pub events: Vec<PageEvent>,
    pub logs: Vec<(LogLevel, String)>,
    pub tracked: Vec<SegmentCall>,
    pub settled: usize,
    pub flushed: Vec<u32>,
    pub subscribed: bool,
    pub watching: bool,
    /// The bucketing engine fails to load.
    pub engine_fails: bool,
    /// The bucketing engine refuses every decision.
    pub decide_fails: bool,
    bucketing_file: Option<BucketingFile>,
    routes: Vec<Route>,
    later: Vec<(f64, Later)>,
    /// Counter of analytics-next's generated anonymousIds.
    rotations: u32,
    /// The wall clock minus the engine's monotonic clock: 0 until a test sets the system clock.
    pub wall_shift: f64,
}

impl World {
    /// A page with `config`, Segment loaded with the anonymousId `anon-1`, nothing started.
    pub fn new(config: Config) -> World {
        World::with_store(config, FakeStore::default())
    }

    /// [`World::new`] over what an earlier page left in storage.
    pub fn with_store(config: Config, store: FakeStore) -> World {
        World {
            engine: Engine::new(config, 42),
            now: T0,
            segment: FakeSegment {
                probe: Some(Probe::Loaded),
                ids: ids(None, "anon-1"),
                ..FakeSegment::default()
            },
            store,
            sent: Vec::new(),
            events: Vec::new(),
            logs: Vec::new(),
            tracked: Vec::new(),
            settled: 0,
            flushed: Vec::new(),
            subscribed: false,
            watching: false,
            engine_fails: false,
            decide_fails: false,
            bucketing_file: None,
            routes: Vec::new(),
            later: Vec::new(),
            rotations: 0,
            wall_shift: 0.0,
        }
    }

    /// Scripts the answers for URLs containing `part`; the last reply repeats.
    pub fn route(&mut self, part: &str, replies: &[(Reply, f64)]) {
        self.routes.retain(|r| r.part != part);
        self.routes.push(Route {
            part: part.into(),
            replies: replies.to_vec(),
        });
    }

    /// Answers every decision for whoever is asked about, and every delivery with success.
    pub fn route_all_ok(&mut self) {
        self.route("/campaigns", &[(Reply::Echo, 0.0)]);
        self.route("/activate", &[(Reply::Status(204, String::new()), 0.0)]);
        self.route("events.test", &[(Reply::Status(200, String::new()), 0.0)]);
    }

    /// `start()`, and everything that follows at once.
    pub fn start(&mut self) {
        self.start_with(None);
    }

    /// `start()` with an `initialBucketing` file.
    pub fn start_with(&mut self, initial_bucketing: Option<String>) {
        let preloaded = Preloaded {
            bucketing: initial_bucketing,
            ..Preloaded::default()
        };
        self.start_preloaded(preloaded);
    }

    /// `start()` with what the page already had.
    pub fn start_preloaded(&mut self, preloaded: Preloaded) {
        self.read_wall_clock();
        self.engine
            .start(self.now, preloaded, &mut self.segment, &self.store);
        self.pump();
    }

    /// Runs a command on the engine (it may read Segment), then performs its effects.
    pub fn run<R>(&mut self, f: impl FnOnce(&mut Engine, f64, &mut FakeSegment) -> R) -> R {
        self.read_wall_clock();
        let result = f(&mut self.engine, self.now, &mut self.segment);
        self.pump();
        result
    }

    /// `getFlag(key, default)` as the facade does it: the read, then its exposure.
    pub fn read(&mut self, key: &str, kind: crate::decision::ValueKind, expose: bool) -> Option<J> {
        let (value, must_expose) = {
            let read = self.engine.read(key, kind, expose);
            (
                read.value.map(|v| serde_json::to_value(v).unwrap()),
                read.expose,
            )
        };
        if must_expose {
            let now = self.now;
            self.engine.expose_flag(now, key, &mut self.segment);
        }
        self.pump();
        value
    }

    /// The string flag `key`, exposing it.
    pub fn who(&mut self) -> Option<String> {
        self.read("who", crate::decision::ValueKind::String, true)
            .and_then(|v| v.as_str().map(String::from))
    }

    /// Moves the clock `ms` forward, delivering everything due on the way in time order.
    pub fn advance(&mut self, ms: f64) {
        let until = self.now + ms;
        loop {
            let timer = self.engine.poll_timeout();
            let next_later = self
                .later
                .iter()
                .enumerate()
                .min_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
                .map(|(i, (at, _))| (i, *at));
            let next = match (timer, next_later) {
                (Some(t), Some((i, l))) if l <= t => Some((l, Some(i))),
                (Some(t), _) => Some((t, None)),
                (None, Some((i, l))) => Some((l, Some(i))),
                (None, None) => None,
            };
            let Some((at, which)) = next.filter(|(at, _)| *at <= until) else {
                break;
            };
            self.now = self.now.max(at);
            self.read_wall_clock();
            match which {
                None => {
                    let now = self.now;
                    self.engine.handle_timeout(now, &mut self.segment);
                }
                Some(i) => {
                    let (_, later) = self.later.remove(i);
                    let now = self.now;
                    match later {
                        Later::Answer(token, answer) => {
                            self.engine
                                .handle_response(now, token, answer, &mut self.segment)
                        }
                        Later::Event(event) => {
                            self.engine
                                .handle_segment_event(now, event, &mut self.segment)
                        }
                        Later::Loads => {
                            self.segment.probe = Some(Probe::Loaded);
                        }
                    }
                }
            }
            self.pump();
        }
        self.now = until;
    }

    /// Hands the engine the wall clock, as the browser's driver does before every call.
    fn read_wall_clock(&mut self) {
        self.engine
            .set_wall_clock(self.now, self.now + self.wall_shift);
    }

    /// analytics.js loads (the stub is replaced) after `ms`.
    pub fn segment_loads_after(&mut self, ms: f64) {
        self.segment.probe = Some(Probe::Loading);
        self.later.push((self.now + ms, Later::Loads));
    }

    /// `analytics.identify(user)`: the new userId at once, the event after [`DISPATCH_MS`];
    /// switching from one userId to another rotates the anonymousId, as analytics-next does.
    pub fn identify(&mut self, user: &str) {
        if self
            .segment
            .ids
            .user_id
            .as_deref()
            .is_some_and(|u| u != user)
        {
            self.rotations += 1;
            self.segment.ids.anonymous_id = Some(format!("anon-rotated-{}", self.rotations));
        }
        self.segment.ids.user_id = Some(user.into());
        self.later
            .push((self.now + DISPATCH_MS, Later::Event(SegmentEvent::Identify)));
    }

    /// `analytics.reset()`: a new anonymousId and the `reset` event at once.
    pub fn reset(&mut self) {
        self.rotations += 1;
        self.segment.ids = ids(None, &format!("anon-reset-{}", self.rotations));
        self.run(|e, now, s| e.handle_segment_event(now, SegmentEvent::Reset, s));
    }

    /// `analytics.page()` (or `track`): its event once delivered.
    pub fn segment_dispatches(&mut self) {
        self.later.push((
            self.now + DISPATCH_MS,
            Later::Event(SegmentEvent::Dispatched),
        ));
    }

    /// Performs every effect the engine asked for.
    pub fn pump(&mut self) {
        while let Some(effect) = self.engine.poll_effect() {
            let now = self.now;
            match effect {
                Effect::Send { token, request } => {
                    let reply = self
                        .routes
                        .iter_mut()
                        .find(|r| request.url.contains(&r.part))
                        .map(|route| match route.replies.len() {
                            1 => route.replies[0].clone(),
                            _ => route.replies.remove(0),
                        });
                    let (reply, delay) = reply
                        .unwrap_or((Reply::Status(404, r#"{"message":"no route"}"#.into()), 0.0));
                    let answer = match reply {
                        Reply::Status(status, body) => Some(Ok(Response {
                            status,
                            body,
                            last_modified: None,
                            retry_after: None,
                        })),
                        Reply::RetryAfter(status, after) => Some(Ok(Response {
                            status,
                            body: String::new(),
                            last_modified: None,
                            retry_after: Some(after),
                        })),
                        Reply::Modified(body, date) => Some(Ok(Response {
                            status: 200,
                            body,
                            last_modified: Some(date),
                            retry_after: None,
                        })),
                        Reply::Echo => {
                            let body: J = serde_json::from_str(&request.body).unwrap();
                            let visitor = body["visitor_id"].as_str().unwrap().to_owned();
                            Some(Ok(Response {
                                status: 200,
                                body: echo(&visitor).to_string(),
                                last_modified: None,
                                retry_after: None,
                            }))
                        }
                        Reply::Network => Some(Err("Failed to fetch".into())),
                        Reply::Hang => None,
                    };
                    if let Some(answer) = answer {
                        self.later.push((now + delay, Later::Answer(token, answer)));
                    }
                    self.sent.push(Sent {
                        token,
                        at: now,
                        request,
                        aborted: false,
                    });
                }
                Effect::Abort(token) => {
                    if let Some(sent) = self.sent.iter_mut().find(|s| s.token == token) {
                        sent.aborted = true;
                    }
                    self.later
                        .retain(|(_, l)| !matches!(l, Later::Answer(t, _) if *t == token));
                }
                Effect::Store { name, value } => {
                    if self.store.refuses {
                        self.engine.handle_storage_refused();
                    } else {
                        match value {
                            Some(value) => self.store.map.insert(name, value),
                            None => self.store.map.remove(&name),
                        };
                    }
                }
                Effect::Restore => {
                    let store = self.store.clone();
                    self.engine.handle_restore(now, &store);
                }
                Effect::Emit(event) => self.events.push(event),
                Effect::FlagsReplaced => {}
                Effect::Subscribe => self.subscribed = true,
                Effect::Unsubscribe => self.subscribed = false,
                Effect::WatchSegmentCalls => self.watching = true,
                Effect::StopWatching => self.watching = false,
                Effect::TrackInSegment(call) => {
                    self.tracked.push(call);
                    self.segment_dispatches();
                }
                Effect::LoadBucketingEngine(_) => {
                    let loaded = match self.engine_fails {
                        true => Err(crate::Error::BucketingFetch("engine unreachable".into())),
                        false => Ok(()),
                    };
                    self.engine.handle_bucketing_engine(now, loaded);
                }
                Effect::LoadBucketingFile(text) => {
                    let loaded = parse_bucketing(&text).map(|file| {
                        self.bucketing_file = Some(file);
                    });
                    self.engine.handle_bucketing_file(now, loaded);
                }
                Effect::DecideLocally {
                    token,
                    visitor_id,
                    context,
                } => {
                    let file = self.bucketing_file.as_ref().expect("a file was loaded");
                    let context = parse_context(&context);
                    let answer = match self.decide_fails {
                        true => Err(crate::Error::BucketingMalformed("context refused".into())),
                        false => Ok(write_decision(&decide(file, &visitor_id, &context))),
                    };
                    self.engine
                        .handle_local_decision(now, token, answer, &mut self.segment);
                }
                Effect::Settled => self.settled += 1,
                Effect::Flushed(id) => self.flushed.push(id),
                Effect::Log { level, line } => self.logs.push((level, line)),
            }
        }
    }

    /// Every request to a URL containing `part`.
    pub fn sent_to(&self, part: &str) -> Vec<Sent> {
        self.sent
            .iter()
            .filter(|s| s.request.url.contains(part))
            .cloned()
            .collect()
    }

    /// Every hit the collector was sent, in order.
    pub fn hits_sent(&self) -> Vec<J> {
        self.sent_to("events.test")
            .iter()
            .flat_map(|s| s.body()["h"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// Every activation item sent, in order.
    pub fn activations_sent(&self) -> Vec<J> {
        self.sent_to("/activate")
            .iter()
            .flat_map(|s| s.body()["batch"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// The reasons of the `change` events so far.
    pub fn change_reasons(&self) -> Vec<&'static str> {
        self.events
            .iter()
            .filter_map(|e| match e {
                PageEvent::Change { reason, .. } => Some(reason.as_str()),
                _ => None,
            })
            .collect()
    }

    /// `diagnose()` now.
    pub fn diagnose(&self) -> Diagnosis<'_> {
        self.engine.diagnose(self.now)
    }

    /// The status string.
    pub fn status(&self) -> &'static str {
        self.engine.status().as_str()
    }

    /// The code of `lastError`.
    pub fn error_code(&self) -> Option<&'static str> {
        self.engine.last_error().map(crate::Error::code)
    }

    /// Lines logged at `level` or above.
    pub fn log_lines(&self) -> Vec<String> {
        self.logs.iter().map(|(_, l)| l.clone()).collect()
    }

    /// The visitor ID in use.
    pub fn visitor(&self) -> Option<String> {
        self.engine.identity().map(|i| i.visitor_id().to_owned())
    }
}

/// Segment IDs.
pub fn ids(user: Option<&str>, anonymous: &str) -> SegmentIds {
    SegmentIds {
        user_id: user.map(Into::into),
        anonymous_id: Some(anonymous.into()),
    }
}

/// `track(action)`: an event hit with nothing else.
pub fn event(action: &str) -> crate::tracking::hits::HitKind {
    use crate::tracking::hits::{EventCategory, EventHit, HitKind};
    HitKind::Event(EventHit {
        category: EventCategory::ActionTracking,
        action: action.into(),
        label: None,
        value: None,
    })
}

/// The `/campaigns` answer of the browser suites' fake for `visitor`.
pub fn echo(visitor: &str) -> J {
    json!({"visitorId": visitor, "campaigns": [
        {"id": "c1", "variationGroupId": "vg1", "variation": {"id": "v1",
            "modifications": {"type": "FLAG", "value": {"who": visitor, "btnColor": "blue"}}}},
        {"id": "c2", "variationGroupId": "vg2", "variation": {"id": "v2",
            "modifications": {"type": "FLAG", "value": {"banner": "sale"}}}}
    ]})
}

/// The browser suites' standard campaigns (`tests/fixtures/standard_campaigns.json`) for
/// `visitor`.
pub fn decision_for(visitor: &str) -> String {
    let campaigns: J = serde_json::from_str(STANDARD_CAMPAIGNS).unwrap();
    json!({"visitorId": visitor, "campaigns": campaigns}).to_string()
}

/// The campaigns the browser suites decide too.
const STANDARD_CAMPAIGNS: &str = include_str!("../../../tests/fixtures/standard_campaigns.json");

fn parse_context(text: &str) -> Context {
    let value: J = serde_json::from_str(text).unwrap();
    let mut context = Context::new();
    for (key, value) in value.as_object().unwrap() {
        let value = match value {
            J::String(s) => ContextValue::String(s.clone()),
            J::Bool(b) => ContextValue::Bool(*b),
            J::Number(n) => ContextValue::Number(n.as_f64().unwrap()),
            other => panic!("context value {other}"),
        };
        context.insert(key.clone(), value);
    }
    context
}

/// A started world with every route answering, decided for `anon-1`.
pub fn ready(config: Config) -> World {
    let mut world = World::new(config);
    world.route_all_ok();
    world.start();
    world.advance(0.0);
    assert_eq!(world.status(), "READY");
    world
}
