//! The first stage's C ABI, as js/web/first-stage.js drives it: text crosses as UTF-8 in
//! buffers from `alloc`, answers are JSON read from `output_ptr` / `output_len`. One instance
//! per module instance (the loader instantiates one per `start()`). Exported under these names
//! on wasm32.

use alloc::string::String;

use super::{Answer, FirstFlag, Next, Segment, Stored, PROBE_EVERY_MS};
use crate::c_abi::bytes;
pub use crate::c_abi::{alloc, free};
use crate::config::{Fallback, Mode, TAB_KEY};
use crate::context::{Context, ContextValue};
use crate::decision::rate_limit::NOT_BEFORE_KEY;
use crate::decision::{write_metadata, ValueKind};
use crate::engine::{CACHE_KEY, EARLY_PREFIX};
use crate::error::Error;
use crate::identity::{redact, segment_id, stored_segment_ids, Identity, SegmentIds};
use crate::json::{self, write_string, write_value, ObjectWriter, Value};
use crate::wire::{join, write_request};

/// The instance and the last answer. The wasm is single-threaded and no export re-enters
/// another, so `static mut`s reached only through [`state`] are sound.
static mut STATE: Option<FirstFlag> = None;
static mut OUTPUT: String = String::new();

fn state() -> (&'static mut Option<FirstFlag>, &'static mut String) {
    // SAFETY: see `STATE`.
    unsafe {
        (
            &mut *core::ptr::addr_of_mut!(STATE),
            &mut *core::ptr::addr_of_mut!(OUTPUT),
        )
    }
}

/// The text of a buffer the loader wrote; not UTF-8 reads as empty (refused by whoever reads
/// it).
fn text<'a>(ptr: *const u8, len: usize) -> &'a str {
    // SAFETY: the loader passes a buffer from `alloc` of `len` written bytes.
    core::str::from_utf8(unsafe { bytes(ptr, len) }).unwrap_or_default()
}

/// Reads the options: 0 with `{probeEveryMs, segmentTimeoutMs, globalKey, instance, fallback,
/// bucketing, consent, traits, decisionsKey, notBeforeKey, earlyKey, tabKey, bucketingEngineUrl,
/// envId, apiKey (redacted), endpoints, logLevel, warnings}` (`decisionsKey`, `notBeforeKey` and
/// `earlyKey`, a prefix, are localStorage's; `tabKey` is sessionStorage's), 1 with
/// `{code, message}`.
#[cfg_attr(target_arch = "wasm32", no_mangle)]
pub extern "C" fn configure(ptr: *const u8, len: usize) -> u32 {
    let (slot, out) = state();
    out.clear();
    match FirstFlag::new(text(ptr, len)) {
        Ok(first) => {
            let c = first.config();
            let prefix = first.storage_prefix();
            ObjectWriter::new(out)
                .number("probeEveryMs", f64::from(PROBE_EVERY_MS))
                .number("segmentTimeoutMs", f64::from(c.segment_timeout_ms))
                .string("globalKey", &c.global_key)
                .bool("instance", first.options.analytics_instance)
                .bool("fallback", c.fallback == Fallback::Storage)
                .bool("bucketing", c.mode == Mode::Bucketing)
                .bool("consent", c.consent)
                .with("traits", |o| write_list(o, c.traits.iter()))
                .string("decisionsKey", &join(&prefix, &[CACHE_KEY]))
                .string("notBeforeKey", &join(&prefix, &[NOT_BEFORE_KEY]))
                .string("earlyKey", &join(&prefix, &[EARLY_PREFIX]))
                .string("tabKey", TAB_KEY)
                .opt_string("bucketingEngineUrl", c.bucketing_engine_url.as_deref())
                .string("envId", &c.env_id)
                .string("apiKey", &redact(&c.api_key))
                .with("endpoints", |o| {
                    ObjectWriter::new(o)
                        .string("decision", &c.endpoints.decision)
                        .string("events", &c.endpoints.events)
                        .string("cdn", &c.endpoints.cdn)
                        .finish();
                })
                .number("logLevel", f64::from(c.log_level as u8))
                .with("warnings", |o| {
                    write_list(o, first.option_warnings().iter())
                })
                .finish();
            *slot = Some(first);
            0
        }
        Err(error) => {
            write_error(out, &error);
            1
        }
    }
}

