//! Reads the page's options object into a [`Config`], naming the field on every refusal.
//!
//! The value rules live in `crate::config`; this file only knows how to pull typed values out of
//! a JS object. Options that would carry a visitor ID are refused outright: the ID comes from
//! Segment, and accepting one "just for testing" is how mismatches start.

use wasm_bindgen::JsValue;

use super::js;
use super::segment::{primitive, SegmentSource};
use crate::config::{
    check_base_url, check_batch_size, check_credential, check_long_millis, check_millis, Config,
    Fallback, LogLevel, Mode,
};
use crate::context::{Context, RESERVED_KEYS};
use crate::error::Error;
use crate::identity::IdPolicy;
use crate::tracking::gate::EnsureSegmentKnows;

/// Every option `start` knows. Others are reported with a warning (likely typos).
const KNOWN: [&str; 23] = [
    "envId",
    "apiKey",
    "endpoints",
    "timeoutMs",
    "segmentTimeoutMs",
    "globalKey",
    "analytics",
    "fallback",
    "idPolicy",
    "context",
    "consent",
    "logLevel",
    "traits",
    "keepFlagsDuringRefresh",
    "mode",
    "pollingIntervalMs",
    "initialBucketing",
    "flushIntervalMs",
    "batchSize",
    "activationDedupeMs",
    "segmentExperimentViewed",
    "ensureSegmentKnows",
    "segmentKnowsTimeoutMs",
];

/// Most traits that can be copied into the context.
const MAX_TRAITS: usize = 50;

/// Options that would let the page choose the visitor.
const FORBIDDEN: [&str; 6] = [
    "visitorId",
    "visitor_id",
    "anonymousId",
    "anonymous_id",
    "userId",
    "user_id",
];

/// Longest context: keeps a page from inflating every request.
const MAX_CONTEXT_KEYS: usize = 100;

/// The validated options, where Segment lives, and warnings to log once logging is configured.
pub(crate) struct ReadOptions {
    pub(crate) config: Config,
    pub(crate) source: SegmentSource,
    pub(crate) warnings: Vec<String>,
    /// A bucketing file already on the page (`initialBucketing`), as JSON text.
    pub(crate) initial_bucketing: Option<String>,
}

