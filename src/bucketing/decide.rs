//! The local counterpart of `POST /v2/{envId}/campaigns`: a whole [`Decision`] from the file.
//!
//! The answer has exactly the shape the Decision API's parser produces (`skipped_campaigns` is
//! always 0: a file that parsed has no malformed campaign), so the flag store and exposure cannot
//! tell which mode decided.

use super::allocate::assignments;
use super::file::BucketingFile;
use crate::context::Context;
use crate::decision::Decision;
use alloc::borrow::ToOwned;

/// Decides, from a parsed bucketing file, which campaigns and variations `visitor_id` gets.
///
/// `context` should be the full context the Decision API would receive; `fs_users` in it is
/// ignored in favour of `visitor_id`. In panic mode the decision is empty with `panic: true`.
pub fn decide(file: &BucketingFile, visitor_id: &str, context: &Context) -> Decision {
    Decision {
        visitor_id: visitor_id.to_owned(),
        campaigns: assignments(file, visitor_id, context)
            .map(|assignment| assignment.to_campaign())
            .collect(),
        panic: file.panic,
        skipped_campaigns: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bucketing::parse_bucketing;
    use crate::context::ContextValue;
    use crate::json::{json, Value};
    use proptest::prelude::*;

    fn everyone() -> Value {
        json!({"targetingGroups": [{"targetings": [
            {"operator": "EQUALS", "key": "fs_all_users", "value": ""}]}]})
    }

    #[test]
    fn answers_in_the_decision_api_shape() {
        let body = json!({"campaigns": [{
            "id": "c1", "name": "Checkout", "type": "ab", "slug": "checkout",
            "variationGroups": [{"id": "vg1", "name": "Everyone", "targeting": everyone(),
                "variations": [{"id": "v1", "name": "Blue", "reference": true, "allocation": 100,
                    "modifications": {"type": "FLAG", "value": {"color": "blue"}}}]}]
        }]});
        let file = parse_bucketing(&body.to_string()).unwrap();
        let decision = decide(&file, "visitor-1", &Context::new());
        let expected = json!({"visitorId": "visitor-1", "campaigns": [{
            "id": "c1", "name": "Checkout", "slug": "checkout", "type": "ab",
            "variationGroupId": "vg1", "variationGroupName": "Everyone",
            "variation": {"id": "v1", "name": "Blue", "reference": true,
                          "modifications": {"type": "FLAG", "value": {"color": "blue"}}}
        }]});
        assert_eq!(
            decision,
            crate::decision::parse_decision(&expected.to_string()).unwrap()
        );
        assert_eq!((decision.panic, decision.skipped_campaigns), (false, 0));
    }

    #[test]
    fn panic_mode_returns_no_campaign() {
        let body = json!({"panic": true, "campaigns": [{"id": "c1", "variationGroups": [
            {"id": "vg1", "targeting": everyone(), "variations": [{"id": "v1", "allocation": 100}]}
        ]}]});
        let file = parse_bucketing(&body.to_string()).unwrap();
        let decision = decide(&file, "visitor-1", &Context::new());
        assert!(decision.panic && decision.campaigns.is_empty());
        assert_eq!(
            (decision.visitor_id.as_str(), decision.skipped_campaigns),
            ("visitor-1", 0)
        );
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-200i64..200).prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            prop::sample::select(vec![
                "EQUALS",
                "NOT_CONTAINS",
                "EXISTS",
                "fs_users",
                "fs_all_users",
                "V1"
            ])
            .prop_map(Value::from),
            ".{0,8}".prop_map(Value::String),
        ];
        let keys = prop::sample::select(vec![
            "panic",
            "campaigns",
            "id",
            "type",
            "variationGroups",
            "targeting",
            "targetingGroups",
            "targetings",
            "operator",
            "key",
            "value",
            "variations",
            "allocation",
            "modifications",
            "reference",
            "name",
            "slug",
        ]);
        leaf.prop_recursive(6, 96, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(keys.clone().prop_map(str::to_owned), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Well-formed files with random targetings and allocations, to drive `decide` deep.
    fn arb_file() -> impl Strategy<Value = Value> {
        let scalar = prop_oneof![
            "[a-cA-C]{0,2}".prop_map(Value::from),
            (-3i32..3).prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
        ];
        let operand = prop_oneof![
            scalar.clone(),
            prop::collection::vec(scalar, 0..3).prop_map(Value::from)
        ];
        let operator = prop::sample::select(vec![
            "EQUALS",
            "NOT_EQUALS",
            "CONTAINS",
            "NOT_CONTAINS",
            "EXISTS",
            "NOT_EXISTS",
            "GREATER_THAN",
            "LOWER_THAN",
            "GREATER_THAN_OR_EQUALS",
            "LOWER_THAN_OR_EQUALS",
            "STARTS_WITH",
            "ENDS_WITH",
            "REGEX",
        ]);
        let key = prop::sample::select(vec!["a", "b", "fs_users", "fs_all_users"]);
        let rule = (operator, key, operand)
            .prop_map(|(o, k, v)| json!({"operator": o, "key": k, "value": v}));
        let targeting =
            prop::collection::vec(prop::collection::vec(rule, 0..3), 0..3).prop_map(|groups| {
                let groups: Vec<Value> = groups
                    .into_iter()
                    .map(|t| json!({"targetings": t}))
                    .collect();
                json!({ "targetingGroups": groups })
            });
        let allocations = prop::collection::vec(0u32..60, 0..4).prop_map(|mut list| {
            while list.iter().sum::<u32>() > 100 {
                list.pop();
            }
            list
        });
        let group = (targeting, allocations);
        let campaign = prop::collection::vec(group, 1..3);
        prop::collection::vec(campaign, 1..4).prop_map(|campaigns| {
            let campaigns: Vec<Value> = campaigns.into_iter().enumerate().map(|(c, groups)| {
                let groups: Vec<Value> = groups.into_iter().enumerate().map(|(g, (t, a))| {
                    let variations: Vec<Value> = a.iter().enumerate()
                        .map(|(v, allocation)| json!({"id": format!("v{v}"), "allocation": allocation}))
                        .collect();
                    json!({"id": format!("c{c}g{g}"), "targeting": t, "variations": variations})
                }).collect();
                json!({"id": format!("c{c}"), "variationGroups": groups})
            }).collect();
            json!({ "campaigns": campaigns })
        })
    }

    fn arb_context() -> impl Strategy<Value = Context> {
        let value = prop_oneof![
            "[a-cA-C]{0,3}".prop_map(ContextValue::String),
            (-3i32..3).prop_map(|n| ContextValue::Number(f64::from(n))),
            any::<bool>().prop_map(ContextValue::Bool),
        ];
        prop::collection::btree_map(
            prop::sample::select(vec!["a".to_owned(), "b".to_owned()]),
            value,
            0..3,
        )
        .prop_map(|map| map.into_iter().collect())
    }

    proptest! {
        #[test]
        fn random_well_formed_files_decide_within_the_file(body in arb_file(),
                                                           visitor in "[a-cA-C0-9]{0,6}",
                                                           context in arb_context()) {
            let file = parse_bucketing(&body.to_string()).expect("generated files are valid");
            let decision = decide(&file, &visitor, &context);
            for campaign in &decision.campaigns {
                prop_assert!(campaign.variation_group_id.starts_with(&campaign.id));
                let group = file.campaigns.iter().flat_map(|c| &c.variation_groups)
                    .find(|g| g.id == campaign.variation_group_id).expect("group from the file");
                prop_assert!(group.allocated.iter().any(|a| *a.variation() == campaign.variation));
            }
        }

        #[test]
        fn arbitrary_json_never_panics(body in arb_json(), visitor in ".{0,12}",
                                       value in ".{0,4}") {
            if let Ok(file) = parse_bucketing(&body.to_string()) {
                let context = Context::from([("key".to_owned(), ContextValue::String(value))]);
                let decision = decide(&file, &visitor, &context);
                prop_assert!(decision.campaigns.len() <= file.campaign_count());
            }
        }

        #[test]
        fn arbitrary_text_never_panics(body in ".{0,200}", visitor in ".{0,12}") {
            if let Ok(file) = parse_bucketing(&body) {
                let _ = decide(&file, &visitor, &Context::new());
            }
        }

    }
}
