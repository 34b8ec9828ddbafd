//! The options object of `start()` and of `decideFromCookies()`, read and validated from its JSON
//! text: every rule about an option lives here, once, for the browser module, its first-flag
//! stage and the server module, and is tested natively. The value checks are `crate::config`'s.
//!
//! The browser hands over `JSON.stringify` of the page's object, less the `analytics` instance
//! (a live object, named here by [`ANALYTICS_INSTANCE`] when it looks like one). So an option set
//! to `undefined` is absent, as it would be read from the object; the one other difference is
//! that a value JSON cannot carry (a function, `NaN`) reads as absent or `null`, and is refused
//! or ignored as such.
//!
//! Options that would carry a visitor ID are refused outright: the ID comes from Segment, and
//! accepting one "just for testing" is how mismatches start. Options are read by one loop over a
//! table of names and kinds, in the table's order, so the first refusal is the same whatever else
//! is wrong; other keys are reported as warnings (likely typos).

use alloc::string::String;
use alloc::vec::Vec;

use crate::config::{
    check_base_url, check_batch_size, check_credential, check_fetch_url, check_long_millis,
    check_millis, Config, EnsureSegmentKnows, Fallback, IdPolicy, LogLevel, Mode,
    FORBIDDEN_OPTIONS,
};
use crate::context::{Context, ContextValue, MAX_CONTEXT_KEYS, RESERVED_KEYS};
use crate::error::Error;
use crate::json::{self, write_value, Object, Value};
use crate::wire::join;

/// What the browser puts under `analytics` for an object with a `user()` method (the instance
/// itself stays in the page).
pub const ANALYTICS_INSTANCE: &str = "instance";

/// Most traits that can be copied into the context.
const MAX_TRAITS: usize = 50;

/// Who reads the options: each reads its own set of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// `start()` in the browser: every option.
    Browser,
    /// `decideFromCookies()`: what a server decision needs, and the loader's own `wasm`,
    /// `fetch`, `cookie` and `request`.
    Server,
}

/// The options, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The settings.
    pub config: Config,
    /// Options ignored, and why, to log once logging is configured.
    pub warnings: Vec<String>,
    /// `initialBucketing`, as JSON text.
    pub initial_bucketing: Option<String>,
    /// `initialDecision`, as JSON text.
    pub initial_decision: Option<String>,
    /// An `analytics` instance was given (rather than the global).
    pub analytics_instance: bool,
    /// `cookie` (server): the request's `Cookie` header.
    pub cookie: String,
}

/// How one option is read, and which field of [`Config`] it sets. Slots are plain `fn`s so that
/// one copy of each reader serves every option of its kind.
#[derive(Clone, Copy)]
enum Kind {
    /// A required string checked by `check_credential`.
    Credential(fn(&mut Config) -> &mut String),
    /// The `endpoints` object.
    Endpoints,
    /// Milliseconds up to a minute (`check_millis`).
    Millis(fn(&mut Config) -> &mut u32),
    /// Milliseconds up to a day (`check_long_millis`).
    LongMillis(fn(&mut Config) -> &mut u32),
    /// A boolean.
    Flag(fn(&mut Config) -> &mut bool),
    /// One of a few names.
    Choice(&'static Choice),
    GlobalKey,
    /// `bucketingEngineUrl`, checked by `check_fetch_url`.
    EngineUrl,
    Context,
    Traits,
    BatchSize,
}

/// A string option that is one of `names`, stored by its index; `reason` when it is none of
/// them. Behind a reference in [`Kind`], which keeps each row of [`OPTIONS`] small.
struct Choice {
    names: &'static [&'static str],
    reason: &'static str,
    set: fn(&mut Config, usize),
}

/// An option the server reads too.
const SERVER: bool = true;
/// A browser-only option.
const BROWSER: bool = false;

