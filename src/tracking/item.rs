//! What the delivery queues hold: an activation or a hit as it will be sent, its wire JSON
//! object written once when it is queued (without `qt`, the queue time, which is set when it
//! leaves), and the IDs it carries, for the seen-by-Segment gate and for consent purges.
//!
//! One item type for both queues keeps a single queue and a single stored form in the module:
//! a stored item is the wire object itself, so a queue stored by an earlier version (whose
//! items were written field by field) reads back as it is.

use alloc::string::String;
use alloc::vec::Vec;

use super::activation::Activation;
use super::gate::IdentityKey;
use super::hits::{write_hit_fields, Hit};
use crate::config::Config;
use crate::json::{write_number, write_object, Object, ObjectWriter, Value};
use crate::wire::{api_headers, join, Request};

/// Which queue an item belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Exposures, `POST {decision}/v2/activate`.
    Activation,
    /// Hits, `POST {events}`.
    Hit,
}

/// An item ready to be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// `vid`.
    pub visitor_id: String,
    /// `aid` of an activation, `cuid` of a hit.
    pub other_id: Option<String>,
    /// The gate's key of the identity the item carries.
    pub key: IdentityKey,
    /// The wire object, `{…}`, without `qt`.
    pub body: String,
}

impl Item {
    /// The item of an exposure: `{"vid","aid","caid","vaid"}`.
    pub fn activation(a: &Activation) -> Item {
        let mut body = String::with_capacity(96);
        ObjectWriter::new(&mut body)
            .string("vid", &a.visitor_id)
            .opt_string("aid", a.anonymous_id.as_deref())
            .string("caid", &a.variation_group_id)
            .string("vaid", &a.variation_id)
            .finish();
        Item {
            key: IdentityKey::new(&a.visitor_id, a.anonymous_id.as_deref()),
            visitor_id: a.visitor_id.clone(),
            other_id: a.anonymous_id.clone(),
            body,
        }
    }

    /// The item of a validated hit.
    pub fn hit(h: &Hit) -> Item {
        let mut body = String::with_capacity(96);
        write_hit_fields(ObjectWriter::new(&mut body), h).finish();
        Item {
            key: IdentityKey::of_hit(&h.visitor_id, h.customer_user_id.as_deref()),
            visitor_id: h.visitor_id.clone(),
            other_id: h.customer_user_id.clone(),
            body,
        }
    }

    /// Reads a stored wire object of `kind`; `None` when it is not one. `qt` and an earlier
    /// version's `at` are dropped: they are set when the item leaves.
    pub fn from_stored(kind: Kind, object: &Object) -> Option<Item> {
        let visitor_id = object.str("vid").filter(|v| !v.is_empty())?;
        let other = match kind {
            Kind::Activation => "aid",
            Kind::Hit => "cuid",
        };
        let other_id = match object.get(other) {
            None | Some(Value::Null) => None,
            Some(value) => Some(value.as_str()?),
        };
        let key = match kind {
            Kind::Activation => IdentityKey::new(visitor_id, other_id),
            Kind::Hit => IdentityKey::of_hit(visitor_id, other_id),
        };
        let kept: Vec<(String, Value)> = object
            .0
            .iter()
            .filter(|(name, _)| name != "qt" && name != "at")
            .cloned()
            .collect();
        let mut body = String::new();
        write_object(&mut body, &Object(kept));
        Some(Item {
            visitor_id: String::from(visitor_id),
            other_id: other_id.map(String::from),
            key,
            body,
        })
    }

    /// True when the item is about any of `visitor_ids` (consent withdrawn).
    pub fn is_about(&self, visitor_ids: &[&str]) -> bool {
        visitor_ids.contains(&self.visitor_id.as_str())
            || self
                .other_id
                .as_deref()
                .is_some_and(|id| visitor_ids.contains(&id))
    }

    /// Appends the wire object with `"qt": queue_time_ms` first.
    pub fn write_with_qt(&self, out: &mut String, queue_time_ms: f64) {
        out.push_str("{\"qt\":");
        write_number(out, queue_time_ms);
        match self.body.strip_prefix('{') {
            Some("}") | None => out.push('}'),
            Some(rest) => {
                out.push(',');
                out.push_str(rest);
            }
        }
    }
}

/// The request sending `items` of `kind`, each with its queue time at `now_ms`: `{"cid",
/// "batch":[…]}` to `/v2/activate`, or the collector's BATCH body.
pub fn batch_request(config: &Config, kind: Kind, items: &[(f64, &Item)], now_ms: f64) -> Request {
    let mut body =
        String::with_capacity(64 + items.iter().map(|(_, i)| i.body.len() + 12).sum::<usize>());
    let list = |out: &mut String| {
        out.push('[');
        for (i, (created_at_ms, item)) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            item.write_with_qt(out, crate::num::round((now_ms - created_at_ms).max(0.0)));
        }
        out.push(']');
    };
    match kind {
        Kind::Activation => {
            ObjectWriter::new(&mut body)
                .string("cid", &config.env_id)
                .with("batch", list)
                .finish();
            Request::post(
                join(&config.endpoints.decision, &["/v2/activate"]),
                api_headers(&config.api_key),
                body,
            )
        }
        Kind::Hit => {
            ObjectWriter::new(&mut body)
                .string("ds", "APP")
                .string("cid", &config.env_id)
                .string("t", "BATCH")
                .number("qt", 0.0)
                .with("h", list)
                .finish();
            Request::post(
                config.endpoints.events.clone(),
                alloc::vec![("content-type", String::from("application/json"))],
                body,
            )
        }
    }
}