/// Decides, at `now` (time of day), for `reading`: `{segment: {found: "loaded" | "loading" |
/// "absent", userId, anonymousId, traits}, cookie, localUserId, localAnonymousId, decisions,
/// notBefore}` (Segment's stored copies only under `fallback: "storage"`). 0 with `{request,
/// timeoutMs}` to send; 2 with `{file, fileRequest, visitorId, context, timeoutMs}` for the
/// bucketing engine; 1 when done.
#[cfg_attr(target_arch = "wasm32", no_mangle)]
pub extern "C" fn decide(ptr: *const u8, len: usize, now: f64) -> u32 {
    let (slot, out) = state();
    out.clear();
    let Some(first) = slot.as_mut() else {
        return 1;
    };
    let reading = json::parse(text(ptr, len)).unwrap_or(Value::Null);
    let found = reading.get("segment");
    let segment = match found.and_then(|s| s.get("found")).and_then(Value::as_str) {
        Some("loaded") => Segment::Read(ids_of(found), traits_of(found)),
        Some("loading") => Segment::TimedOut,
        _ => Segment::Absent,
    };
    let string = |key| reading.get(key).and_then(Value::as_str);
    let stored = Stored {
        segment_ids: stored_segment_ids(
            string("cookie").unwrap_or_default(),
            [string("localUserId"), string("localAnonymousId")],
        ),
        decisions: string("decisions").map(String::from),
        not_before: string("notBefore").map(String::from),
    };
    let timeout = f64::from(first.config().timeout_ms);
    match first.decide(now, segment, stored) {
        Next::Send(request) => {
            ObjectWriter::new(out)
                .with("request", |o| write_request(o, &request))
                .number("timeoutMs", timeout)
                .finish();
            0
        }
        Next::Bucketing {
            file,
            file_request,
            visitor_id,
            context,
        } => {
            ObjectWriter::new(out)
                .opt_string("file", file.as_deref())
                .with("fileRequest", |o| write_request(o, &file_request))
                .string("visitorId", &visitor_id)
                .string("context", &context)
                .number("timeoutMs", timeout)
                .finish();
            2
        }
        Next::Done => 1,
    }
}

/// The answer to what [`decide`] asked for, at `now`: `kind` 0 an HTTP answer (`status`,
/// `body`), 1 timed out, 2 no answer (`body`: the browser's message), 3 the bucketing engine's
/// decision (`body`), 4 the engine or its file could not be fetched, 5 the engine refused the
/// file (`body`: why). `extra`: `{retryAfter, ids: {userId, anonymousId}}`, the IDs Segment
/// reports now (absent without Segment).
#[cfg_attr(target_arch = "wasm32", no_mangle)]
pub extern "C" fn answer(
    kind: u32,
    status: u32,
    body_ptr: *const u8,
    body_len: usize,
    extra_ptr: *const u8,
    extra_len: usize,
    now: f64,
) {
    let Some(first) = state().0.as_mut() else {
        return;
    };
    let body = text(body_ptr, body_len);
    let extra = json::parse(text(extra_ptr, extra_len)).unwrap_or(Value::Null);
    let retry_after = extra.get("retryAfter").and_then(Value::as_str);
    let answer = match kind {
        0 => Answer::Http(status.min(999) as u16, body, retry_after),
        1 => Answer::TimedOut,
        2 => Answer::Network(body),
        3 => Answer::Local(body),
        4 => Answer::BucketingFetch(body),
        _ => Answer::BucketingMalformed(body),
    };
    let ids = extra.get("ids").map(|ids| ids_of(Some(ids)));
    first.answer(now, answer, ids);
}

