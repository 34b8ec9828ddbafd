//! What crosses the engine's edge: the effects it asks the caller to perform, and the small
//! read-only views of the outside world it looks at synchronously (Segment, storage).
//!
//! Effects are data, so a native test can assert "this request, with these IDs, was asked for"
//! without a browser. The two traits are the only outside reads: Segment's identity must be
//! re-read at the instant a request or an exposure is made (nothing fires on
//! `setAnonymousId`), and the stored queues are read once, after the first request is out.

use alloc::string::String;
use alloc::vec::Vec;

use crate::config::LogLevel;
use crate::context::Context;
use crate::identity::{ChangeReason, SegmentIds};
use crate::wire::Request;

/// Names one request the engine asked for; its answer is handed back with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Token(pub(crate) u32);

/// An answer of any status (a non-2xx status is data, not a failure).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The body text.
    pub body: String,
    /// The `Last-Modified` header, when sent (bucketing file polling).
    pub last_modified: Option<String>,
    /// The `Retry-After` header, when sent (429, 503).
    pub retry_after: Option<String>,
}

/// What the page already had when it started the module: nothing is asked for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preloaded {
    /// `initialBucketing`: a bucketing file, as JSON text.
    pub bucketing: Option<String>,
    /// `initialDecision`: what `decideFromCookies` gave the server, as JSON text; used only
    /// if made for the identity read from Segment at start.
    pub decision: Option<String>,
    /// The module takes over from the web build's first stage (`src/first_flag.rs`), whose
    /// decision `decision` is: not the page's, so one made for another identity (Segment changed
    /// meanwhile) is replaced without a `STALE_IDENTITY` warning.
    pub takeover: Option<Takeover>,
}

/// What the first stage leaves to the module taking over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Takeover {
    /// Who the first stage decided for (its flags are those of `Preloaded::decision`, or its
    /// cached or default flags when that is `None`).
    pub visitor_id: Option<String>,
    /// The anonymousId beside it.
    pub anonymous_id: Option<String>,
    /// The decision is new (from the Decision API, the bucketing engine or the page's
    /// `initialDecision`), not one reused from storage: kept as the identity's last good
    /// decision, as the module alone would keep it.
    pub fresh: bool,
    /// Segment dispatched a call (`page`, `track`, `identify`) while only the first stage was
    /// up: if still for this identity, Segment knows the visitor (the seen-by-Segment gate).
    /// (What the page did meanwhile comes once the module has started:
    /// [`Engine::handle_stage_calls`](super::Engine::handle_stage_calls).)
    pub dispatched: bool,
    /// Segment fired `reset` while only the first stage was up: names a change of an anonymous
    /// visitor's ID `reset` rather than `anonymous-id`.
    pub reset: bool,
}

/// What a send gave: an answer, or none (the transport's message: offline, DNS, CORS, refused
/// connection, a keepalive request the browser would not take).
pub type Answer = Result<Response, String>;

/// What looking for analytics.js found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// A loaded instance: `user()` answers synchronously with Segment's stored identity.
    Loaded,
    /// Something is there but not loaded yet (the snippet's stub, classic analytics.js before
    /// `initialize`, an `AnalyticsBrowser` still loading).
    Loading,
    /// Nothing at all.
    Absent,
}

/// One reading of Segment's identity.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reading {
    /// `user().id()` and `user().anonymousId()`.
    pub ids: SegmentIds,
    /// The allowlisted traits with a string, number or boolean value.
    pub traits: Context,
}

/// What the engine may read of Segment in its next call ([`Engine::segment_need`]), so that
/// the caller can read it beforehand and hand the reading in.
///
/// [`Engine::segment_need`]: super::Engine::segment_need
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentNeed {
    /// Nothing: Segment is not followed (none was found, or the module is closed).
    Nothing,
    /// The identity of the loaded instance.
    Reading,
    /// Whether analytics.js has loaded, and if so its identity.
    ProbeAndReading,
}

/// Segment as the engine sees it. The browser hands in what it read of analytics.js just before
/// the call (so no page code runs inside the engine); tests script it.
pub trait SegmentSource {
    /// Looks for a loaded analytics instance now (the global is re-read every time: the
    /// snippet's stub is replaced by the real instance when it loads).
    fn probe(&mut self) -> Probe;
    /// Reads the loaded instance's identity now; `None` when it cannot be read (not loaded, or
    /// `user()` threw).
    fn read(&mut self) -> Option<Reading>;
    /// The IDs Segment stored in its cookies or localStorage, read only, for `fallback:
    /// "storage"`. Never calls analytics.js, whose `anonymousId()` would mint an ID.
    fn stored_ids(&mut self) -> SegmentIds;
}

/// The module's stored keys as they are when the engine asks for them ([`Effect::Restore`]).
pub trait StoredState {
    /// This tab's ID (sessionStorage: it survives a reload of the tab, not a new tab).
    fn tab_id(&self) -> String;
    /// The value stored under the module's `name`.
    fn get(&self, name: &str) -> Option<String>;
    /// Every name stored under the module's prefix.
    fn names(&self) -> Vec<String>;
}

/// How the page is going away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Departure {
    /// It was hidden (`visibilitychange`): it may be frozen or closed with no other event, or
    /// come back.
    Hidden,
    /// It is being unloaded (`pagehide`): a navigation, a reload, the tab closing, or the
    /// back-forward cache.
    PageHide,
}