/// Every option read into the [`Config`], in reading order, and whether the server reads it.
const OPTIONS: [(&str, Kind, bool); 23] = [
    ("envId", Kind::Credential(|c| &mut c.env_id), SERVER),
    ("apiKey", Kind::Credential(|c| &mut c.api_key), SERVER),
    ("endpoints", Kind::Endpoints, SERVER),
    ("timeoutMs", Kind::Millis(|c| &mut c.timeout_ms), SERVER),
    (
        "segmentTimeoutMs",
        Kind::Millis(|c| &mut c.segment_timeout_ms),
        BROWSER,
    ),
    ("globalKey", Kind::GlobalKey, BROWSER),
    (
        "fallback",
        Kind::Choice(&Choice {
            names: &["none", "storage"],
            reason: "must be \"none\" or \"storage\"",
            set: |c, i| c.fallback = [Fallback::None, Fallback::Storage][i],
        }),
        BROWSER,
    ),
    (
        "idPolicy",
        Kind::Choice(&Choice {
            names: &["user", "anonymous"],
            reason: "must be \"user\" or \"anonymous\"",
            set: |c, i| c.id_policy = [IdPolicy::UserThenAnonymous, IdPolicy::Anonymous][i],
        }),
        SERVER,
    ),
    ("consent", Kind::Flag(|c| &mut c.consent), SERVER),
    (
        "logLevel",
        Kind::Choice(&Choice {
            names: &["none", "error", "warn", "info", "debug"],
            reason: "must be one of \"none\", \"error\", \"warn\", \"info\", \"debug\"",
            set: |c, i| {
                c.log_level = [
                    LogLevel::None,
                    LogLevel::Error,
                    LogLevel::Warn,
                    LogLevel::Info,
                    LogLevel::Debug,
                ][i]
            },
        }),
        BROWSER,
    ),
    ("context", Kind::Context, SERVER),
    ("traits", Kind::Traits, BROWSER),
    (
        "keepFlagsDuringRefresh",
        Kind::Flag(|c| &mut c.keep_flags_during_refresh),
        BROWSER,
    ),
    (
        "mode",
        Kind::Choice(&Choice {
            names: &["api", "bucketing"],
            reason: "must be \"api\" or \"bucketing\"",
            set: |c, i| c.mode = [Mode::Api, Mode::Bucketing][i],
        }),
        BROWSER,
    ),
    (
        "pollingIntervalMs",
        Kind::LongMillis(|c| &mut c.polling_interval_ms),
        BROWSER,
    ),
    ("bucketingEngineUrl", Kind::EngineUrl, BROWSER),
    (
        "decisionMaxAgeMs",
        Kind::LongMillis(|c| &mut c.decision_max_age_ms),
        BROWSER,
    ),
    (
        "flushIntervalMs",
        Kind::Millis(|c| &mut c.flush_interval_ms),
        BROWSER,
    ),
    ("batchSize", Kind::BatchSize, BROWSER),
    (
        "activationDedupeMs",
        Kind::LongMillis(|c| &mut c.activation_dedupe_ms),
        BROWSER,
    ),
    (
        "segmentExperimentViewed",
        Kind::Flag(|c| &mut c.segment_experiment_viewed),
        BROWSER,
    ),
    (
        "ensureSegmentKnows",
        Kind::Choice(&Choice {
            names: &["wait", "track", "off"],
            reason: "must be \"wait\", \"track\" or \"off\"",
            set: |c, i| {
                c.ensure_segment_knows = [
                    EnsureSegmentKnows::Wait,
                    EnsureSegmentKnows::Track,
                    EnsureSegmentKnows::Off,
                ][i]
            },
        }),
        BROWSER,
    ),
    (
        "segmentKnowsTimeoutMs",
        Kind::Millis(|c| &mut c.segment_knows_timeout_ms),
        BROWSER,
    ),
];

/// Keys read outside [`OPTIONS`], by reader: accepted without a warning.
fn other_keys(reader: Reader) -> &'static [&'static str] {
    match reader {
        Reader::Browser => &["initialBucketing", "initialDecision", "analytics"],
        Reader::Server => &["cookie", "request", "wasm", "fetch"],
    }
}