/// Reads `key` expecting `kind` (0 any, 1 boolean, 2 number, 3 string, 4 array, 5 object): 0
/// with the value's JSON, 1 for the default; plus 2 when the read exposes the visitor; plus 4,
/// with the line to log instead of a value, when the flag is of another type than the default.
#[cfg_attr(target_arch = "wasm32", no_mangle)]
pub extern "C" fn read(ptr: *const u8, len: usize, kind: u32) -> u32 {
    let (slot, out) = state();
    out.clear();
    let Some(first) = slot.as_mut() else {
        return 1;
    };
    let kind = match kind {
        1 => ValueKind::Bool,
        2 => ValueKind::Number,
        3 => ValueKind::String,
        4 => ValueKind::Array,
        5 => ValueKind::Object,
        _ => ValueKind::Any,
    };
    let (value, exposes) = first.read(text(ptr, len), kind);
    let found = match value {
        Some(value) => {
            write_value(out, value);
            0
        }
        None => 1,
    };
    let exposes = if exposes { 2 } else { 0 };
    match first.take_warnings().pop() {
        Some((_, line)) => {
            out.push_str(&line);
            found + exposes + 4
        }
        None => found + exposes,
    }
}

/// Whether the hit call `{consent, call: [method, …args], ids?: {userId, anonymousId}}` (`ids`:
/// Segment's now) would be sent: 0 yes, with `{visitorId, anonymousId}`, the identity it is for;
/// 2 not sent (no identity, no consent); 1 refused with `{code, message}`.
#[cfg_attr(target_arch = "wasm32", no_mangle)]
pub extern "C" fn check_hit(ptr: *const u8, len: usize) -> u32 {
    let (slot, out) = state();
    out.clear();
    let Some(first) = slot.as_ref() else {
        return 2;
    };
    let input = json::parse(text(ptr, len)).unwrap_or(Value::Null);
    let consent = input.get("consent").and_then(Value::as_bool) == Some(true);
    let call = input
        .get("call")
        .and_then(Value::as_array)
        .unwrap_or_default();
    let ids = input.get("ids").map(|ids| ids_of(Some(ids)));
    match first.check_hit(call, consent, ids) {
        Ok(Some(identity)) => {
            write_identity(out, &identity);
            0
        }
        Ok(None) => 2,
        Err(error) => {
            write_error(out, &error);
            1
        }
    }
}

/// The identity of this moment for `{ids?: {userId, anonymousId}}` (Segment's IDs now): 0 with
/// `{visitorId, anonymousId}`, 2 when there is none.
#[cfg_attr(target_arch = "wasm32", no_mangle)]
pub extern "C" fn identity_now(ptr: *const u8, len: usize) -> u32 {
    let (slot, out) = state();
    out.clear();
    let input = json::parse(text(ptr, len)).unwrap_or(Value::Null);
    let ids = input.get("ids").map(|ids| ids_of(Some(ids)));
    match slot.as_ref().and_then(|first| first.identity_now(ids)) {
        Some(identity) => {
            write_identity(out, &identity);
            0
        }
        None => 2,
    }
}

/// `{visitorId, anonymousId}`, as the calls handed to the full module name an identity.
fn write_identity(out: &mut String, identity: &Identity) {
    ObjectWriter::new(out)
        .string("visitorId", identity.visitor_id())
        .opt_string("anonymousId", identity.anonymous_id())
        .finish();
}

/// Metadata of the campaign that sets `key`: 0 with its JSON, 1 when none does.
#[cfg_attr(target_arch = "wasm32", no_mangle)]
pub extern "C" fn metadata(ptr: *const u8, len: usize) -> u32 {
    let (slot, out) = state();
    out.clear();
    let Some(meta) = slot
        .as_ref()
        .and_then(|first| first.metadata(text(ptr, len)))
    else {
        return 1;
    };
    write_metadata(out, &meta);
    0
}

