//! The bucketing engine, seen from the main module: the second .wasm that parses bucketing files
//! and decides locally, fetched on first use of `mode: "bucketing"` so that an API-mode page never
//! downloads it.
//!
//! Its loader, `js/bucketing-engine.js`, is a wasm-bindgen snippet imported duck-typed: the object
//! it resolves to has `load(text)` and `decide(visitorId, contextJson)`, both declared `catch`
//! (a trap in the engine, out of memory for one, throws a `WebAssembly.RuntimeError`). Everything
//! crosses as text: the file in, a refusal reason or the `/campaigns` answer out, which the
//! caller reads with [`parse_decision`](crate::decision::parse_decision) like an API answer.

use alloc::string::String;

use js_sys::Reflect;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::Error;

#[wasm_bindgen(module = "/js/bucketing-engine.js")]
extern "C" {
    /// The object `loadBucketingEngine` resolves to.
    #[derive(Debug)]
    type JsBucketingEngine;

    /// `loadBucketingEngineThen(url, done)`: fetches the engine from `url`, or (`undefined`)
    /// from its default URL next to the main .wasm (or where the script-tag build pointed it
    /// with `setBucketingEngineSource`); then `done(engine, null)` or `done(null, message)`.
    #[wasm_bindgen(js_name = loadBucketingEngineThen)]
    fn load_bucketing_engine_then(url: Option<&str>, done: &JsValue);

    /// `null` when the file was loaded, else the reason it was refused.
    #[wasm_bindgen(structural, method, catch)]
    fn load(this: &JsBucketingEngine, text: &str) -> Result<Option<String>, JsValue>;

    /// The `/campaigns` answer; throws when no file is loaded or the context is refused.
    #[wasm_bindgen(structural, method, catch)]
    fn decide(
        this: &JsBucketingEngine,
        visitor_id: &str,
        context_json: &str,
    ) -> Result<String, JsValue>;
}

/// A loaded bucketing engine, holding at most one bucketing file.
#[derive(Debug)]
pub(crate) struct BucketingEngine(JsBucketingEngine);

/// Fetches and instantiates the engine, then calls `done`, once: with
/// [`Error::BucketingFetch`] when it could not be fetched (network, non-2xx status) or
/// instantiated.
pub(crate) fn load_engine(
    url: Option<&str>,
    done: impl FnOnce(Result<BucketingEngine, Error>) + 'static,
) {
    let done = Closure::once_into_js(move |engine: JsValue, message: Option<String>| {
        done(match message {
            None => Ok(BucketingEngine(engine.unchecked_into())),
            Some(message) => Err(Error::BucketingFetch(message)),
        })
    });
    load_bucketing_engine_then(url, &done);
}

impl BucketingEngine {
    /// Parses `text` and keeps it for [`decide`](Self::decide). On refusal
    /// ([`Error::BucketingMalformed`]) the file loaded before stays in
    /// use.
    pub(crate) fn load_file(&self, text: &str) -> Result<(), Error> {
        match self.0.load(text) {
            Ok(None) => Ok(()),
            Ok(Some(reason)) => Err(Error::BucketingMalformed(reason.into())),
            Err(error) => Err(Error::BucketingMalformed(
                message(&error, "the bucketing engine failed").into(),
            )),
        }
    }

    /// The `/campaigns` answer for `visitor_id` and the full context (a JSON object of strings,
    /// numbers and booleans, `fs_users`, `fs_client` and `fs_version` included), or the engine's
    /// reason when it has no file, refuses the context, or failed (`BUCKETING_MALFORMED`).
    pub(crate) fn decide(&self, visitor_id: &str, context_json: &str) -> Result<String, Error> {
        self.0.decide(visitor_id, context_json).map_err(|error| {
            Error::BucketingMalformed(message(&error, "the bucketing engine failed").into())
        })
    }
}

/// A thrown value's `message`, or `fallback`.
fn message(error: &JsValue, fallback: &str) -> String {
    Reflect::get(error, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| fallback.into())
}