/// Bytes a request adds around its items (envelope, URL-independent): what the unload budget
/// counts per request besides each item's body.
pub const BATCH_ENVELOPE_BYTES: usize = 80;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;
    use crate::tracking::hits::{EventCategory, EventHit, HitKind};
    use serde_json::{json, Value as J};

    fn hit() -> Hit {
        Hit {
            visitor_id: "A".into(),
            customer_user_id: Some("U".into()),
            queue_time_ms: 0.0,
            kind: HitKind::Event(EventHit {
                category: EventCategory::ActionTracking,
                action: "buy".into(),
                label: None,
                value: Some(2.0),
            }),
        }
    }

    fn activation(aid: Option<&str>) -> Activation {
        Activation {
            visitor_id: "U".into(),
            anonymous_id: aid.map(Into::into),
            variation_group_id: "vg".into(),
            variation_id: "v".into(),
            created_at_ms: 10.0,
        }
    }

    fn config() -> Config {
        let mut config = Config {
            env_id: "env1".into(),
            api_key: "key1".into(),
            ..Config::default()
        };
        config.endpoints.decision = "https://d.test".into();
        config.endpoints.events = "https://e.test".into();
        config
    }

    fn body(request: &Request) -> J {
        serde_json::from_str(&request.body).unwrap()
    }

    #[test]
    fn activation_batches_are_the_contract() {
        let items = [
            Item::activation(&activation(Some("A"))),
            Item::activation(&activation(None)),
        ];
        let request = batch_request(
            &config(),
            Kind::Activation,
            &[(1000.0, &items[0]), (1500.0, &items[1])],
            1750.0,
        );
        assert_eq!(request.url, "https://d.test/v2/activate");
        assert!(request.headers.contains(&("x-api-key", "key1".into())));
        assert_eq!(
            body(&request),
            json!({"cid": "env1", "batch": [
                {"vid": "U", "aid": "A", "caid": "vg", "vaid": "v", "qt": 750},
                {"vid": "U", "aid": null, "caid": "vg", "vaid": "v", "qt": 250}
            ]})
        );
    }

    #[test]
    fn hit_batches_are_the_contract_and_qt_never_goes_negative() {
        let item = Item::hit(&hit());
        let request = batch_request(&config(), Kind::Hit, &[(2000.0, &item)], 1000.0);
        assert_eq!(request.url, "https://e.test");
        assert_eq!(
            body(&request),
            json!({"ds": "APP", "cid": "env1", "t": "BATCH", "qt": 0, "h": [
                {"vid": "A", "cuid": "U", "t": "EVENT", "qt": 0, "ec": "Action Tracking", "ea": "buy", "ev": 2}
            ]})
        );
    }

    #[test]
    fn stored_items_read_back_including_an_earlier_versions_form() {
        let item = Item::hit(&hit());
        let Value::Object(stored) = parse(&item.body).unwrap() else {
            panic!()
        };
        assert_eq!(Item::from_stored(Kind::Hit, &stored), Some(item.clone()));
        // Version 1 stored hits with their `qt`, activations with the time of the read.
        let old_hit = parse(
            r#"{"vid":"A","cuid":"U","t":"EVENT","qt":0,"ec":"Action Tracking","ea":"buy","ev":2}"#,
        )
        .unwrap();
        assert_eq!(
            Item::from_stored(Kind::Hit, old_hit.as_object().unwrap())
                .unwrap()
                .key,
            item.key
        );
        let old_activation =
            parse(r#"{"vid":"U","aid":"A","caid":"vg","vaid":"v","at":12}"#).unwrap();
        assert_eq!(
            Item::from_stored(Kind::Activation, old_activation.as_object().unwrap()),
            Some(Item::activation(&activation(Some("A"))))
        );
        for bad in [
            r#"{"cuid":"U"}"#,
            r#"{"vid":""}"#,
            r#"{"vid":"A","cuid":7}"#,
        ] {
            let value = parse(bad).unwrap();
            assert_eq!(
                Item::from_stored(Kind::Hit, value.as_object().unwrap()),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn purges_find_an_item_by_either_id() {
        let item = Item::hit(&hit());
        assert!(item.is_about(&["U"]) && item.is_about(&["A"]));
        assert!(!item.is_about(&["B"]));
    }
}
