//! The Decision API's response shape, and its parser for untrusted bodies.
//!
//! The same [`Campaign`] type is produced by the local bucketing engine, so everything downstream
//! (flags, exposure) cannot tell which mode decided. Parsing never panics: the body comes from the
//! network. A campaign that is not of the documented shape is skipped and counted; a body whose top
//! level is wrong is refused whole.

use alloc::sync::Arc;
use alloc::{borrow::ToOwned, string::String, vec::Vec};

use crate::error::Error;
use crate::json::{self, write_object, Object, ObjectWriter, Value};

/// Bodies larger than this are refused unparsed. Real responses are a few KB.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// One campaign the visitor is assigned to, with the variation chosen for them.
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    /// Campaign ID.
    pub id: String,
    /// Campaign name, when the environment exposes it.
    pub name: Option<String>,
    /// Campaign slug (custom ID), when set.
    pub slug: Option<String>,
    /// Campaign type (`ab`, `toggle`, `perso`, …).
    pub kind: Option<String>,
    /// The variation group the visitor matched; sent as `caid` on activation.
    pub variation_group_id: String,
    /// Variation group name, when exposed.
    pub variation_group_name: Option<String>,
    /// The variation allocated to the visitor.
    pub variation: Variation,
}

/// A campaign's variation and the flags it sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Variation {
    /// Variation ID; sent as `vaid` on activation.
    pub id: String,
    /// Variation name, when exposed.
    pub name: Option<String>,
    /// True for the reference (control) variation.
    pub reference: bool,
    /// The flags this variation sets.
    pub modifications: Modifications,
}

/// Flag values of a variation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Modifications {
    /// Always `"FLAG"` in current environments; kept for completeness.
    pub kind: String,
    /// Flag key → value. `null` means the key exists in another variation only (`exposeAllKeys`).
    pub value: Object,
}

/// An optional string member: absent and `null` are both `None`; another type is malformed.
fn optional_str<'a>(object: &'a Object, key: &str) -> Result<Option<&'a str>, ()> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(()),
    }
}

fn owned(text: Option<&str>) -> Option<String> {
    text.map(str::to_owned)
}

impl Modifications {
    /// Reads `{type, value: {flagKey: value}}`.
    pub fn from_json(value: &Value) -> Option<Modifications> {
        let (kind, value) = Self::fields(value)?;
        Some(Modifications {
            kind: kind.unwrap_or_default().to_owned(),
            value: value.clone(),
        })
    }

    fn fields(value: &Value) -> Option<(Option<&str>, &Object)> {
        let object = value.as_object()?;
        let kind = optional_str(object, "type").ok()?;
        Some((kind, object.get("value")?.as_object()?))
    }
}

impl Campaign {
    /// Reads one campaign of a Decision API answer; `None` if it is not of the documented shape.
    ///
    /// Every field is checked, borrowed, before anything is copied: a refusal then has nothing
    /// to drop, where building field by field left a ladder of drops per `?` in the wasm.
    pub fn from_json(value: &Value) -> Option<Campaign> {
        let object = value.as_object()?;
        let variation = object.get("variation")?.as_object()?;
        let id = object.str("id")?;
        let name = optional_str(object, "name").ok()?;
        let slug = optional_str(object, "slug").ok()?;
        let kind = optional_str(object, "type").ok()?;
        let variation_group_id = object.str("variationGroupId")?;
        let variation_group_name = optional_str(object, "variationGroupName").ok()?;
        let variation_id = variation.str("id")?;
        let variation_name = optional_str(variation, "name").ok()?;
        let reference = match variation.get("reference") {
            None | Some(Value::Null) => false,
            Some(v) => v.as_bool()?,
        };
        let (modifications_kind, flags) = Modifications::fields(variation.get("modifications")?)?;
        Some(Campaign {
            id: id.to_owned(),
            name: owned(name),
            slug: owned(slug),
            kind: owned(kind),
            variation_group_id: variation_group_id.to_owned(),
            variation_group_name: owned(variation_group_name),
            variation: Variation {
                id: variation_id.to_owned(),
                name: owned(variation_name),
                reference,
                modifications: Modifications {
                    kind: modifications_kind.unwrap_or_default().to_owned(),
                    value: flags.clone(),
                },
            },
        })
    }
}

/// A parsed Decision API answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    /// The visitor the server decided for; must equal the one sent.
    pub visitor_id: String,
    /// Campaigns in server order, shared (local decisions hand out the file's own copies).
    pub campaigns: Vec<Arc<Campaign>>,
    /// Panic mode: the environment is switched off, every flag serves its default.
    pub panic: bool,
    /// How many campaigns were not of the documented shape and were skipped.
    pub skipped_campaigns: usize,
}

