//! Reads the page's options object into a [`Config`], naming the field on every refusal.
//!
//! The value rules live in `crate::config`; this file only knows how to pull typed values out of
//! a JS object. Options that would carry a visitor ID are refused outright: the ID comes from
//! Segment, and accepting one "just for testing" is how mismatches start.
//!
//! Options are read by one loop over [`OPTIONS`], a table of names and kinds, rather than by a
//! reader per option: the straight-line version was 8 KB of wasm, which the browser also has to
//! compile on the first `start()`. The table's order is the reading order, so the first refusal
//! is the same whatever else is wrong.

use alloc::string::String;
use alloc::vec::Vec;

use wasm_bindgen::JsValue;

use super::js;
use super::segment::{primitive, Source};
use crate::config::{
    check_base_url, check_batch_size, check_credential, check_fetch_url, check_long_millis,
    check_millis, Config, EnsureSegmentKnows, Fallback, IdPolicy, LogLevel, Mode,
    FORBIDDEN_OPTIONS,
};
use crate::context::{Context, MAX_CONTEXT_KEYS, RESERVED_KEYS};
use crate::engine::Preloaded;
use crate::error::Error;
use crate::wire::join;

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
/// them. Behind a reference in [`Kind`], which keeps each row of [`OPTIONS`] two words long.
struct Choice {
    names: &'static [&'static str],
    reason: &'static str,
    set: fn(&mut Config, usize),
}

/// Every option `start` reads into the [`Config`], in reading order. Others (but
/// `initialBucketing` and `analytics`, read after these) are reported with a warning (likely
/// typos).
const OPTIONS: [(&str, Kind); 23] = [
    ("envId", Kind::Credential(|c| &mut c.env_id)),
    ("apiKey", Kind::Credential(|c| &mut c.api_key)),
    ("endpoints", Kind::Endpoints),
    ("timeoutMs", Kind::Millis(|c| &mut c.timeout_ms)),
    (
        "segmentTimeoutMs",
        Kind::Millis(|c| &mut c.segment_timeout_ms),
    ),
    ("globalKey", Kind::GlobalKey),
    (
        "fallback",
        Kind::Choice(&Choice {
            names: &["none", "storage"],
            reason: "must be \"none\" or \"storage\"",
            set: |c, i| {
                c.fallback = if i == 0 {
                    Fallback::None
                } else {
                    Fallback::Storage
                }
            },
        }),
    ),
    (
        "idPolicy",
        Kind::Choice(&Choice {
            names: &["user", "anonymous"],
            reason: "must be \"user\" or \"anonymous\"",
            set: |c, i| {
                c.id_policy = if i == 0 {
                    IdPolicy::UserThenAnonymous
                } else {
                    IdPolicy::Anonymous
                }
            },
        }),
    ),
    ("consent", Kind::Flag(|c| &mut c.consent)),
    (
        "logLevel",
        Kind::Choice(&Choice {
            names: &["none", "error", "warn", "info", "debug"],
            reason: "must be one of \"none\", \"error\", \"warn\", \"info\", \"debug\"",
            set: |c, i| {
                c.log_level = match i {
                    0 => LogLevel::None,
                    1 => LogLevel::Error,
                    2 => LogLevel::Warn,
                    3 => LogLevel::Info,
                    _ => LogLevel::Debug,
                }
            },
        }),
    ),
    ("context", Kind::Context),
    ("traits", Kind::Traits),
    (
        "keepFlagsDuringRefresh",
        Kind::Flag(|c| &mut c.keep_flags_during_refresh),
    ),
    (
        "mode",
        Kind::Choice(&Choice {
            names: &["api", "bucketing"],
            reason: "must be \"api\" or \"bucketing\"",
            set: |c, i| c.mode = if i == 0 { Mode::Api } else { Mode::Bucketing },
        }),
    ),
    (
        "pollingIntervalMs",
        Kind::LongMillis(|c| &mut c.polling_interval_ms),
    ),
    ("bucketingEngineUrl", Kind::EngineUrl),
    (
        "decisionMaxAgeMs",
        Kind::LongMillis(|c| &mut c.decision_max_age_ms),
    ),
    (
        "flushIntervalMs",
        Kind::Millis(|c| &mut c.flush_interval_ms),
    ),
    ("batchSize", Kind::BatchSize),
    (
        "activationDedupeMs",
        Kind::LongMillis(|c| &mut c.activation_dedupe_ms),
    ),
    (
        "segmentExperimentViewed",
        Kind::Flag(|c| &mut c.segment_experiment_viewed),
    ),
    (
        "ensureSegmentKnows",
        Kind::Choice(&Choice {
            names: &["wait", "track", "off"],
            reason: "must be \"wait\", \"track\" or \"off\"",
            set: |c, i| {
                c.ensure_segment_knows = match i {
                    0 => EnsureSegmentKnows::Wait,
                    1 => EnsureSegmentKnows::Track,
                    _ => EnsureSegmentKnows::Off,
                }
            },
        }),
    ),
    (
        "segmentKnowsTimeoutMs",
        Kind::Millis(|c| &mut c.segment_knows_timeout_ms),
    ),
];

