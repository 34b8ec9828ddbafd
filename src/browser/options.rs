//! The page's options object, handed to the core's reader (`crate::options`) as JSON text. No
//! rule lives here: this file only turns a JS object into text, keeping aside the one option
//! JSON cannot carry, the `analytics` instance.

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::js;
use super::segment::Source;
use crate::config::Config;
use crate::context::Context;
use crate::engine::Preloaded;
use crate::error::Error;
use crate::json;
use crate::options::{self, Reader, ANALYTICS_INSTANCE};

#[wasm_bindgen]
extern "C" {
    /// `Object.assign(target, source)`: runs the page's getters, which may throw.
    #[wasm_bindgen(catch, js_namespace = Object, js_name = assign)]
    fn assign(target: &Object, source: &JsValue) -> Result<Object, JsValue>;
}

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
    let (text, analytics) = options_text(options);
    let read = options::read_options(&text, Reader::Browser)?;
    let source = match read.analytics_instance {
        true => Source::Instance(analytics),
        false => Source::Global(read.config.global_key.clone()),
    };
    Ok(ReadOptions {
        config: read.config,
        source,
        warnings: read.warnings,
        preloaded: Preloaded {
            bucketing: read.initial_bucketing,
            decision: read.initial_decision,
            takeover: None,
        },
    })
}

/// `updateContext()`'s argument, as the `context` option is read.
pub(crate) fn context(value: &JsValue, warnings: &mut Vec<String>) -> Result<Context, Error> {
    if value.is_undefined() || value.is_null() {
        return options::context(None, warnings);
    }
    let parsed = json::parse(&stringify(value)).ok();
    let reason = "must be an object of string, number or boolean values";
    match parsed {
        Some(parsed) => options::context(Some(&parsed), warnings),
        None => Err(Error::option("context", reason)),
    }
}

/// The options' JSON text, `analytics` replaced by [`ANALYTICS_INSTANCE`] when it is an object
/// with a `user()` method (that object is returned beside the text), by what it is otherwise.
/// A text the core refuses (`""`) when the object cannot be read: a throwing getter, a cycle.
fn options_text(options: &JsValue) -> (String, JsValue) {
    if !options.is_object() || js_sys::Array::is_array(options) {
        return (stringify(options), JsValue::UNDEFINED);
    }
    let analytics = js::get(options, "analytics");
    let Ok(copy) = assign(&Object::new(), options) else {
        return (String::new(), JsValue::UNDEFINED);
    };
    if !analytics.is_undefined() && !analytics.is_null() {
        let marker = match analytics.is_object() && js::has_method(&analytics, "user") {
            true => ANALYTICS_INSTANCE,
            false => "not an instance",
        };
        let _ = Reflect::set(&copy, &"analytics".into(), &marker.into());
    }
    (stringify(&copy), analytics)
}

/// `JSON.stringify(value)`, or `""` when it throws or gives nothing.
fn stringify(value: &JsValue) -> String {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_default()
}