/// Parses a 200 body of `POST /v2/{envId}/campaigns`.
pub fn parse_decision(body: &str) -> Result<Decision, Error> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::DecisionMalformed("body larger than 1 MiB"));
    }
    let value = json::parse(body).map_err(|_| Error::DecisionMalformed("body is not JSON"))?;
    let Value::Object(mut top) = value else {
        return Err(Error::DecisionMalformed("body is not a JSON object"));
    };
    let visitor_id = match top.take("visitorId") {
        Some(Value::String(id)) => id,
        _ => {
            return Err(Error::DecisionMalformed(
                "visitorId is missing or not a string",
            ))
        }
    };
    let panic = match top.take("panic") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(panic)) => panic,
        Some(_) => return Err(Error::DecisionMalformed("panic is not a boolean")),
    };
    let raw_campaigns = match top.take("campaigns") {
        Some(Value::Array(list)) => list,
        None | Some(Value::Null) if panic => Vec::new(),
        _ => {
            return Err(Error::DecisionMalformed(
                "campaigns is missing or not an array",
            ))
        }
    };
    if panic {
        return Ok(Decision {
            visitor_id,
            panic,
            ..Decision::default()
        });
    }
    let campaigns: Vec<Arc<Campaign>> = raw_campaigns
        .iter()
        .filter_map(Campaign::from_json)
        .map(Arc::new)
        .collect();
    Ok(Decision {
        visitor_id,
        skipped_campaigns: raw_campaigns.len() - campaigns.len(),
        campaigns,
        panic,
    })
}

/// The `{message}` of an error body, if there is one; bounded so a hostile body cannot flood logs.
pub fn parse_error_message(body: &str) -> Option<String> {
    if body.len() > MAX_BODY_BYTES {
        return None;
    }
    let value = json::parse(body).ok()?;
    Some(value.get("message")?.as_str()?.chars().take(200).collect())
}

fn opt_member<'a>(w: ObjectWriter<'a>, key: &str, value: Option<&str>) -> ObjectWriter<'a> {
    match value {
        Some(v) => w.string(key, v),
        None => w,
    }
}

/// The `/campaigns` answer for `decision`, as the Decision API writes it: what the emulator
/// serves, and what the bucketing module hands to the browser module, which reads it back with
/// [`parse_decision`] like any answer.
pub fn write_decision(decision: &Decision) -> String {
    let mut out = String::with_capacity(512);
    let w = ObjectWriter::new(&mut out)
        .string("visitorId", &decision.visitor_id)
        .with("campaigns", |out| {
            out.push('[');
            for (i, c) in decision.campaigns.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_campaign(out, c);
            }
            out.push(']');
        });
    if decision.panic {
        w.bool("panic", true).finish();
    } else {
        w.finish();
    }
    out
}