/// Most traits that can be copied into the context.
const MAX_TRAITS: usize = 50;

/// The validated options, where Segment lives, and warnings to log once logging is configured.
pub(crate) struct ReadOptions {
    pub(crate) config: Config,
    pub(crate) source: Source,
    pub(crate) warnings: Vec<String>,
    /// What the page already has (`initialBucketing`, `initialDecision`), as JSON texts.
    pub(crate) preloaded: Preloaded,
}

/// Reads and validates `options`.
pub(crate) fn read(options: &JsValue) -> Result<ReadOptions, Error> {
    if !options.is_object() || js_sys::Array::is_array(options) {
        return Err(Error::option("options", "must be an object"));
    }
    let mut warnings = Vec::new();
    for key in js::keys(options) {
        if FORBIDDEN_OPTIONS.contains(&key.as_str()) {
            return Err(Error::option(
                &key,
                "is not accepted: the visitor ID always comes from Segment",
            ));
        }
        let known = OPTIONS.iter().any(|(name, _)| *name == key)
            || key == "initialBucketing"
            || key == "initialDecision"
            || key == "analytics";
        if !known {
            warnings.push(join("unknown option `", &[&key, "` ignored"]));
        }
    }
    let mut config = Config::default();
    for (key, kind) in OPTIONS {
        read_option(&mut config, &mut warnings, key, kind, js::get(options, key))?;
    }
    let preloaded = Preloaded {
        bucketing: json_text(
            options,
            "initialBucketing",
            "must be a bucketing file object or its JSON text",
        )?,
        decision: json_text(
            options,
            "initialDecision",
            "must be what decideFromCookies resolved to, or its JSON text",
        )?,
    };
    let analytics = js::get(options, "analytics");
    let source = if analytics.is_undefined() || analytics.is_null() {
        Source::Global(config.global_key.clone())
    } else if analytics.is_object() && js::has_method(&analytics, "user") {
        Source::Instance(analytics)
    } else {
        return Err(Error::option(
            "analytics",
            "must be a Segment analytics instance with a user() method",
        ));
    };
    Ok(ReadOptions {
        config,
        source,
        warnings,
        preloaded,
    })
}

/// Checks `value`, the option `key` of kind `kind`, into `config`. An absent option (`undefined`)
/// leaves the default, but for credentials, which are required. Not inlined, so that the loop
/// over [`OPTIONS`] is not unrolled into a reader per option again.
#[inline(never)]
fn read_option(
    config: &mut Config,
    warnings: &mut Vec<String>,
    key: &'static str,
    kind: Kind,
    value: JsValue,
) -> Result<(), Error> {
    match kind {
        Kind::Credential(slot) => {
            *slot(config) = check_credential(key, &string(key, &value)?.unwrap_or_default())?;
        }
        Kind::Endpoints => endpoints(&value, config)?,
        Kind::Millis(slot) => {
            if let Some(ms) = number(key, &value)? {
                *slot(config) = check_millis(key, ms)?;
            }
        }
        Kind::LongMillis(slot) => {
            if let Some(ms) = number(key, &value)? {
                *slot(config) = check_long_millis(key, ms)?;
            }
        }
        Kind::Flag(slot) => {
            if !value.is_undefined() {
                *slot(config) = value
                    .as_bool()
                    .ok_or_else(|| Error::option(key, "must be a boolean"))?;
            }
        }
        Kind::Choice(choice) => {
            if let Some(text) = string(key, &value)? {
                let index = choice.names.iter().position(|name| *name == text);
                (choice.set)(
                    config,
                    index.ok_or_else(|| Error::option(key, choice.reason))?,
                );
            }
        }
        Kind::GlobalKey => {
            if let Some(name) = string(key, &value)? {
                if name.is_empty() || name.len() > 64 {
                    return Err(Error::option(
                        key,
                        "must be a property name of 1 to 64 characters",
                    ));
                }
                config.global_key = name;
            }
        }
        Kind::EngineUrl => {
            if let Some(url) = string(key, &value)? {
                config.bucketing_engine_url = Some(check_fetch_url(key, &url)?);
            }
        }
        Kind::Context => config.context = context(&value, warnings)?,
        Kind::Traits => config.traits = traits(&value)?,
        Kind::BatchSize => {
            if let Some(size) = number(key, &value)? {
                config.batch_size = check_batch_size(size)?;
            }
        }
    }
    Ok(())
}

