//! The page's hit calls read into the hit model: `track(action, {label, value, category})`,
//! `transaction({…})`, `item({…})`, `page(url)`, their arguments as JSON (the shell, and the web
//! build's first stage, hand over `JSON.stringify` of them). Wrong types are refused with
//! `INVALID_HIT` and the field named; the value rules themselves are `Hit::validate`'s.

use alloc::string::String;

use super::{EventCategory, EventHit, HitKind, ItemHit, TransactionHit};
use crate::error::Error;
use crate::json::{Object, Value};

/// A hit method of the page's handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitMethod {
    /// `track(action, properties)`.
    Track,
    /// `transaction(properties)`.
    Transaction,
    /// `item(properties)`.
    Item,
    /// `page(url)`.
    Page,
}

impl HitMethod {
    /// The method of that name.
    pub fn parse(name: &str) -> Option<HitMethod> {
        match name {
            "track" => Some(HitMethod::Track),
            "transaction" => Some(HitMethod::Transaction),
            "item" => Some(HitMethod::Item),
            "page" => Some(HitMethod::Page),
            _ => None,
        }
    }
}

/// The hit a call of `method` with `args` (its arguments, in order) makes; `location` is the page's
/// URL, what `page()` with no URL sends.
pub fn hit_of_call(method: HitMethod, args: &[Value], location: &str) -> Result<HitKind, Error> {
    let arg = |i: usize| args.get(i).filter(|v| !v.is_null());
    match method {
        HitMethod::Track => event(arg(0), arg(1)),
        HitMethod::Transaction => transaction(arg(0)),
        HitMethod::Item => item(arg(0)),
        HitMethod::Page => match arg(0) {
            None => Ok(HitKind::PageView {
                url: String::from(location),
            }),
            Some(url) => Ok(HitKind::PageView {
                url: String::from(
                    url.as_str()
                        .ok_or(Error::InvalidHit("url must be a string"))?,
                ),
            }),
        },
    }
}

fn properties(value: Option<&Value>) -> Result<Object, Error> {
    match value {
        None => Ok(Object::default()),
        Some(Value::Object(object)) => Ok(object.clone()),
        Some(_) => Err(Error::InvalidHit("hit properties must be an object")),
    }
}

fn text(object: &Object, key: &str, wrong: &'static str) -> Result<Option<String>, Error> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(Error::InvalidHit(wrong)),
    }
}

/// A number field: a finite number or absent. NaN and ±Infinity arrive as
/// `{"$nonFinite": "NaN"}` (js/hit-args.js), an object, refused like any other type.
fn number(object: &Object, key: &str, wrong: &'static str) -> Result<Option<f64>, Error> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(Some(*n)),
        Some(_) => Err(Error::InvalidHit(wrong)),
    }
}

/// `track(action, {label?, value?, category?})`: an EVENT, "Action Tracking" by default.
fn event(action: Option<&Value>, props: Option<&Value>) -> Result<HitKind, Error> {
    let action = action
        .and_then(Value::as_str)
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
        action: String::from(action),
        label: text(&props, "label", "label must be a string")?,
        value: number(&props, "value", "value must be a finite number")?,
    }))
}

/// `transaction({id, affiliation, revenue?, tax?, shipping?, currency?, coupon?, itemCount?,
/// shippingMethod?, paymentMethod?})`.
fn transaction(props: Option<&Value>) -> Result<HitKind, Error> {
    let p = properties(props)?;
    Ok(HitKind::Transaction(TransactionHit {
        id: text(&p, "id", "id must be a string")?.unwrap_or_default(),
        affiliation: text(&p, "affiliation", "affiliation must be a string")?.unwrap_or_default(),
        revenue: number(&p, "revenue", "revenue must be a finite number")?,
        tax: number(&p, "tax", "tax must be a finite number")?,
        shipping: number(&p, "shipping", "shipping must be a finite number")?,
        currency: text(&p, "currency", "currency must be a string")?,
        coupon: text(&p, "coupon", "coupon must be a string")?,
        item_count: number(&p, "itemCount", "itemCount must be a finite number")?,
        shipping_method: text(&p, "shippingMethod", "shippingMethod must be a string")?,
        payment_method: text(&p, "paymentMethod", "paymentMethod must be a string")?,
    }))
}