impl Takeover {
    /// True when it was for `identity`.
    pub(super) fn is_for(&self, identity: Option<&crate::identity::Identity>) -> bool {
        identity.is_some_and(|identity| {
            self.visitor_id.as_deref() == Some(identity.visitor_id())
                && self.anonymous_id.as_deref() == identity.anonymous_id()
        })
    }

    /// Segment's IDs as the first stage's `visitorId`/`anonymousId` give them: an anonymousId
    /// beside the visitor ID means it was the userId. `None` if the stage had no visitor.
    pub(super) fn segment_ids(&self) -> Option<SegmentIds> {
        let visitor_id = self.visitor_id.clone()?;
        Some(match self.anonymous_id.clone() {
            Some(anonymous_id) => SegmentIds {
                user_id: Some(visitor_id),
                anonymous_id: Some(anonymous_id),
            },
            None => SegmentIds {
                user_id: None,
                anonymous_id: Some(visitor_id),
            },
        })
    }

    /// Reads the first stage's `{visitorId, anonymousId, fresh, dispatched, reset}`; what is
    /// missing or of another type reads as absent.
    pub fn from_json(text: &str) -> Takeover {
        use crate::json::Value;
        let value = crate::json::parse(text).unwrap_or(Value::Null);
        let text = |key| value.get(key).and_then(Value::as_str).map(String::from);
        Takeover {
            visitor_id: text("visitorId"),
            anonymous_id: text("anonymousId"),
            fresh: value.get("fresh").and_then(Value::as_bool) == Some(true),
            dispatched: value.get("dispatched").and_then(Value::as_bool) == Some(true),
            reset: value.get("reset").and_then(Value::as_bool) == Some(true),
        }
    }
}

/// Something the page listens to (`fs.on(…)`).
#[derive(Debug, Clone, PartialEq)]
pub enum PageEvent {
    /// The Segment identity in use changed, or the context did and decisions are fetched again.
    Change {
        /// Why.
        reason: ChangeReason,
        /// The visitor ID now in use.
        visitor_id: Option<String>,
        /// The anonymousId beside it.
        anonymous_id: Option<String>,
    },
    /// New flags were applied.
    Flags,
    /// Something the page's integrators should know.
    Warning {
        /// A stable code (`HITS_HELD`, an error code, …).
        code: &'static str,
        /// What happened, in words.
        message: String,
    },
}

/// A call the engine asks analytics.js to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentCall {
    /// `analytics.track`'s event name.
    pub event: &'static str,
    /// Its properties: string values, `None` for `null`.
    pub properties: Vec<(&'static str, Option<String>)>,
}

/// Something the caller must do, in the order [`Engine::poll_effect`] hands them out.
///
/// [`Engine::poll_effect`]: super::Engine::poll_effect
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send `request`; hand the answer to `handle_response` with `token`.
    Send {
        /// Names the answer.
        token: Token,
        /// What to send.
        request: Request,
    },
    /// Abort the request `token` (its answer, should one come, is ignored).
    Abort(Token),
    /// Write `value` under the module's key `name`, or remove the key when `value` is `None`.
    Store {
        /// The key within the module's prefix (`queue:{tab}`, `exposures`, …).
        name: String,
        /// The text to keep, or `None` to remove it.
        value: Option<String>,
    },
    /// Read the stored state now and hand it to `handle_restore`.
    Restore,
    /// Tell the page's listeners.
    Emit(PageEvent),
    /// The flags were replaced: whatever the caller remembered of the old ones is void.
    FlagsReplaced,
    /// Listen to analytics.js's `identify`, `reset`, `page` and `track` events and report them
    /// with `handle_segment_event`.
    Subscribe,
    /// Stop listening to analytics.js.
    Unsubscribe,
    /// Report, with `handle_segment_call_seen`, a request to Segment's own API completing in the
    /// page (one made before the module listened counts too), until [`Effect::StopWatching`].
    WatchSegmentCalls,
    /// Stop the watch of [`Effect::WatchSegmentCalls`].
    StopWatching,
    /// Make analytics.js send a call.
    TrackInSegment(SegmentCall),
    /// Fetch and compile the bucketing engine (from this URL, or next to the module's own .wasm),
    /// then report with `handle_bucketing_engine`.
    LoadBucketingEngine(Option<String>),
    /// Give the bucketing engine this bucketing file, then report with `handle_bucketing_file`.
    LoadBucketingFile(String),
    /// Decide locally for `visitor_id` with `context` (a JSON object) and hand the engine's
    /// answer, a Decision API body (or why it gave none), to `handle_local_decision` with
    /// `token`.
    DecideLocally {
        /// Names the answer.
        token: Token,
        /// The visitor.
        visitor_id: String,
        /// The full context as a JSON object.
        context: String,
    },
    /// The decision of the current identity is applied or has failed: promises waiting for it
    /// (`start`, `updateContext`) may settle.
    Settled,
    /// The flush `id` asked for is done.
    Flushed(u32),
    /// Write a console line.
    Log {
        /// Its level.
        level: LogLevel,
        /// The line, IDs and keys already redacted.
        line: String,
    },
}
