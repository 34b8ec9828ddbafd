//! Deciding locally: for each campaign, the first variation group whose targeting matches, then
//! the variation whose bucket range holds the visitor.
//!
//! The answer is a [`Decision`] of exactly the shape the Decision API's parser produces, so the
//! flag store and exposure cannot tell which mode decided. The bucket is
//! `murmur3(variationGroupId + visitorId) % 100`; variations are walked in file order, allocations
//! added to a running total, and the first whose total exceeds the bucket wins (allocations of 0
//! are never picked). A bucket beyond the last total leaves the visitor out of the campaign, as the
//! server does, rather than trying the campaign's next variation group.
//!
//! Deciding allocates nothing to hash (the two IDs are streamed into the hasher) and nothing to
//! target unless a context string has upper-case or non-ASCII characters; the only allocations
//! are the clones of the chosen campaigns into the answer.

use super::file::{BucketingFile, CampaignRules};
use super::murmur::bucket;
use super::variation_group::VariationGroupRules;
use crate::context::Context;
use crate::decision::{Campaign, Decision, Variation};

/// Decides, from a parsed bucketing file, which campaigns and variations `visitor_id` gets.
///
/// `context` should be the full context the Decision API would receive; `fs_users` in it is
/// ignored in favour of `visitor_id`. In panic mode the decision is empty with `panic: true`.
pub fn decide(file: &BucketingFile, visitor_id: &str, context: &Context) -> Decision {
    let campaigns = if file.panic {
        Vec::new()
    } else {
        file.campaigns
            .iter()
            .filter_map(|campaign| allocate_campaign(campaign, visitor_id, context))
            .collect()
    };
    Decision {
        visitor_id: visitor_id.to_owned(),
        campaigns,
        panic: file.panic,
        skipped_campaigns: 0,
    }
}

fn allocate_campaign(
    campaign: &CampaignRules,
    visitor_id: &str,
    context: &Context,
) -> Option<Campaign> {
    let group = campaign
        .variation_groups
        .iter()
        .find(|group| group.targeting.matches(visitor_id, context))?;
    let variation = pick_variation(group, visitor_id)?;
    Some(Campaign {
        id: campaign.id.clone(),
        name: campaign.name.clone(),
        slug: campaign.slug.clone(),
        kind: campaign.kind.clone(),
        variation_group_id: group.id.clone(),
        variation_group_name: group.name.clone(),
        variation: variation.clone(),
    })
}

