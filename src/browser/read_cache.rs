//! The render-loop read path, kept in JS: each started instance gets its own `getFlag`
//! (js/read-cache.js) that answers from a `Map` of the primitive flag values already read, and
//! only calls into the wasm when the `Map` cannot answer exactly as the wasm would.
//!
//! The `Map` holds a key only while its answer is fixed: the value is a boolean, number or
//! string of the current flags, and either its campaign's exposure is already with delivery
//! (`exposed`) or the read asks for none. Replacing the flags clears it, so a value decided for
//! another identity is never served from it.

use js_sys::Map;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/read-cache.js")]
extern "C" {
    #[wasm_bindgen(js_name = installReadCache)]
    fn install_read_cache(instance: &JsValue, cache: &Map);

    #[wasm_bindgen(js_name = remember)]
    fn remember_entry(cache: &Map, key: &JsValue, value: &JsValue, exposed: bool);
}

/// The JS-side copy of settled reads.
#[derive(Debug)]
pub(crate) struct ReadCache(Map);

impl Default for ReadCache {
    fn default() -> Self {
        ReadCache(Map::new())
    }
}

impl ReadCache {
    /// Puts the JS `getFlag` in front of the wasm one on `instance`.
    pub(crate) fn install(&self, instance: &JsValue) {
        install_read_cache(instance, &self.0);
    }

    /// Records a read that later reads may repeat without the wasm (the engine says which:
    /// primitives only, since arrays and objects are copied afresh for each read so the page
    /// cannot alter the flags). `key` is the page's own key string, not sent back across the
    /// boundary.
    pub(crate) fn remember(&self, key: &JsValue, value: &JsValue, exposed: bool) {
        remember_entry(&self.0, key, value, exposed);
    }

    /// Forgets everything: the flags behind it have been replaced.
    pub(crate) fn clear(&self) {
        self.0.clear();
    }
}