/// `item({transactionId, name, code, price?, quantity?, category?})`.
fn item(props: Option<&Value>) -> Result<HitKind, Error> {
    let p = properties(props)?;
    Ok(HitKind::Item(ItemHit {
        transaction_id: text(&p, "transactionId", "transactionId must be a string")?
            .unwrap_or_default(),
        name: text(&p, "name", "name must be a string")?.unwrap_or_default(),
        code: text(&p, "code", "code must be a string")?.unwrap_or_default(),
        price: number(&p, "price", "price must be a finite number")?,
        quantity: number(&p, "quantity", "quantity must be a finite number")?,
        category: text(&p, "category", "category must be a string")?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn call(method: &str, args: &str) -> Result<HitKind, Error> {
        let Ok(Value::Array(args)) = parse(args) else {
            panic!("{args}")
        };
        hit_of_call(
            HitMethod::parse(method).unwrap(),
            &args,
            "https://shop.test/here",
        )
    }

    #[test]
    fn each_call_reads_into_its_hit() {
        let HitKind::Event(event) = call("track", r#"["buy",{"label":"l","value":3}]"#).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (event.action.as_str(), event.label.as_deref(), event.value),
            ("buy", Some("l"), Some(3.0))
        );
        assert_eq!(event.category, EventCategory::ActionTracking);
        let engagement = call("track", r#"["x",{"category":"User Engagement"}]"#).unwrap();
        assert!(matches!(
            engagement,
            HitKind::Event(EventHit {
                category: EventCategory::UserEngagement,
                ..
            })
        ));
        let HitKind::Transaction(t) = call(
            "transaction",
            r#"[{"id":"T1","affiliation":"a","revenue":12.5,"itemCount":2}]"#,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            (t.id.as_str(), t.revenue, t.item_count),
            ("T1", Some(12.5), Some(2.0))
        );
        let HitKind::Item(i) = call(
            "item",
            r#"[{"transactionId":"T1","name":"Mug","code":"S","quantity":2}]"#,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!((i.code.as_str(), i.quantity), ("S", Some(2.0)));
        assert_eq!(
            call("page", "[]").unwrap(),
            HitKind::PageView {
                url: "https://shop.test/here".into()
            }
        );
        assert_eq!(
            call("page", r#"["https://x.test/"]"#).unwrap(),
            HitKind::PageView {
                url: "https://x.test/".into()
            }
        );
        assert!(call("track", r#"["buy",null]"#).is_ok(), "no properties");
    }

    #[test]
    fn wrong_types_name_the_field() {
        for (method, args, reason) in [
            ("track", "[3]", "action must be a string"),
            ("track", r#"["x",[1]]"#, "hit properties must be an object"),
            (
                "track",
                r#"["x",{"value":"3"}]"#,
                "value must be a finite number",
            ),
            (
                "track",
                r#"["x",{"category":"Other"}]"#,
                "category must be \"Action Tracking\" or \"User Engagement\"",
            ),
            (
                "transaction",
                r#"[{"revenue":"1"}]"#,
                "revenue must be a finite number",
            ),
            ("item", r#"[{"code":4}]"#, "code must be a string"),
            ("page", "[4]", "url must be a string"),
            // NaN and ±Infinity as js/hit-args.js writes them.
            (
                "transaction",
                r#"[{"id":"t","affiliation":"a","revenue":{"$nonFinite":"NaN"}}]"#,
                "revenue must be a finite number",
            ),
            (
                "track",
                r#"["x",{"value":{"$nonFinite":"Infinity"}}]"#,
                "value must be a finite number",
            ),
            (
                "track",
                r#"["x",{"label":{"$nonFinite":"NaN"}}]"#,
                "label must be a string",
            ),
        ] {
            assert_eq!(
                call(method, args),
                Err(Error::InvalidHit(reason)),
                "{method} {args}"
            );
        }
        assert_eq!(HitMethod::parse("send"), None);
    }
}
