//! Validated module options and their defaults.
//!
//! The browser edge (`crate::browser::options`) reads the page's options object field by field and
//! uses the checks here, so every rule about a value lives in plain Rust and is tested natively.
//! There is deliberately no visitor ID here: it comes from Segment.

use crate::context::Context;
use crate::error::Error;
use alloc::{borrow::ToOwned, string::String, vec::Vec};

/// AB Tasty's production hosts.
pub const DEFAULT_DECISION_URL: &str = "https://decision.flagship.io";
/// Flagship's hit collector.
pub const DEFAULT_EVENTS_URL: &str = "https://events.flagship.io";
/// Where bucketing files are served.
pub const DEFAULT_CDN_URL: &str = "https://cdn.flagship.io";

/// Base URLs of every service the module talks to, without trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Decision API base (`/v2/{env}/campaigns`, `/v2/activate`).
    pub decision: String,
    /// Hit collector URL.
    pub events: String,
    /// Bucketing file base.
    pub cdn: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            decision: DEFAULT_DECISION_URL.into(),
            events: DEFAULT_EVENTS_URL.into(),
            cdn: DEFAULT_CDN_URL.into(),
        }
    }
}

/// What to do when analytics.js cannot be reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Fallback {
    /// Strict: no decision call, defaults served, status `SEGMENT_UNAVAILABLE`.
    #[default]
    None,
    /// Read the IDs Segment stored in cookies or localStorage (read-only, never minted).
    Storage,
}

/// Where decisions come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// `POST /v2/{envId}/campaigns` for every identity or context.
    #[default]
    Api,
    /// Local decisions from the environment's bucketing file: no request per decision.
    Bucketing,
}

/// How the visitor ID is chosen from Segment's IDs (`identity::resolve`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IdPolicy {
    /// userId when identified, else anonymousId; the anonymousId rides along (experience continuity).
    #[default]
    UserThenAnonymous,
    /// Always the anonymousId; the userId is never sent.
    Anonymous,
}

/// `ensureSegmentKnows`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EnsureSegmentKnows {
    /// Hold until seen, up to the timeout, then send anyway (and count it).
    #[default]
    Wait,
    /// Like `Wait`, but at the timeout call `analytics.track("Flagship Visitor Seen")` and send
    /// once that call is dispatched (or after a second timeout).
    Track,
    /// No gate.
    Off,
}

/// Console verbosity. IDs and keys are redacted at every level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Nothing.
    None,
    /// Failures that leave the page on default values.
    Error,
    /// Also recoverable problems.
    #[default]
    Warn,
    /// Also lifecycle steps.
    Info,
    /// Also every request.
    Debug,
}

/// Every option of `start`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Flagship environment ID.
    pub env_id: String,
    /// Flagship API key.
    pub api_key: String,
    /// Service base URLs.
    pub endpoints: Endpoints,
    /// Decision API timeout; the request is aborted after it.
    pub timeout_ms: u32,
    /// How long to wait for analytics.js to initialise.
    pub segment_timeout_ms: u32,
    /// Name of the global analytics.js lives on.
    pub global_key: String,
    /// Behaviour when Segment is unavailable.
    pub fallback: Fallback,
    /// How the visitor ID is chosen.
    pub id_policy: IdPolicy,
    /// Page-supplied targeting attributes.
    pub context: Context,
    /// `visitor_consent` sent with decisions.
    pub consent: bool,
    /// Console verbosity.
    pub log_level: LogLevel,
    /// Segment traits copied into the context (allowlist).
    pub traits: Vec<String>,
    /// Whether reads return the previous flags while a new identity's decision is fetched.
    pub keep_flags_during_refresh: bool,
    /// API or local decisions.
    pub mode: Mode,
    /// How often the bucketing file is fetched again; 0 fetches it once.
    pub polling_interval_ms: u32,
    /// Where the bucketing engine (the second .wasm) is fetched from; `None`: next to the
    /// module's own .wasm.
    pub bucketing_engine_url: Option<String>,
    /// A stored decision for the same identity and context younger than this is used with no
    /// request (an older one while asking again); 0 asks on every page view.
    pub decision_max_age_ms: u32,
    /// How long a hit waits for others to share its request when no request of hits is out;
    /// 0 (the default) sends it at the end of the task that queued it. What is queued while a
    /// request is out goes when it returns, together.
    pub flush_interval_ms: u32,
    /// Hits are sent as soon as this many are queued.
    pub batch_size: usize,
    /// How long an exposure is remembered (across reloads) so that it is sent once.
    pub activation_dedupe_ms: u32,
    /// Also call `analytics.track("Experiment Viewed", …)` on each exposure.
    pub segment_experiment_viewed: bool,
    /// Hold activations and hits until Segment has dispatched a call for their visitor.
    pub ensure_segment_knows: EnsureSegmentKnows,
    /// How long the gate holds an identity.
    pub segment_knows_timeout_ms: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            env_id: String::new(),
            api_key: String::new(),
            endpoints: Endpoints::default(),
            timeout_ms: 2000,
            segment_timeout_ms: 3000,
            global_key: "analytics".into(),
            fallback: Fallback::None,
            id_policy: IdPolicy::UserThenAnonymous,
            context: Context::new(),
            consent: true,
            log_level: LogLevel::Warn,
            traits: Vec::new(),
            keep_flags_during_refresh: true,
            mode: Mode::Api,
            polling_interval_ms: 60_000,
            bucketing_engine_url: None,
            decision_max_age_ms: 0,
            flush_interval_ms: 0,
            batch_size: 10,
            activation_dedupe_ms: 30 * 60 * 1000,
            segment_experiment_viewed: false,
            ensure_segment_knows: EnsureSegmentKnows::Wait,
            segment_knows_timeout_ms: 5000,
        }
    }
}