/// Reads and validates the options object `text` (its JSON) for `reader`.
pub fn read_options(text: &str, reader: Reader) -> Result<Options, Error> {
    let Ok(Value::Object(options)) = json::parse(text) else {
        return Err(Error::option("options", "must be an object"));
    };
    let mut warnings = Vec::new();
    for key in options.keys() {
        if FORBIDDEN_OPTIONS.contains(&key) {
            let reason = match reader {
                Reader::Browser => "is not accepted: the visitor ID always comes from Segment",
                Reader::Server => {
                    "is not accepted: the visitor ID always comes from Segment's cookies"
                }
            };
            return Err(Error::option(key, reason));
        }
        let read = |(name, _, server): &(&str, Kind, bool)| {
            *name == key && (reader == Reader::Browser || *server)
        };
        if !OPTIONS.iter().any(read) && !other_keys(reader).contains(&key) {
            warnings.push(join("unknown option `", &[key, "` ignored"]));
        }
    }
    let mut config = Config::default();
    for (key, kind, server) in OPTIONS {
        if reader == Reader::Server && !server {
            continue;
        }
        read_option(&mut config, &mut warnings, key, kind, options.get(key))?;
    }
    let mut read = Options {
        config,
        warnings,
        initial_bucketing: None,
        initial_decision: None,
        analytics_instance: false,
        cookie: String::new(),
    };
    match reader {
        Reader::Browser => read_preloaded(&options, &mut read)?,
        Reader::Server => {
            if let Some(cookie) = present(options.get("cookie")) {
                read.cookie = String::from(string("cookie", cookie)?);
            }
        }
    }
    Ok(read)
}

/// What the page already has (`initialBucketing`, `initialDecision`) and where Segment lives.
fn read_preloaded(options: &Object, read: &mut Options) -> Result<(), Error> {
    read.initial_bucketing = json_text(
        options.get("initialBucketing"),
        "initialBucketing",
        "must be a bucketing file object or its JSON text",
    )?;
    read.initial_decision = json_text(
        options.get("initialDecision"),
        "initialDecision",
        "must be what decideFromCookies resolved to, or its JSON text",
    )?;
    read.analytics_instance = match present(options.get("analytics")) {
        None => false,
        Some(Value::String(kind)) if kind == ANALYTICS_INSTANCE => true,
        Some(_) => {
            return Err(Error::option(
                "analytics",
                "must be a Segment analytics instance with a user() method",
            ))
        }
    };
    Ok(())
}

/// `value`, unless absent or `null`.
fn present(value: Option<&Value>) -> Option<&Value> {
    value.filter(|v| !v.is_null())
}

/// Checks `value`, the option `key` of kind `kind`, into `config`. An absent option leaves the
/// default, but for credentials, which are required. Not inlined, so that the loop over
/// [`OPTIONS`] is not unrolled into a reader per option (measured on the first stage: 101 B
/// gzip saved).
#[inline(never)]
fn read_option(
    config: &mut Config,
    warnings: &mut Vec<String>,
    key: &'static str,
    kind: Kind,
    value: Option<&Value>,
) -> Result<(), Error> {
    let Some(value) = value else {
        if let Kind::Credential(slot) = kind {
            *slot(config) = check_credential(key, "")?;
        }
        return Ok(());
    };
    match kind {
        Kind::Credential(slot) => *slot(config) = check_credential(key, string(key, value)?)?,
        Kind::Endpoints => endpoints(value, config)?,
        Kind::Millis(slot) => *slot(config) = check_millis(key, number(key, value)?)?,
        Kind::LongMillis(slot) => *slot(config) = check_long_millis(key, number(key, value)?)?,
        Kind::Flag(slot) => {
            *slot(config) = value
                .as_bool()
                .ok_or_else(|| Error::option(key, "must be a boolean"))?;
        }
        Kind::Choice(choice) => {
            let text = string(key, value)?;
            let index = choice.names.iter().position(|name| *name == text);
            (choice.set)(
                config,
                index.ok_or_else(|| Error::option(key, choice.reason))?,
            );
        }
        Kind::GlobalKey => {
            let name = string(key, value)?;
            if name.is_empty() || name.len() > 64 {
                return Err(Error::option(
                    key,
                    "must be a property name of 1 to 64 characters",
                ));
            }
            config.global_key = String::from(name);
        }
        Kind::EngineUrl => {
            config.bucketing_engine_url = Some(check_fetch_url(key, string(key, value)?)?);
        }
        Kind::Context => config.context = context(present(Some(value)), warnings)?,
        Kind::Traits => config.traits = traits(value)?,
        Kind::BatchSize => config.batch_size = check_batch_size(number(key, value)?)?,
    }
    Ok(())
}

