//! The core of `flagship-segment/server` (`decideFromCookies`, js/server.mjs), built as its own
//! .wasm with `--no-default-features --features server`: from a request's `Cookie` header to the
//! Decision API request for exactly the identity Segment's cookies hold, and from its answer to
//! what the page hydrates with (`start({ initialDecision })`).
//!
//! The identity is read, the options validated and the request built by the browser module's own
//! code (`identity`, `config`, `decision`); the loader only sends the request and hands the answer
//! back. No ID is ever minted: without a Segment cookie there is no request and no answer.
//!
//! The C ABI (as the bucketing engine's, see `c_abi`): `plan(ptr, len)` and `interpret(ptr, len,
//! status, body_ptr, body_len)` return 0 with a JSON answer in the output (`output_ptr`,
//! `output_len`), or 1 with `{"code","message"}`. Both take the options as JSON text
//! (`JSON.stringify` of what the caller passed); `interpret` reads the cookie again rather than
//! trusting an identity handed back.

use alloc::string::String;
use alloc::vec::Vec;

use crate::config::{
    check_base_url, check_credential, check_millis, Config, IdPolicy, FORBIDDEN_OPTIONS,
};
use crate::context::{Context, ContextValue, MAX_CONTEXT_KEYS, RESERVED_KEYS};
use crate::decision::{campaigns_request, interpret_campaigns_response, write_decision, FlagStore};
use crate::error::Error;
use crate::identity::{find_cookie, parse_stored_id, resolve, Identity, SegmentIds, StoredIn};
use crate::json::{self, write_string, write_uint, write_value, ObjectWriter, Value};
use crate::wire::{join, Request};

/// What `decideFromCookies` was given, validated.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The settings the request is built from.
    pub config: Config,
    /// The request's `Cookie` header.
    pub cookie: String,
    /// Options ignored, to tell the caller.
    pub warnings: Vec<String>,
}

/// Options the loader reads itself (`wasm`, `fetch`); accepted here without a warning.
const LOADER_OPTIONS: [&str; 2] = ["wasm", "fetch"];

/// Reads the options object (its JSON text).
pub fn read_options(text: &str) -> Result<ServerOptions, Error> {
    let Ok(Value::Object(options)) = json::parse(text) else {
        return Err(Error::option("options", "must be an object"));
    };
    let mut config = Config::default();
    let mut cookie = String::new();
    let mut warnings = Vec::new();
    let mut credentials = [false, false];
    for (key, value) in options.iter() {
        if FORBIDDEN_OPTIONS.contains(&key) {
            return Err(Error::option(
                key,
                "is not accepted: the visitor ID always comes from Segment's cookies",
            ));
        }
        match key {
            "envId" => {
                config.env_id = check_credential(key, text_of(key, value)?)?;
                credentials[0] = true;
            }
            "apiKey" => {
                config.api_key = check_credential(key, text_of(key, value)?)?;
                credentials[1] = true;
            }
            "cookie" => match value {
                Value::Null => {}
                value => cookie = String::from(text_of(key, value)?),
            },
            "endpoints" => {
                let Value::Object(endpoints) = value else {
                    return Err(Error::option(key, "must be an object"));
                };
                if let Some(decision) = endpoints.get("decision") {
                    let field = "endpoints.decision";
                    config.endpoints.decision = check_base_url(field, text_of(field, decision)?)?;
                }
            }
            "timeoutMs" => {
                let Value::Number(ms) = value else {
                    return Err(Error::option(key, "must be a number of milliseconds"));
                };
                config.timeout_ms = check_millis(key, *ms)?;
            }
            "context" => config.context = context(value, &mut warnings)?,
            "idPolicy" => {
                config.id_policy = match value.as_str() {
                    Some("user") => IdPolicy::UserThenAnonymous,
                    Some("anonymous") => IdPolicy::Anonymous,
                    _ => return Err(Error::option(key, "must be \"user\" or \"anonymous\"")),
                }
            }
            "consent" => match value {
                Value::Bool(consent) => config.consent = *consent,
                _ => return Err(Error::option(key, "must be a boolean")),
            },
            key if LOADER_OPTIONS.contains(&key) => {}
            key => warnings.push(join("unknown option `", &[key, "` ignored"])),
        }
    }
    if !credentials[0] {
        return Err(Error::option("envId", "is required"));
    }
    if !credentials[1] {
        return Err(Error::option("apiKey", "is required"));
    }
    Ok(ServerOptions {
        config,
        cookie,
        warnings,
    })
}