/// What the loader shows the page and hands the full module: `{status, visitorId,
/// anonymousId, redacted: {visitorId, anonymousId}, lastError, warnings, rateLimit,
/// initialDecision, takeover: {visitorId, anonymousId, fresh}, flags}`. Warnings and the rate
/// limit are reported once.
#[cfg_attr(target_arch = "wasm32", no_mangle)]
pub extern "C" fn report() {
    let (slot, out) = state();
    out.clear();
    let Some(first) = slot.as_mut() else {
        return;
    };
    let warnings = first.take_warnings();
    let rate_limit = first.take_rate_limit();
    let identity = first.identity();
    let visitor = identity.map(Identity::visitor_id);
    let anonymous = identity.and_then(Identity::anonymous_id);
    ObjectWriter::new(out)
        .string("status", first.status().as_str())
        .opt_string("visitorId", visitor)
        .opt_string("anonymousId", anonymous)
        .with("redacted", |o| {
            ObjectWriter::new(o)
                .opt_string("visitorId", visitor.map(redact).as_deref())
                .opt_string("anonymousId", anonymous.map(redact).as_deref())
                .finish();
        })
        .with("lastError", |o| match first.last_error() {
            Some(error) => write_error(o, error),
            None => o.push_str("null"),
        })
        .with("warnings", |o| {
            o.push('[');
            for (i, (code, message)) in warnings.iter().enumerate() {
                if i > 0 {
                    o.push(',');
                }
                ObjectWriter::new(o)
                    .string("code", code)
                    .string("message", message)
                    .finish();
            }
            o.push(']');
        })
        .with("rateLimit", |o| match rate_limit {
            Some(until) => write_string(o, &crate::decision::rate_limit::encode(until)),
            None => o.push_str("null"),
        })
        .with("initialDecision", |o| match first.initial_decision() {
            Some(text) => o.push_str(&text),
            None => o.push_str("null"),
        })
        .with("takeover", |o| {
            ObjectWriter::new(o)
                .opt_string("visitorId", visitor)
                .opt_string("anonymousId", anonymous)
                .bool("fresh", first.is_fresh())
                .finish();
        })
        .with("flags", |o| {
            let mut writer = ObjectWriter::new(o);
            for (key, value) in first.flags().values() {
                writer = writer.with(key, |o| write_value(o, value));
            }
            writer.finish();
        })
        .finish();
}

/// Where the last output starts.
#[cfg_attr(target_arch = "wasm32", no_mangle)]
pub extern "C" fn output_ptr() -> *const u8 {
    state().1.as_ptr()
}

/// The last output's length in bytes.
#[cfg_attr(target_arch = "wasm32", no_mangle)]
pub extern "C" fn output_len() -> usize {
    state().1.len()
}

/// Segment's IDs in `{userId, anonymousId}` (a number is a numeric user ID).
fn ids_of(value: Option<&Value>) -> SegmentIds {
    let id = |key| segment_id(value.and_then(|v| v.get(key)));
    SegmentIds {
        user_id: id("userId"),
        anonymous_id: id("anonymousId"),
    }
}

/// The allowlisted traits the loader read (`{traits: {…}}`); values of other types are
/// skipped, never stringified.
fn traits_of(value: Option<&Value>) -> Context {
    let mut context = Context::new();
    if let Some(Value::Object(members)) = value.and_then(|v| v.get("traits")) {
        for (key, value) in members.iter() {
            if let Some(value) = ContextValue::of(value) {
                context.insert(String::from(key), value);
            }
        }
    }
    context
}

fn write_list<'a>(out: &mut String, items: impl Iterator<Item = &'a String>) {
    out.push('[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, item);
    }
    out.push(']');
}

fn write_error(out: &mut String, error: &Error) {
    ObjectWriter::new(out)
        .string("code", error.code())
        .string("message", &error.message())
        .finish();
}
