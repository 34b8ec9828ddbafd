//! Small, infallible helpers over `js_sys::Reflect` for objects we do not own (analytics.js, the
//! page's options), and the conversions of the core's values to plain JS values. Every call that
//! could throw is caught: a hostile getter on the page must not unwind through Rust.

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::decision::{FlagMetadata, FlagStore};
use crate::json::Value;

/// `target[key]`, or `undefined` when the lookup throws or `target` is not an object.
pub(crate) fn get(target: &JsValue, key: &str) -> JsValue {
    if !target.is_object() && !target.is_function() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// Calls method `name` of `target` with no argument. `None` when it is not a function or throws.
pub(crate) fn call0(target: &JsValue, method: &str) -> Option<JsValue> {
    let method = get(target, method).dyn_into::<Function>().ok()?;
    method.call0(target).ok()
}

/// True when `target` has a function-valued property `method`.
pub(crate) fn has_method(target: &JsValue, method: &str) -> bool {
    get(target, method).is_function()
}

/// True for a thenable (a Promise or a promise-like object).
pub(crate) fn is_thenable(value: &JsValue) -> bool {
    (value.is_object() || value.is_function()) && has_method(value, "then")
}

/// Sets `target[key] = value` on an object we created.
pub(crate) fn set(target: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// A string, or `null`.
pub(crate) fn text(value: Option<&str>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from_str)
}

/// Converts a JSON value (flag values, metadata) to a plain JS value. Objects become plain
/// objects, never `Map`s, so the page can read them with dot notation.
pub(crate) fn to_js(value: &Value) -> JsValue {
    match value {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::Number(n) => JsValue::from_f64(*n),
        Value::String(s) => JsValue::from_str(s),
        Value::Array(items) => {
            let array = Array::new();
            for item in items {
                array.push(&to_js(item));
            }
            array.into()
        }
        Value::Object(map) => {
            let object = Object::new();
            for (key, item) in map.iter() {
                set(&object, key, &to_js(item));
            }
            object.into()
        }
    }
}

/// Every non-null flag as a plain object (`getFlags()`, the `flags` event).
pub(crate) fn flags_object(flags: &FlagStore) -> JsValue {
    let object = Object::new();
    for (key, value) in flags.values() {
        set(&object, key, &to_js(value));
    }
    object.into()
}

/// Flag metadata as a plain object with the official SDK's field names.
pub(crate) fn metadata(m: &FlagMetadata<'_>) -> JsValue {
    let object = Object::new();
    set(&object, "campaignId", &JsValue::from_str(m.campaign_id));
    set(&object, "campaignName", &text(m.campaign_name));
    set(&object, "slug", &text(m.slug));
    set(&object, "campaignType", &text(m.campaign_type));
    set(
        &object,
        "variationGroupId",
        &JsValue::from_str(m.variation_group_id),
    );
    set(&object, "variationGroupName", &text(m.variation_group_name));
    set(&object, "variationId", &JsValue::from_str(m.variation_id));
    set(&object, "variationName", &text(m.variation_name));
    set(&object, "isReference", &JsValue::from_bool(m.is_reference));
    object.into()
}

/// `{code, message}`: how an error or a warning reaches the page as data.
pub(crate) fn error_object(code: &str, message: &str) -> JsValue {
    let object = Object::new();
    set(&object, "code", &JsValue::from_str(code));
    set(&object, "message", &JsValue::from_str(message));
    object.into()
}