fn text_of<'a>(field: &str, value: &'a Value) -> Result<&'a str, Error> {
    value
        .as_str()
        .ok_or_else(|| Error::option(field, "must be a string"))
}

/// The `context` option: a flat object of strings, numbers and booleans, as in the browser.
fn context(value: &Value, warnings: &mut Vec<String>) -> Result<Context, Error> {
    let reason = "must be an object of string, number or boolean values";
    let Value::Object(members) = value else {
        return Err(Error::option("context", reason));
    };
    if members.len() > MAX_CONTEXT_KEYS {
        return Err(Error::option("context", "has more than 100 keys"));
    }
    let mut context = Context::new();
    for (key, value) in members.iter() {
        if RESERVED_KEYS.contains(&key) {
            warnings.push(join(
                "context key `",
                &[key, "` is set by the module; the value given is ignored"],
            ));
            continue;
        }
        let value = match value {
            Value::String(text) => ContextValue::String(text.clone()),
            Value::Number(number) => ContextValue::Number(*number),
            Value::Bool(flag) => ContextValue::Bool(*flag),
            _ => {
                return Err(Error::option(
                    &join("context.", &[key]),
                    "must be a string, a finite number or a boolean",
                ))
            }
        };
        context.insert(String::from(key), value);
    }
    Ok(context)
}

/// The identity Segment's cookies hold (`ajs_user_id`, `ajs_anonymous_id`, in any of the forms
/// Segment writes), under `policy`; `None` when they hold none.
pub fn identity_from_cookies(cookie: &str, policy: IdPolicy) -> Result<Option<Identity>, Error> {
    let read = |name| find_cookie(cookie, name).and_then(|v| parse_stored_id(v, StoredIn::Cookie));
    let ids = SegmentIds {
        user_id: read("ajs_user_id"),
        anonymous_id: read("ajs_anonymous_id"),
    };
    let usable = match policy {
        IdPolicy::UserThenAnonymous => ids.user_id.is_some() || ids.anonymous_id.is_some(),
        IdPolicy::Anonymous => ids.anonymous_id.is_some(),
    };
    if !usable {
        return Ok(None);
    }
    resolve(&ids, policy)
        .map(Some)
        .map_err(Error::InvalidVisitorId)
}

/// The Decision API request for the visitor of `options.cookie`; `None` without one.
pub fn plan(options: &ServerOptions) -> Result<Option<(Identity, Request)>, Error> {
    let config = &options.config;
    let Some(identity) = identity_from_cookies(&options.cookie, config.id_policy)? else {
        return Ok(None);
    };
    let request = campaigns_request(config, &identity, &config.context, config.consent);
    Ok(Some((identity, request)))
}

/// The `initialDecision` a page hydrates with, from the Decision API's answer (`status`,
/// `body`) to the request of [`plan`]: `{visitorId, anonymousId, decision, flags}`, where
/// `decision` is the `/campaigns` answer and `flags` its values by key (for the server's own
/// render).
pub fn interpret(options: &ServerOptions, status: u16, body: &str) -> Result<String, Error> {
    let Some(identity) = identity_from_cookies(&options.cookie, options.config.id_policy)? else {
        return Err(Error::DecisionMalformed(
            "no segment identity to decide for",
        ));
    };
    let decision = interpret_campaigns_response(&identity, status, body)?;
    let written = write_decision(&decision);
    let flags = FlagStore::new(decision);
    let mut out = String::with_capacity(written.len() * 2);
    ObjectWriter::new(&mut out)
        .string("visitorId", identity.visitor_id())
        .opt_string("anonymousId", identity.anonymous_id())
        .with("decision", |out| out.push_str(&written))
        .with("flags", |out| {
            let mut writer = ObjectWriter::new(out);
            if !flags.is_panic() {
                for (key, value) in flags.values() {
                    writer = writer.with(key, |out| write_value(out, value));
                }
            }
            writer.finish();
        })
        .finish();
    Ok(out)
}

