//! Small, infallible helpers over `js_sys::Reflect` for objects we do not own (analytics.js, the
//! page's options). Every call that could throw is caught: a hostile getter on the page must not
//! unwind through Rust.

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::decision::FlagMetadata;
use crate::json::Value;

/// `target[key]`, or `undefined` when the lookup throws or `target` is not an object.
pub(crate) fn get(target: &JsValue, key: &'static str) -> JsValue {
    lookup(target, &name(key))
}

/// [`get`] for a key that is data (a context key, a page-chosen global name).
pub(crate) fn get_data(target: &JsValue, key: &str) -> JsValue {
    lookup(target, &JsValue::from_str(key))
}

fn lookup(target: &JsValue, key: &JsValue) -> JsValue {
    if !target.is_object() && !target.is_function() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(target, key).unwrap_or(JsValue::UNDEFINED)
}

/// Calls method `name` of `target` with no argument. `None` when it is not a function or throws.
pub(crate) fn call0(target: &JsValue, method: &'static str) -> Option<JsValue> {
    let method = get(target, method).dyn_into::<Function>().ok()?;
    method.call0(target).ok()
}

/// True when `value` is a function-valued property `name` of `target`.
pub(crate) fn has_method(target: &JsValue, method: &'static str) -> bool {
    get(target, method).is_function()
}

/// True for a thenable (a Promise or a promise-like object).
pub(crate) fn is_thenable(value: &JsValue) -> bool {
    (value.is_object() || value.is_function()) && has_method(value, "then")
}

/// Sets `target[key] = value` on an object we created.
pub(crate) fn set(target: &Object, key: &'static str, value: &JsValue) {
    let _ = Reflect::set(target, &name(key), value);
}

/// [`set`] for a key that is data (a flag key, a context key).
pub(crate) fn set_data(target: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// A property name as a JS string, made once per name: names repeat on every Segment read and
/// every object we build, and decoding them from wasm memory each time showed in profiles. Keyed
/// by the literal's address, so only `'static` names (never an ID or a value) are kept; a few
/// dozen exist, and a linear scan of them is cheaper than decoding one.
fn name(key: &'static str) -> JsValue {
    thread_local! {
        static NAMES: std::cell::RefCell<Vec<((usize, usize), JsValue)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let address = (key.as_ptr() as usize, key.len());
    NAMES.with(|names| {
        let mut names = names.borrow_mut();
        if let Some((_, js)) = names.iter().find(|(a, _)| *a == address) {
            return js.clone();
        }
        let js = JsValue::from_str(key);
        names.push((address, js.clone()));
        js
    })
}

/// Converts a JSON value (flag values, metadata) to a plain JS value. Objects become plain objects,
/// never `Map`s, so the page can read them with dot notation.
pub(crate) fn to_js(value: &Value) -> JsValue {
    match value {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::Number(n) => JsValue::from_f64(*n),
        Value::String(s) => JsValue::from_str(s),
        Value::Array(items) => items.iter().map(to_js).collect::<Array>().into(),
        Value::Object(map) => {
            let object = Object::new();
            for (key, item) in map.iter() {
                set_data(&object, key, &to_js(item));
            }
            object.into()
        }
    }
}

/// Own enumerable string keys of a plain object.
pub(crate) fn keys(object: &JsValue) -> Vec<String> {
    match object.dyn_ref::<Object>() {
        Some(o) => Object::keys(o)
            .iter()
            .filter_map(|k| k.as_string())
            .collect(),
        None => Vec::new(),
    }
}

/// Flag metadata as a plain object with the official SDK's field names.
pub(crate) fn metadata(m: &FlagMetadata<'_>) -> JsValue {
    let object = Object::new();
    let text = |s: Option<&str>| s.map_or(JsValue::NULL, JsValue::from_str);
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

/// A plain object of string (or `null`) properties.
pub(crate) fn properties(pairs: &[(&'static str, Option<&str>)]) -> JsValue {
    let object = js_sys::Object::new();
    for (key, value) in pairs {
        set(
            &object,
            key,
            &value.map_or(JsValue::NULL, JsValue::from_str),
        );
    }
    object.into()
}

/// `{code, message}`: how an error or a warning reaches the page as data.
pub(crate) fn error_object(code: &str, message: &str) -> JsValue {
    let object = Object::new();
    set(&object, "code", &JsValue::from_str(code));
    set(&object, "message", &JsValue::from_str(message));
    object.into()
}