fn write_campaign(out: &mut String, c: &Campaign) {
    let w = ObjectWriter::new(out).string("id", &c.id);
    let w = opt_member(w, "name", c.name.as_deref());
    let w = opt_member(w, "slug", c.slug.as_deref());
    let w = opt_member(w, "type", c.kind.as_deref());
    let w = w.string("variationGroupId", &c.variation_group_id);
    let w = opt_member(w, "variationGroupName", c.variation_group_name.as_deref());
    w.with("variation", |out| {
        let v = ObjectWriter::new(out).string("id", &c.variation.id);
        let v = opt_member(v, "name", c.variation.name.as_deref());
        v.bool("reference", c.variation.reference)
            .with("modifications", |out| {
                ObjectWriter::new(out)
                    .string("type", &c.variation.modifications.kind)
                    .with("value", |out| {
                        write_object(out, &c.variation.modifications.value)
                    })
                    .finish();
            })
            .finish();
    })
    .finish();
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value as J};

    fn campaign_json() -> J {
        json!({
            "id": "c1", "name": "Checkout button", "slug": "checkout", "type": "ab",
            "variationGroupId": "vg1", "variationGroupName": "All users",
            "variation": {
                "id": "v2", "name": "Blue", "reference": false,
                "modifications": {"type": "FLAG", "value": {"btnColor": "blue", "discount": null}}
            }
        })
    }

    #[test]
    fn campaigns_answer_parses_back_to_the_same_decision() {
        let body = r#"{"visitorId":"A","campaigns":[{"id":"c","name":"N","variationGroupId":"g",
            "variation":{"id":"v","reference":true,"modifications":{"type":"FLAG","value":{"k":1,"z":null}}}}]}"#;
        let decision = parse_decision(body).unwrap();
        assert_eq!(
            parse_decision(&write_decision(&decision)).unwrap(),
            decision
        );
        let panic = Decision {
            visitor_id: "A".into(),
            panic: true,
            ..Decision::default()
        };
        assert_eq!(
            write_decision(&panic),
            r#"{"visitorId":"A","campaigns":[],"panic":true}"#
        );
    }

    #[test]
    fn parses_a_full_answer() {
        let body = json!({"visitorId": "A", "campaigns": [campaign_json()]}).to_string();
        let d = parse_decision(&body).unwrap();
        assert_eq!(d.visitor_id, "A");
        assert!(!d.panic);
        assert_eq!(d.campaigns.len(), 1);
        let c = &d.campaigns[0];
        assert_eq!(
            (
                c.id.as_str(),
                c.variation_group_id.as_str(),
                c.variation.id.as_str()
            ),
            ("c1", "vg1", "v2")
        );
        assert_eq!(
            c.variation.modifications.value.get("btnColor"),
            Some(&Value::from("blue"))
        );
        assert_eq!(
            c.variation.modifications.value.get("discount"),
            Some(&Value::Null)
        );
    }

    #[test]
    fn optional_fields_may_be_absent() {
        let body = json!({"visitorId": "A", "campaigns": [{
            "id": "c1", "variationGroupId": "vg1",
            "variation": {"id": "v1", "modifications": {"value": {}}}
        }]})
        .to_string();
        let c = &parse_decision(&body).unwrap().campaigns[0];
        assert_eq!((c.name.as_ref(), c.variation.reference), (None, false));
    }

    #[test]
    fn panic_mode_has_no_campaigns() {
        let d = parse_decision(r#"{"visitorId":"A","campaigns":[],"panic":true}"#).unwrap();
        assert!(d.panic && d.campaigns.is_empty());
        let body = json!({"visitorId": "A", "campaigns": [campaign_json()], "panic": true});
        assert!(parse_decision(&body.to_string())
            .unwrap()
            .campaigns
            .is_empty());
        assert!(
            parse_decision(r#"{"visitorId":"A","panic":true}"#)
                .unwrap()
                .panic
        );
    }

    #[test]
    fn malformed_campaigns_are_skipped_and_counted() {
        let mut bad = campaign_json();
        bad["variation"]["modifications"]["value"] = json!("not an object");
        let body = json!({"visitorId": "A", "campaigns": [bad, 42, campaign_json()]}).to_string();
        let d = parse_decision(&body).unwrap();
        assert_eq!((d.campaigns.len(), d.skipped_campaigns), (1, 2));
    }

    #[test]
    fn wrong_top_level_is_refused_with_a_reason() {
        let cases = [
            ("", "body is not JSON"),
            ("<html>", "body is not JSON"),
            ("[]", "body is not a JSON object"),
            (
                r#"{"campaigns":[]}"#,
                "visitorId is missing or not a string",
            ),
            (
                r#"{"visitorId":7,"campaigns":[]}"#,
                "visitorId is missing or not a string",
            ),
            (
                r#"{"visitorId":"A"}"#,
                "campaigns is missing or not an array",
            ),
            (
                r#"{"visitorId":"A","campaigns":{}}"#,
                "campaigns is missing or not an array",
            ),
            (
                r#"{"visitorId":"A","campaigns":[],"panic":"yes"}"#,
                "panic is not a boolean",
            ),
        ];
        for (body, reason) in cases {
            assert_eq!(
                parse_decision(body),
                Err(Error::DecisionMalformed(reason)),
                "{body}"
            );
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let body = format!(
            r#"{{"visitorId":"A","campaigns":{}1{}}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert_eq!(
            parse_decision(&body),
            Err(Error::DecisionMalformed("body is not JSON"))
        );
    }

    #[test]
    fn huge_bodies_are_refused() {
        let body = format!(
            r#"{{"visitorId":"A","campaigns":[],"pad":"{}"}}"#,
            "x".repeat(MAX_BODY_BYTES)
        );
        assert_eq!(
            parse_decision(&body),
            Err(Error::DecisionMalformed("body larger than 1 MiB"))
        );
    }

    #[test]
    fn error_bodies_yield_their_message() {
        assert_eq!(
            parse_error_message(r#"{"message":"Forbidden"}"#).as_deref(),
            Some("Forbidden")
        );
        assert_eq!(parse_error_message("Bad Gateway"), None);
        assert_eq!(
            parse_error_message(&format!(r#"{{"message":"{}"}}"#, "x".repeat(500)))
                .unwrap()
                .len(),
            200
        );
    }

    fn arb_json() -> impl Strategy<Value = J> {
        let leaf = prop_oneof![
            Just(J::Null),
            any::<bool>().prop_map(J::Bool),
            any::<i64>().prop_map(J::from),
            any::<f64>().prop_map(J::from),
            ".{0,8}".prop_map(J::String),
        ];
        leaf.prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(J::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("visitorId".to_owned()),
                        Just("campaigns".to_owned()),
                        Just("panic".to_owned()),
                        Just("id".to_owned()),
                        Just("variationGroupId".to_owned()),
                        Just("variation".to_owned()),
                        Just("modifications".to_owned()),
                        Just("value".to_owned()),
                        ".{0,6}"
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| J::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_json_never_panics(v in arb_json()) {
            let _ = parse_decision(&v.to_string());
            let _ = parse_error_message(&v.to_string());
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".{0,200}") {
            let _ = parse_decision(&s);
        }

        #[test]
        fn valid_campaigns_survive_among_noise(noise in prop::collection::vec(arb_json(), 0..5)) {
            let mut list = noise.clone();
            list.push(campaign_json());
            let body = json!({"visitorId": "A", "campaigns": list}).to_string();
            let d = parse_decision(&body).unwrap();
            prop_assert!(d.campaigns.iter().any(|c| c.id == "c1"));
            prop_assert_eq!(d.campaigns.len() + d.skipped_campaigns, noise.len() + 1);
        }
    }
}
