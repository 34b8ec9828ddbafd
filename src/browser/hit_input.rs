//! The page's hit arguments (`fs.track(action, {label, value, category})`, `fs.transaction({…})`,
//! `fs.item({…})`, `fs.page(url)`) read into the core's hit model. Wrong types are refused with
//! `INVALID_HIT` and the field named; the value rules themselves are `Hit::validate`'s.

use alloc::string::String;

use wasm_bindgen::JsValue;

use super::js;
use crate::error::Error;
use crate::tracking::hits::{EventCategory, EventHit, HitKind, ItemHit, TransactionHit};

fn field(object: &JsValue, key: &'static str) -> Option<JsValue> {
    let value = js::get(object, key);
    (!value.is_undefined() && !value.is_null()).then_some(value)
}

fn text(object: &JsValue, key: &'static str, wrong: &'static str) -> Result<Option<String>, Error> {
    field(object, key)
        .map(|v| v.as_string().ok_or(Error::InvalidHit(wrong)))
        .transpose()
}

fn number(object: &JsValue, key: &'static str, wrong: &'static str) -> Result<Option<f64>, Error> {
    field(object, key)
        .map(|v| v.as_f64().ok_or(Error::InvalidHit(wrong)))
        .transpose()
}

fn properties(value: &JsValue) -> Result<JsValue, Error> {
    if value.is_undefined() || value.is_null() {
        return Ok(js_sys::Object::new().into());
    }
    if !value.is_object() || js_sys::Array::is_array(value) {
        return Err(Error::InvalidHit("hit properties must be an object"));
    }
    Ok(value.clone())
}

/// `fs.track(action, {label?, value?, category?})`: an EVENT, "Action Tracking" by default.
pub(crate) fn event(action: &JsValue, props: &JsValue) -> Result<HitKind, Error> {
    let action = action
        .as_string()
        .ok_or(Error::InvalidHit("action must be a string"))?;
    let props = properties(props)?;
    let category = match text(&props, "category", "category must be a string")?.as_deref() {
        None => EventCategory::ActionTracking,
        Some(name) => EventCategory::parse(name).ok_or(Error::InvalidHit(
            "category must be \"Action Tracking\" or \"User Engagement\"",
        ))?,
    };
    Ok(HitKind::Event(EventHit {
        category,
        action,
        label: text(&props, "label", "label must be a string")?,
        value: number(&props, "value", "value must be a number")?,
    }))
}

/// `fs.transaction({id, affiliation, revenue?, tax?, shipping?, currency?, coupon?, itemCount?,
/// shippingMethod?, paymentMethod?})`.
pub(crate) fn transaction(props: &JsValue) -> Result<HitKind, Error> {
    let p = properties(props)?;
    Ok(HitKind::Transaction(TransactionHit {
        id: text(&p, "id", "id must be a string")?.unwrap_or_default(),
        affiliation: text(&p, "affiliation", "affiliation must be a string")?.unwrap_or_default(),
        revenue: number(&p, "revenue", "revenue must be a number")?,
        tax: number(&p, "tax", "tax must be a number")?,
        shipping: number(&p, "shipping", "shipping must be a number")?,
        currency: text(&p, "currency", "currency must be a string")?,
        coupon: text(&p, "coupon", "coupon must be a string")?,
        item_count: number(&p, "itemCount", "itemCount must be a number")?,
        shipping_method: text(&p, "shippingMethod", "shippingMethod must be a string")?,
        payment_method: text(&p, "paymentMethod", "paymentMethod must be a string")?,
    }))
}

/// `fs.item({transactionId, name, code, price?, quantity?, category?})`.
pub(crate) fn item(props: &JsValue) -> Result<HitKind, Error> {
    let p = properties(props)?;
    Ok(HitKind::Item(ItemHit {
        transaction_id: text(&p, "transactionId", "transactionId must be a string")?
            .unwrap_or_default(),
        name: text(&p, "name", "name must be a string")?.unwrap_or_default(),
        code: text(&p, "code", "code must be a string")?.unwrap_or_default(),
        price: number(&p, "price", "price must be a number")?,
        quantity: number(&p, "quantity", "quantity must be a number")?,
        category: text(&p, "category", "category must be a string")?,
    }))
}

/// `fs.page(url?)`: the current location when no URL is given.
pub(crate) fn page_view(url: &JsValue) -> Result<HitKind, Error> {
    let url = if url.is_undefined() || url.is_null() {
        web_sys::window()
            .and_then(|w| js::get(&js::get(&w, "location"), "href").as_string())
            .unwrap_or_default()
    } else {
        url.as_string()
            .ok_or(Error::InvalidHit("url must be a string"))?
    };
    Ok(HitKind::PageView { url })
}
