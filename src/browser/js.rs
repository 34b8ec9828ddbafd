//! Small, infallible helpers over `js_sys::Reflect` for objects we do not own (analytics.js, the
//! page's options), and the conversions of the core's values to plain JS values. Every call that
//! could throw is caught: a hostile getter on the page must not unwind through Rust.

use alloc::string::String;

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::decision::{FlagMetadata, FlagStore};
use crate::json::{write_value, ObjectWriter, Value};

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

/// Converts a JSON value (a flag value) to a plain JS value. Arrays and objects are written
/// back as JSON text and built by `JSON.parse`, so the page gets exactly what `JSON.parse` of
/// the answer would have given it: plain objects (never `Map`s) whose every key is an own data
/// property, `__proto__` included, a repeated key holding its last value. Building them by
/// assignment (`Reflect.set`) called the setter `Object.prototype` inherits for `__proto__`,
/// which replaced the object's prototype with whatever the answer put there; and it could be
/// refused by a read-only property the page's `Object.prototype` holds (frozen intrinsics).
pub(crate) fn to_js(value: &Value) -> JsValue {
    match value {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::Number(n) => JsValue::from_f64(*n),
        Value::String(s) => JsValue::from_str(s),
        Value::Array(_) | Value::Object(_) => {
            let mut text = String::new();
            write_value(&mut text, value);
            from_json(&text)
        }
    }
}

/// Every non-null flag as a plain object (`getFlags()`, the `flags` event), built like
/// [`to_js`]'s objects: a flag named `__proto__` is an own property like any other.
pub(crate) fn flags_object(flags: &FlagStore) -> JsValue {
    let mut text = String::new();
    let mut writer = ObjectWriter::new(&mut text);
    for (key, value) in flags.values() {
        writer = writer.value(key, value);
    }
    writer.finish();
    from_json(&text)
}

/// `JSON.parse(text)` of a text `json::write_value` wrote (which it never refuses; `null` if
/// it ever did).
fn from_json(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap_or(JsValue::NULL)
}

/// Flag metadata as a plain object with the official SDK's field names (the first stage's, too:
/// `decision::write_metadata`).
pub(crate) fn metadata(m: &FlagMetadata<'_>) -> JsValue {
    let mut text = String::new();
    crate::decision::write_metadata(&mut text, m);
    from_json(&text)
}

/// `{code, message}`: how an error or a warning reaches the page as data.
pub(crate) fn error_object(code: &str, message: &str) -> JsValue {
    let object = Object::new();
    set(&object, "code", &JsValue::from_str(code));
    set(&object, "message", &JsValue::from_str(message));
    object.into()
}
