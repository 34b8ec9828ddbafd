//! TEMPORARY stand-in until the bucketing engine module lands (branch bucketing-engine).

use alloc::string::String;

use wasm_bindgen::JsValue;

use crate::error::Error;

/// The instantiated bucketing engine module.
#[derive(Debug)]
pub(crate) struct BucketingEngine(#[allow(dead_code)] JsValue);

/// Fetches and instantiates the engine, then calls `done`.
pub(crate) fn load(done: impl FnOnce(Result<BucketingEngine, Error>) + 'static) {
    done(Err(Error::BucketingFetch(String::from(
        "bucketing engine not built",
    ))));
}

impl BucketingEngine {
    /// Gives the engine a bucketing file.
    pub(crate) fn load_file(&self, _text: &str) -> Result<(), Error> {
        Err(Error::BucketingMalformed("bucketing engine not built"))
    }

    /// A decision for `visitor_id` with `context` (JSON), as a Decision API body.
    pub(crate) fn decide(&self, _visitor_id: &str, _context: &str) -> Option<String> {
        None
    }
}
