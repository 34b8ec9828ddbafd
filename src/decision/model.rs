//! The Decision API's response shape, and its parser for untrusted bodies.
//!
//! The same [`Campaign`] type is produced by the local bucketing engine, so everything downstream
//! (flags, exposure) cannot tell which mode decided. Parsing never panics: the body comes from the
//! network. A campaign that is not of the documented shape is skipped and counted; a body whose top
//! level is wrong is refused whole.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Error;

/// Bodies larger than this are refused unparsed. Real responses are a few KB.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// One campaign the visitor is assigned to, with the variation chosen for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Campaign {
    /// Campaign ID.
    pub id: String,
    /// Campaign name, when the environment exposes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Campaign slug (custom ID), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// Campaign type (`ab`, `toggle`, `perso`, …).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The variation group the visitor matched; sent as `caid` on activation.
    pub variation_group_id: String,
    /// Variation group name, when exposed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variation_group_name: Option<String>,
    /// The variation allocated to the visitor.
    pub variation: Variation,
}

/// A campaign's variation and the flags it sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Variation {
    /// Variation ID; sent as `vaid` on activation.
    pub id: String,
    /// Variation name, when exposed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// True for the reference (control) variation.
    #[serde(default)]
    pub reference: bool,
    /// The flags this variation sets.
    pub modifications: Modifications,
}

/// Flag values of a variation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Modifications {
    /// Always `"FLAG"` in current environments; kept for completeness.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Flag key → value. `null` means the key exists in another variation only (`exposeAllKeys`).
    pub value: Map<String, Value>,
}

/// A parsed Decision API answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    /// The visitor the server decided for; must equal the one sent.
    pub visitor_id: String,
    /// Campaigns in server order.
    pub campaigns: Vec<Campaign>,
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
    let value: Value =
        serde_json::from_str(body).map_err(|_| Error::DecisionMalformed("body is not JSON"))?;
    let Value::Object(mut top) = value else {
        return Err(Error::DecisionMalformed("body is not a JSON object"));
    };
    let visitor_id = match top.remove("visitorId") {
        Some(Value::String(id)) => id,
        _ => {
            return Err(Error::DecisionMalformed(
                "visitorId is missing or not a string",
            ))
        }
    };
    let panic = match top.remove("panic") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(panic)) => panic,
        Some(_) => return Err(Error::DecisionMalformed("panic is not a boolean")),
    };
    let raw_campaigns = match top.remove("campaigns") {
        Some(Value::Array(list)) => list,
        None | Some(Value::Null) if panic => Vec::new(),
        _ => {
            return Err(Error::DecisionMalformed(
                "campaigns is missing or not an array",
            ))
        }
    };
    let total = raw_campaigns.len();
    let campaigns: Vec<Campaign> = if panic {
        Vec::new()
    } else {
        raw_campaigns
            .into_iter()
            .filter_map(|c| serde_json::from_value(c).ok())
            .collect()
    };
    Ok(Decision {
        visitor_id,
        skipped_campaigns: if panic { 0 } else { total - campaigns.len() },
        campaigns,
        panic,
    })
}

/// The `{message}` of an error body, if there is one; bounded so a hostile body cannot flood logs.
pub fn parse_error_message(body: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrorBody {
        message: String,
    }
    let ErrorBody { message } = serde_json::from_str(body).ok()?;
    Some(message.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn campaign_json() -> Value {
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
        assert_eq!(c.variation.modifications.value["btnColor"], json!("blue"));
        assert_eq!(c.variation.modifications.value["discount"], Value::Null);
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

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
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
                .prop_map(|m| Value::Object(m.into_iter().collect())),
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