/// The `endpoints` object; each URL is named by its full path when refused.
fn endpoints(endpoints: &Value, config: &mut Config) -> Result<(), Error> {
    let Value::Object(endpoints) = endpoints else {
        return Err(Error::option("endpoints", "must be an object"));
    };
    let urls = &mut config.endpoints;
    for (name, field, slot) in [
        ("decision", "endpoints.decision", &mut urls.decision),
        ("events", "endpoints.events", &mut urls.events),
        ("cdn", "endpoints.cdn", &mut urls.cdn),
    ] {
        if let Some(url) = endpoints.get(name) {
            *slot = check_base_url(field, string(field, url)?)?;
        }
    }
    Ok(())
}

/// `initialBucketing` or `initialDecision`: an object (kept as its JSON text) or that text.
fn json_text(
    value: Option<&Value>,
    key: &str,
    reason: &'static str,
) -> Result<Option<String>, Error> {
    match present(value) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(object @ Value::Object(_)) => {
            let mut text = String::new();
            write_value(&mut text, object);
            Ok(Some(text))
        }
        Some(_) => Err(Error::option(key, reason)),
    }
}

/// Reads a context (the `context` option, `updateContext()`'s argument): a flat object of
/// strings, finite numbers and booleans; `None` (absent or `null`) is empty. Keys the module
/// sets itself are ignored, with a warning.
pub fn context(value: Option<&Value>, warnings: &mut Vec<String>) -> Result<Context, Error> {
    let mut context = Context::new();
    let Some(value) = value else {
        return Ok(context);
    };
    let Value::Object(members) = value else {
        return Err(Error::option(
            "context",
            "must be an object of string, number or boolean values",
        ));
    };
    if members.len() > MAX_CONTEXT_KEYS {
        return Err(Error::option("context", "has more than 100 keys"));
    }
    for (key, value) in members.iter() {
        if RESERVED_KEYS.contains(&key) {
            warnings.push(join(
                "context key `",
                &[key, "` is set by the module; the value given is ignored"],
            ));
            continue;
        }
        let Some(value) = ContextValue::of(value) else {
            return Err(Error::option(
                &join("context.", &[key]),
                "must be a string, a finite number or a boolean",
            ));
        };
        context.insert(String::from(key), value);
    }
    Ok(context)
}

/// Reads the `traits` allowlist: an array of trait names.
fn traits(value: &Value) -> Result<Vec<String>, Error> {
    let reason = "must be an array of at most 50 trait names";
    let Value::Array(items) = value else {
        return Err(Error::option("traits", reason));
    };
    let mut names: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        names.push(String::from(
            item.as_str()
                .ok_or_else(|| Error::option("traits", reason))?,
        ));
    }
    if names.len() > MAX_TRAITS {
        return Err(Error::option("traits", reason));
    }
    if names
        .iter()
        .any(|n| n.is_empty() || RESERVED_KEYS.contains(&n.as_str()))
    {
        return Err(Error::option(
            "traits",
            "must not contain empty names or fs_users, fs_client, fs_version",
        ));
    }
    Ok(names)
}

/// `value` as a string.
fn string<'a>(key: &str, value: &'a Value) -> Result<&'a str, Error> {
    value
        .as_str()
        .ok_or_else(|| Error::option(key, "must be a string"))
}

/// `value` as a number.
fn number(key: &str, value: &Value) -> Result<f64, Error> {
    value
        .as_f64()
        .ok_or_else(|| Error::option(key, "must be a number"))
}

#[cfg(test)]
mod tests;
