//! The core of `flagship-segment/server` (`decideFromCookies`, js/server/), built as its own
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

use crate::config::{Config, IdPolicy};
use crate::decision::{campaigns_request, interpret_campaigns_response, write_decision, FlagStore};
use crate::error::Error;
use crate::identity::{find_cookie, parse_stored_id, resolve, Identity, SegmentIds, StoredIn};
use crate::json::{write_string, write_uint, write_value, ObjectWriter};
use crate::options::Reader;
use crate::wire::Request;

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

/// Reads the options object (its JSON text), as `crate::options` reads them for a server.
pub fn read_options(text: &str) -> Result<ServerOptions, Error> {
    let read = crate::options::read_options(text, Reader::Server)?;
    Ok(ServerOptions {
        config: read.config,
        cookie: read.cookie,
        warnings: read.warnings,
    })
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
        .with("request", |out| crate::wire::write_request(out, request))
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