/// This tab's ID, in sessionStorage: it survives a reload of the tab but not a new tab, so each
/// tab keeps its own stored queue and no two tabs send the same stored hit.
pub const TAB_KEY: &str = "flagship-segment:tab";

/// Where the module keeps what it stores for environment `env_id` in localStorage:
/// `flagship-segment:{envId}:{name}`.
pub fn storage_prefix(env_id: &str) -> String {
    crate::wire::join("flagship-segment:", &[env_id, ":"])
}

/// Options that would let the page (or a server) choose the visitor: refused, since the visitor
/// ID always comes from Segment.
pub const FORBIDDEN_OPTIONS: [&str; 6] = [
    "visitorId",
    "visitor_id",
    "anonymousId",
    "anonymous_id",
    "userId",
    "user_id",
];

/// Longest env ID / API key accepted; real ones are 20 and 40 characters.
const MAX_CREDENTIAL_CHARS: usize = 128;
/// Upper bound for any timeout option, so a typo cannot hang the page for hours.
pub const MAX_TIMEOUT_MS: f64 = 60_000.0;

/// Checks `envId` / `apiKey`: present, short, and safe to put in a URL path or header.
pub fn check_credential(field: &str, value: &str) -> Result<String, Error> {
    if value.is_empty() {
        return Err(Error::option(
            field,
            "is required and must be a non-empty string",
        ));
    }
    if value.len() > MAX_CREDENTIAL_CHARS {
        return Err(Error::option(field, "is longer than 128 characters"));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err(Error::option(
            field,
            "may contain only letters, digits, '-', '_' and '.'",
        ));
    }
    Ok(value.to_owned())
}

/// Checks a base URL and removes its trailing slashes.
pub fn check_base_url(field: &str, value: &str) -> Result<String, Error> {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(|| Error::option(field, "must be an http(s) URL"))?;
    if rest.is_empty()
        || rest.starts_with('/')
        || value.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Error::option(field, "must be an http(s) URL"));
    }
    if value.contains(['?', '#']) {
        return Err(Error::option(field, "must not contain a query or fragment"));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// Checks a URL the browser fetches as given (`bucketingEngineUrl`): absolute or relative to the
/// page, `blob:` included; refused when empty, over 2048 bytes, or with whitespace or control
/// characters.
pub fn check_fetch_url(field: &str, value: &str) -> Result<String, Error> {
    if value.is_empty()
        || value.len() > 2048
        || value.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Error::option(
            field,
            "must be a URL of 1 to 2048 characters without spaces",
        ));
    }
    Ok(value.to_owned())
}

/// Longest polling interval: a day.
pub const MAX_POLLING_MS: f64 = 86_400_000.0;

/// Checks `batchSize`: an integer from 1 to 100.
pub fn check_batch_size(value: f64) -> Result<usize, Error> {
    if crate::num::fract(value) != 0.0 || !(1.0..=100.0).contains(&value) {
        return Err(Error::option(
            "batchSize",
            "must be an integer between 1 and 100",
        ));
    }
    Ok(value as usize)
}

/// Checks a long duration option (`pollingIntervalMs`, `activationDedupeMs`): 0 up to a day.
pub fn check_long_millis(field: &str, value: f64) -> Result<u32, Error> {
    if !value.is_finite() || !(0.0..=MAX_POLLING_MS).contains(&value) {
        return Err(Error::option(
            field,
            "must be a number of milliseconds between 0 and 86400000",
        ));
    }
    Ok(crate::num::round(value) as u32)
}

/// Checks a millisecond option: a finite number in `0..=60000`.
pub fn check_millis(field: &str, value: f64) -> Result<u32, Error> {
    if !value.is_finite() || !(0.0..=MAX_TIMEOUT_MS).contains(&value) {
        return Err(Error::option(
            field,
            "must be a number of milliseconds between 0 and 60000",
        ));
    }
    Ok(crate::num::round(value) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_point_at_production() {
        let c = Config::default();
        assert_eq!(c.endpoints.decision, "https://decision.flagship.io");
        assert_eq!((c.timeout_ms, c.segment_timeout_ms), (2000, 3000));
        assert_eq!(c.global_key, "analytics");
        assert!(c.consent);
    }

    #[test]
    fn credentials() {
        assert_eq!(
            check_credential("envId", "c0n4j3l5hj").unwrap(),
            "c0n4j3l5hj"
        );
        for bad in ["", "a/b", "a b", "key\n", "é"] {
            let e = check_credential("envId", bad).unwrap_err();
            assert_eq!(e.code(), "INVALID_OPTIONS", "{bad:?}");
            assert!(e.to_string().contains("`envId`"));
        }
        assert!(check_credential("apiKey", &"k".repeat(129)).is_err());
    }

    #[test]
    fn base_urls() {
        assert_eq!(
            check_base_url("e", "http://127.0.0.1:8787/").unwrap(),
            "http://127.0.0.1:8787"
        );
        assert_eq!(
            check_base_url("e", "https://x.test/base//").unwrap(),
            "https://x.test/base"
        );
        for bad in [
            "",
            "ftp://x",
            "https://",
            "https:///x",
            "x.test",
            "https://x.test/?a",
            "https://x .test",
        ] {
            assert!(check_base_url("e", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn millis() {
        assert_eq!(check_millis("t", 1500.4).unwrap(), 1500);
        assert_eq!(check_millis("t", 0.0).unwrap(), 0);
        for bad in [-1.0, f64::NAN, f64::INFINITY, 60_001.0] {
            assert!(check_millis("t", bad).is_err());
        }
    }
}
