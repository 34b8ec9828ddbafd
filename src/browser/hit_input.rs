//! The page's hit arguments handed to the core's reader (`tracking::hits::hit_of_call`) as JSON.
//! No rule lives here: this file only turns the call's arguments into text (js/hit-args.js, which
//! keeps NaN and ±Infinity from reading as absent fields), and finds the page's URL for `page()`
//! without one.

use alloc::string::String;

use js_sys::Array;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::js;
use crate::error::Error;
use crate::json::{self, Value};
use crate::tracking::hits::{hit_of_call, HitKind, HitMethod};

#[wasm_bindgen(module = "/js/hit-args.js")]
extern "C" {
    #[wasm_bindgen(js_name = hitArgsJson, catch)]
    fn hit_args_json(args: &Array) -> Result<String, JsValue>;
}

/// The hit a call of `method` with `args` makes, or why it is refused.
pub(crate) fn hit(method: HitMethod, args: &[&JsValue]) -> Result<HitKind, Error> {
    let list = Array::new();
    for arg in args {
        list.push(arg);
    }
    // A property JSON cannot write (a cycle, a BigInt) refuses the properties as a whole.
    let text =
        hit_args_json(&list).map_err(|_| Error::InvalidHit("hit properties must be an object"))?;
    let Ok(Value::Array(values)) = json::parse(&text) else {
        return Err(Error::InvalidHit("hit properties must be an object"));
    };
    let location = match method {
        HitMethod::Page => location(),
        _ => String::new(),
    };
    hit_of_call(method, &values, &location)
}

/// `location.href`, or `""` outside a page.
fn location() -> String {
    web_sys::window()
        .and_then(|w| js::get(&js::get(&w, "location"), "href").as_string())
        .unwrap_or_default()
}