/// [`plan`]'s answer as the loader reads it: `{visitorId, anonymousId, request: {url, method,
/// headers, body}, timeoutMs, warnings}`, or `null`.
pub fn write_plan(options: &ServerOptions, planned: Option<&(Identity, Request)>) -> String {
    let Some((identity, request)) = planned else {
        return String::from("null");
    };
    let mut out = String::with_capacity(request.body.len() + 256);
    ObjectWriter::new(&mut out)
        .string("visitorId", identity.visitor_id())
        .opt_string("anonymousId", identity.anonymous_id())
        .with("request", |out| {
            ObjectWriter::new(out)
                .string("url", &request.url)
                .string("method", request.method.as_str())
                .with("headers", |out| {
                    let mut headers = ObjectWriter::new(out);
                    for (name, value) in &request.headers {
                        headers = headers.string(name, value);
                    }
                    headers.finish();
                })
                .string("body", &request.body)
                .finish();
        })
        .with("timeoutMs", |out| {
            write_uint(out, u64::from(options.config.timeout_ms))
        })
        .with("warnings", |out| {
            out.push('[');
            for (i, warning) in options.warnings.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, warning);
            }
            out.push(']');
        })
        .finish();
    out
}

/// An error as the loader reads it: `{code, message}`.
pub fn write_error(error: &Error) -> String {
    let mut out = String::new();
    ObjectWriter::new(&mut out)
        .string("code", error.code())
        .string("message", &error.message())
        .finish();
    out
}

/// The C ABI: one output buffer, written by each call. Exported under these names on wasm32.
pub mod exports {
    use super::*;
    use crate::c_abi::bytes;
    pub use crate::c_abi::{alloc, free};

    /// The last answer. The wasm is single-threaded and no export re-enters another, so a
    /// `static mut` reached only through [`output`] is sound (natively, one test uses it).
    static mut OUTPUT: String = String::new();

    fn output() -> &'static mut String {
        // SAFETY: see `OUTPUT`.
        unsafe { &mut *core::ptr::addr_of_mut!(OUTPUT) }
    }

    fn answer(result: Result<String, Error>) -> u32 {
        let (status, text) = match result {
            Ok(text) => (0, text),
            Err(error) => (1, write_error(&error)),
        };
        *output() = text;
        status
    }

    fn text(raw: &[u8]) -> Result<&str, Error> {
        core::str::from_utf8(raw).map_err(|_| Error::option("options", "must be UTF-8 text"))
    }

    /// [`plan`] of the options at `ptr`.
    ///
    /// # Safety
    /// `ptr` must be readable for `len` bytes.
    #[cfg_attr(target_arch = "wasm32", no_mangle)]
    pub unsafe extern "C" fn plan(ptr: *const u8, len: usize) -> u32 {
        // SAFETY: the caller's contract.
        let input = unsafe { bytes(ptr, len) };
        answer(text(input).and_then(read_options).and_then(|options| {
            let planned = super::plan(&options)?;
            Ok(write_plan(&options, planned.as_ref()))
        }))
    }

    /// [`interpret`] of an answer (`status`, the body at `body_ptr`) for the options at `ptr`.
    ///
    /// # Safety
    /// Each pointer must be readable for its length.
    #[cfg_attr(target_arch = "wasm32", no_mangle)]
    pub unsafe extern "C" fn interpret(
        ptr: *const u8,
        len: usize,
        status: u32,
        body_ptr: *const u8,
        body_len: usize,
    ) -> u32 {
        // SAFETY: the caller's contract.
        let (input, body) = unsafe { (bytes(ptr, len), bytes(body_ptr, body_len)) };
        answer(text(input).and_then(read_options).and_then(|options| {
            let body = core::str::from_utf8(body)
                .map_err(|_| Error::DecisionMalformed("body is not UTF-8"))?;
            super::interpret(&options, status.min(999) as u16, body)
        }))
    }

    /// Where the last output starts.
    #[cfg_attr(target_arch = "wasm32", no_mangle)]
    pub extern "C" fn output_ptr() -> *const u8 {
        output().as_ptr()
    }

    /// The last output's length in bytes.
    #[cfg_attr(target_arch = "wasm32", no_mangle)]
    pub extern "C" fn output_len() -> usize {
        output().len()
    }
}

#[cfg(test)]
mod tests;