/// The `endpoints` object; each URL is named by its full path when refused.
fn endpoints(endpoints: &JsValue, config: &mut Config) -> Result<(), Error> {
    if endpoints.is_undefined() {
        return Ok(());
    }
    if !endpoints.is_object() {
        return Err(Error::option("endpoints", "must be an object"));
    }
    let urls = &mut config.endpoints;
    for (name, field, slot) in [
        ("decision", "endpoints.decision", &mut urls.decision),
        ("events", "endpoints.events", &mut urls.events),
        ("cdn", "endpoints.cdn", &mut urls.cdn),
    ] {
        let url = string(name, &js::get(endpoints, name))
            .map_err(|_| Error::option(field, "must be a string"))?;
        if let Some(url) = url {
            *slot = check_base_url(field, &url)?;
        }
    }
    Ok(())
}

/// `initialBucketing` or `initialDecision`: an object (kept as its JSON text) or that text;
/// the engine reads it.
fn json_text(options: &JsValue, key: &str, reason: &'static str) -> Result<Option<String>, Error> {
    let initial = js::get(options, key);
    if initial.is_undefined() || initial.is_null() {
        Ok(None)
    } else if let Some(text) = initial.as_string() {
        Ok(Some(text))
    } else if initial.is_object() {
        Ok(js_sys::JSON::stringify(&initial)
            .ok()
            .and_then(|s| s.as_string()))
    } else {
        Err(Error::option(key, reason))
    }
}

/// Reads the `context` option: a flat object of strings, finite numbers and booleans.
pub(crate) fn context(value: &JsValue, warnings: &mut Vec<String>) -> Result<Context, Error> {
    let mut context = Context::new();
    if value.is_undefined() || value.is_null() {
        return Ok(context);
    }
    if !value.is_object() || js_sys::Array::is_array(value) {
        return Err(Error::option(
            "context",
            "must be an object of string, number or boolean values",
        ));
    }
    let keys = js::keys(value);
    if keys.len() > MAX_CONTEXT_KEYS {
        return Err(Error::option("context", "has more than 100 keys"));
    }
    for key in keys {
        if RESERVED_KEYS.contains(&key.as_str()) {
            warnings.push(join(
                "context key `",
                &[&key, "` is set by the module; the page's value is ignored"],
            ));
            continue;
        }
        let Some(parsed) = primitive(&js::get(value, &key)) else {
            return Err(Error::option(
                &join("context.", &[&key]),
                "must be a string, a finite number or a boolean",
            ));
        };
        context.insert(key, parsed);
    }
    Ok(context)
}

/// Reads the `traits` allowlist: an array of trait names.
fn traits(value: &JsValue) -> Result<Vec<String>, Error> {
    if value.is_undefined() || value.is_null() {
        return Ok(Vec::new());
    }
    let reason = "must be an array of at most 50 trait names";
    if !js_sys::Array::is_array(value) {
        return Err(Error::option("traits", reason));
    }
    let mut names: Vec<String> = Vec::new();
    for name in js_sys::Array::from(value).iter() {
        names.extend(name.as_string());
    }
    if names.len() != js_sys::Array::from(value).length() as usize || names.len() > MAX_TRAITS {
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

/// `value` as a string, `None` when absent.
fn string(key: &'static str, value: &JsValue) -> Result<Option<String>, Error> {
    if value.is_undefined() {
        return Ok(None);
    }
    match value.as_string() {
        Some(text) => Ok(Some(text)),
        None => Err(Error::option(key, "must be a string")),
    }
}

/// `value` as a number, `None` when absent.
fn number(key: &'static str, value: &JsValue) -> Result<Option<f64>, Error> {
    if value.is_undefined() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(n) => Ok(Some(n)),
        None => Err(Error::option(key, "must be a number")),
    }
}