/// Reads and validates `options`.
pub(crate) fn read(options: &JsValue) -> Result<ReadOptions, Error> {
    if !options.is_object() || js_sys::Array::is_array(options) {
        return Err(Error::option("options", "must be an object"));
    }
    let mut warnings = Vec::new();
    for key in js::keys(options) {
        if FORBIDDEN.contains(&key.as_str()) {
            return Err(Error::option(
                key,
                "is not accepted: the visitor ID always comes from Segment",
            ));
        }
        if !KNOWN.contains(&key.as_str()) {
            warnings.push(format!("unknown option `{key}` ignored"));
        }
    }
    let mut config = Config {
        env_id: check_credential("envId", &string(options, "envId")?.unwrap_or_default())?,
        api_key: check_credential("apiKey", &string(options, "apiKey")?.unwrap_or_default())?,
        ..Config::default()
    };

    let endpoints = js::get(options, "endpoints");
    if !endpoints.is_undefined() {
        if !endpoints.is_object() {
            return Err(Error::option("endpoints", "must be an object"));
        }
        for (name, slot) in [
            ("decision", &mut config.endpoints.decision),
            ("events", &mut config.endpoints.events),
            ("cdn", &mut config.endpoints.cdn),
        ] {
            let field = format!("endpoints.{name}");
            if let Some(url) = string(&endpoints, name)
                .map_err(|_| Error::option(field.clone(), "must be a string"))?
            {
                *slot = check_base_url(&field, &url)?;
            }
        }
    }
    if let Some(ms) = number(options, "timeoutMs")? {
        config.timeout_ms = check_millis("timeoutMs", ms)?;
    }
    if let Some(ms) = number(options, "segmentTimeoutMs")? {
        config.segment_timeout_ms = check_millis("segmentTimeoutMs", ms)?;
    }
    if let Some(key) = string(options, "globalKey")? {
        if key.is_empty() || key.len() > 64 {
            return Err(Error::option(
                "globalKey",
                "must be a property name of 1 to 64 characters",
            ));
        }
        config.global_key = key;
    }
    config.fallback = match string(options, "fallback")?.as_deref() {
        None | Some("none") => Fallback::None,
        Some("storage") => Fallback::Storage,
        Some(_) => return Err(Error::option("fallback", "must be \"none\" or \"storage\"")),
    };
    config.id_policy = match string(options, "idPolicy")?.as_deref() {
        None | Some("user") => IdPolicy::UserThenAnonymous,
        Some("anonymous") => IdPolicy::Anonymous,
        Some(_) => {
            return Err(Error::option(
                "idPolicy",
                "must be \"user\" or \"anonymous\"",
            ))
        }
    };
    if let Some(consent) = boolean(options, "consent")? {
        config.consent = consent;
    }
    config.log_level = match string(options, "logLevel")?.as_deref() {
        None | Some("warn") => LogLevel::Warn,
        Some("none") => LogLevel::None,
        Some("error") => LogLevel::Error,
        Some("info") => LogLevel::Info,
        Some("debug") => LogLevel::Debug,
        Some(_) => {
            return Err(Error::option(
                "logLevel",
                "must be one of \"none\", \"error\", \"warn\", \"info\", \"debug\"",
            ))
        }
    };
    config.context = context(&js::get(options, "context"), &mut warnings)?;
    config.traits = traits(&js::get(options, "traits"))?;
    if let Some(keep) = boolean(options, "keepFlagsDuringRefresh")? {
        config.keep_flags_during_refresh = keep;
    }
    config.mode = match string(options, "mode")?.as_deref() {
        None | Some("api") => Mode::Api,
        Some("bucketing") => Mode::Bucketing,
        Some(_) => return Err(Error::option("mode", "must be \"api\" or \"bucketing\"")),
    };
    if let Some(ms) = number(options, "pollingIntervalMs")? {
        config.polling_interval_ms = check_long_millis("pollingIntervalMs", ms)?;
    }
    if let Some(ms) = number(options, "flushIntervalMs")? {
        config.flush_interval_ms = check_millis("flushIntervalMs", ms)?;
    }
    if let Some(size) = number(options, "batchSize")? {
        config.batch_size = check_batch_size(size)?;
    }
    if let Some(ms) = number(options, "activationDedupeMs")? {
        config.activation_dedupe_ms = check_long_millis("activationDedupeMs", ms)?;
    }
    if let Some(on) = boolean(options, "segmentExperimentViewed")? {
        config.segment_experiment_viewed = on;
    }
    config.ensure_segment_knows = match string(options, "ensureSegmentKnows")?.as_deref() {
        None | Some("wait") => EnsureSegmentKnows::Wait,
        Some("track") => EnsureSegmentKnows::Track,
        Some("off") => EnsureSegmentKnows::Off,
        Some(_) => {
            return Err(Error::option(
                "ensureSegmentKnows",
                "must be \"wait\", \"track\" or \"off\"",
            ))
        }
    };
    if let Some(ms) = number(options, "segmentKnowsTimeoutMs")? {
        config.segment_knows_timeout_ms = check_millis("segmentKnowsTimeoutMs", ms)?;
    }
    let initial = js::get(options, "initialBucketing");
    let initial_bucketing = if initial.is_undefined() || initial.is_null() {
        None
    } else if let Some(text) = initial.as_string() {
        Some(text)
    } else if initial.is_object() {
        js_sys::JSON::stringify(&initial)
            .ok()
            .and_then(|s| s.as_string())
    } else {
        return Err(Error::option(
            "initialBucketing",
            "must be a bucketing file object or its JSON text",
        ));
    };

    let analytics = js::get(options, "analytics");
    let source = if analytics.is_undefined() || analytics.is_null() {
        SegmentSource::Global(config.global_key.clone())
    } else if analytics.is_object() && js::has_method(&analytics, "user") {
        SegmentSource::Instance(analytics)
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
        initial_bucketing,
    })
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
            warnings.push(format!(
                "context key `{key}` is set by the module; the page's value is ignored"
            ));
            continue;
        }
        let Some(parsed) = primitive(&js::get_data(value, &key)) else {
            return Err(Error::option(
                format!("context.{key}"),
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
    let names: Vec<String> = js_sys::Array::from(value)
        .iter()
        .filter_map(|v| v.as_string())
        .collect();
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

fn string(object: &JsValue, key: &'static str) -> Result<Option<String>, Error> {
    match js::get(object, key) {
        v if v.is_undefined() => Ok(None),
        v => v
            .as_string()
            .map(Some)
            .ok_or_else(|| Error::option(key, "must be a string")),
    }
}

fn number(object: &JsValue, key: &'static str) -> Result<Option<f64>, Error> {
    match js::get(object, key) {
        v if v.is_undefined() => Ok(None),
        v => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| Error::option(key, "must be a number")),
    }
}

fn boolean(object: &JsValue, key: &'static str) -> Result<Option<bool>, Error> {
    match js::get(object, key) {
        v if v.is_undefined() => Ok(None),
        v => v
            .as_bool()
            .map(Some)
            .ok_or_else(|| Error::option(key, "must be a boolean")),
    }
}