fn pick_variation<'a>(group: &'a VariationGroupRules, visitor_id: &str) -> Option<&'a Variation> {
    let visitor_bucket = f64::from(bucket(&group.id, visitor_id));
    group
        .allocated
        .iter()
        .find(|allocated| visitor_bucket < allocated.bucket_end)
        .map(|allocated| &allocated.variation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bucketing::parse_bucketing;
    use crate::context::ContextValue;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn everyone() -> Value {
        json!({"targetingGroups": [{"targetings": [
            {"operator": "EQUALS", "key": "fs_all_users", "value": ""}]}]})
    }

    fn plan_is(plan: &str) -> Value {
        json!({"targetingGroups": [{"targetings": [
            {"operator": "EQUALS", "key": "plan", "value": plan}]}]})
    }

    /// One campaign `c1` with one variation group per `(id, targeting, allocations)`; variation
    /// `i` of group `g` is called `g-v{i}` and sets the flag `pick` to its own ID.
    fn file(groups: &[(&str, Value, &[f64])]) -> BucketingFile {
        let groups: Vec<Value> = groups
            .iter()
            .map(|(id, targeting, allocations)| {
                let variations: Vec<Value> = allocations
                    .iter()
                    .enumerate()
                    .map(|(i, allocation)| {
                        let vid = format!("{id}-v{i}");
                        json!({"id": vid, "allocation": allocation,
                               "modifications": {"type": "FLAG", "value": {"pick": vid}}})
                    })
                    .collect();
                json!({"id": id, "targeting": targeting, "variations": variations})
            })
            .collect();
        let body = json!({"campaigns": [{"id": "c1", "type": "ab", "variationGroups": groups}]});
        parse_bucketing(&body.to_string()).expect("test file is valid")
    }

    fn picked(file: &BucketingFile, visitor_id: &str, context: &Context) -> Option<String> {
        let decision = decide(file, visitor_id, context);
        decision.campaigns.first().map(|c| c.variation.id.clone())
    }

    fn plan(value: &str) -> Context {
        Context::from([("plan".to_owned(), ContextValue::String(value.to_owned()))])
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
        let file = parse_bucketing(r#"{"panic": true, "campaigns": []}"#).unwrap();
        let decision = decide(&file, "visitor-1", &Context::new());
        assert!(decision.panic && decision.campaigns.is_empty());
        assert_eq!(decision.visitor_id, "visitor-1");
    }

    #[test]
    fn the_first_matching_variation_group_wins() {
        let file = file(&[
            ("pro", plan_is("pro"), &[100.0]),
            ("all", everyone(), &[100.0]),
        ]);
        assert_eq!(picked(&file, "V", &plan("PRO")).as_deref(), Some("pro-v0"));
        assert_eq!(picked(&file, "V", &plan("free")).as_deref(), Some("all-v0"));
        assert_eq!(
            picked(&file, "V", &Context::new()).as_deref(),
            Some("all-v0")
        );
    }

    #[test]
    fn no_matching_group_means_no_campaign() {
        let file = file(&[("pro", plan_is("pro"), &[100.0])]);
        assert_eq!(picked(&file, "V", &plan("free")), None);
    }

    // The contract's bucket vectors: "8um" is in bucket 0 of group "jzyplpoe6z3qx0fep", "jufp" in
    // bucket 9 of "mayaa9tovat04vvc", "ktkzyb7z2" in bucket 99 of "vfrgk91ebwf".
    const BUCKET_0: (&str, &str) = ("jzyplpoe6z3qx0fep", "8um");
    const BUCKET_9: (&str, &str) = ("mayaa9tovat04vvc", "jufp");
    const BUCKET_99: (&str, &str) = ("vfrgk91ebwf", "ktkzyb7z2");

    fn pick(case: (&str, &str), allocations: &[f64]) -> Option<String> {
        let (group, visitor) = case;
        picked(
            &file(&[(group, everyone(), allocations)]),
            visitor,
            &Context::new(),
        )
        .map(|id| id.trim_start_matches(group).to_owned())
    }

    #[test]
    fn bucket_ranges_are_half_open_running_totals() {
        assert_eq!(pick(BUCKET_0, &[1.0, 99.0]).as_deref(), Some("-v0"));
        assert_eq!(pick(BUCKET_9, &[9.0, 1.0, 90.0]).as_deref(), Some("-v1"));
        assert_eq!(pick(BUCKET_9, &[10.0, 90.0]).as_deref(), Some("-v0"));
        assert_eq!(pick(BUCKET_9, &[5.0, 4.0, 91.0]).as_deref(), Some("-v2"));
        assert_eq!(pick(BUCKET_99, &[50.0, 50.0]).as_deref(), Some("-v1"));
        assert_eq!(pick(BUCKET_99, &[100.0]).as_deref(), Some("-v0"));
    }

    #[test]
    fn zero_allocations_are_never_picked() {
        assert_eq!(pick(BUCKET_0, &[0.0, 100.0]).as_deref(), Some("-v1"));
        assert_eq!(pick(BUCKET_0, &[0.0, 0.0, 1.0]).as_deref(), Some("-v2"));
        assert_eq!(
            pick(BUCKET_9, &[0.0, 9.0, 0.0, 1.0]).as_deref(),
            Some("-v3")
        );
        assert_eq!(pick(BUCKET_0, &[0.0]), None);
    }

    #[test]
    fn unallocated_traffic_gets_no_campaign_and_no_fallback_group() {
        assert_eq!(pick(BUCKET_99, &[99.0]), None);
        assert_eq!(pick(BUCKET_99, &[50.0, 49.0]), None);
        assert_eq!(pick(BUCKET_9, &[9.0]), None);
        assert_eq!(pick(BUCKET_9, &[]), None);
        let (group, visitor) = BUCKET_99;
        let two_groups = file(&[
            (group, everyone(), &[99.0]),
            ("other", everyone(), &[100.0]),
        ]);
        assert_eq!(picked(&two_groups, visitor, &Context::new()), None);
    }

    #[test]
    fn campaigns_keep_file_order_and_each_decides_alone() {
        let body = json!({"campaigns": [
            {"id": "b", "variationGroups": [{"id": "vgb", "targeting": everyone(),
                "variations": [{"id": "vb", "allocation": 100}]}]},
            {"id": "skip", "variationGroups": [{"id": "vgs", "targeting": plan_is("pro"),
                "variations": [{"id": "vs", "allocation": 100}]}]},
            {"id": "a", "variationGroups": [{"id": "vga", "targeting": everyone(),
                "variations": [{"id": "va", "allocation": 100}]}]}
        ]});
        let file = parse_bucketing(&body.to_string()).unwrap();
        let decision = decide(&file, "V", &Context::new());
        let ids: Vec<&str> = decision.campaigns.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
    }

    #[test]
    fn shares_converge_to_allocations() {
        let file = file(&[("vg-split", everyone(), &[33.0, 33.0, 34.0])]);
        let mut counts = [0u32; 3];
        let visitors = 100_000;
        for i in 0..visitors {
            let visitor_id = format!("{:08x}-4a1c-9e2b-{:012x}", i * 7919, i);
            let id = picked(&file, &visitor_id, &Context::new()).expect("fully allocated");
            let index = usize::from(id.as_bytes()[id.len() - 1] - b'0');
            counts[index] += 1;
        }
        for (count, expected) in counts.iter().zip([33.0, 33.0, 34.0]) {
            let share = f64::from(*count) * 100.0 / f64::from(visitors);
            assert!((share - expected).abs() <= 2.0, "{counts:?}");
        }
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
                prop_assert!(group.allocated.iter().any(|a| a.variation == campaign.variation));
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

        #[test]
        fn every_visitor_is_placed_when_fully_allocated(visitor in ".{0,40}",
                                                       split in 1u32..100) {
            let split = f64::from(split);
            let file = file(&[("vg", everyone(), &[split, 100.0 - split])]);
            prop_assert!(picked(&file, &visitor, &Context::new()).is_some());
        }
    }
}
