//! The bucketing file (`{envId}/bucketing.json`), parsed once into what deciding needs.
//!
//! The body comes from the network, so parsing never panics and refuses a file that is not of the
//! documented shape with [`Error::BucketingMalformed`] naming the first problem: a wrong type, an
//! allocation that is not a number in 0..=100, allocations of one variation group summing over
//! 100, or a safety limit exceeded ([`MAX_BODY_BYTES`], [`MAX_LIST_ITEMS`] for every list,
//! [`MAX_EXPOSED_NULL_FLAGS`]). A file is refused whole rather than partly used: deciding with part
//! of a file would serve another experience than the server does, without anyone noticing.
//!
//! Leniency is limited to what carries no decision: unknown fields are ignored; names, `slug`, the
//! campaign `type`, `reference` and `modifications.type` may be absent or `null`; an absent or
//! `null` container (`variationGroups`, `targeting`, `targetingGroups`, `targetings`, `variations`,
//! `modifications`, `modifications.value`) counts as empty, which matches nobody or sets no flag.
//! When `panic` is true the campaigns are not read at all: the kill switch must work even next to
//! a broken campaign.
//!
//! Everything a decision would otherwise recompute per visitor is done once, here: operator names
//! become an enum, string operands are lower-cased, zero allocations are dropped and the others
//! turned into cumulative bucket bounds, each variation's flags are completed with the `null`s of
//! `exposeAllKeys`, and duplicate campaign IDs are dropped (the first wins, as on the server).
//! Deciding is then a matter of comparisons and one clone per campaign returned.
//!
//! Nesting deeper than [`json::MAX_DEPTH`](crate::json::MAX_DEPTH) (64 arrays and objects) is
//! refused as "body is not JSON" before it can reach the stack.

use alloc::collections::BTreeSet;
use alloc::{borrow::ToOwned, string::String, vec::Vec};

use crate::json::Value;

pub use super::fields::MAX_LIST_ITEMS;
use super::fields::{
    limited, malformed, optional_bool, optional_list, optional_string, required_string,
};
pub use super::variation_group::MAX_EXPOSED_NULL_FLAGS;
use super::variation_group::{parse_variation_group, CampaignHeader, VariationGroupRules};
use crate::error::Error;

/// Bodies larger than this are refused unparsed: room for hundreds of campaigns, while bounding
/// the memory a hostile or broken CDN answer can take.
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// A parsed bucketing file, ready for [`decide`](super::decide).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BucketingFile {
    pub(crate) panic: bool,
    pub(crate) campaigns: Vec<CampaignRules>,
}

impl BucketingFile {
    /// Panic mode: the environment is switched off and every decision is empty.
    pub fn panic(&self) -> bool {
        self.panic
    }

    /// How many campaigns the file holds (after dropping duplicate IDs).
    pub fn campaign_count(&self) -> usize {
        self.campaigns.len()
    }
}

/// A campaign and its variation groups, in file order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CampaignRules {
    pub(crate) id: String,
    pub(crate) variation_groups: Vec<VariationGroupRules>,
}

/// Parses a bucketing file body. See the module documentation for what is refused.
pub fn parse_bucketing(body: &str) -> Result<BucketingFile, Error> {
    if body.len() > MAX_BODY_BYTES {
        return Err(malformed("body larger than 4 MiB"));
    }
    let value: Value = crate::json::parse(body).map_err(|_| malformed("body is not JSON"))?;
    let top = value
        .as_object()
        .ok_or(malformed("body is not a JSON object"))?;
    let panic = optional_bool(top, "panic", "panic is not a boolean")?;
    if panic {
        return Ok(BucketingFile {
            panic,
            campaigns: Vec::new(),
        });
    }
    let raw_campaigns = match top.get("campaigns") {
        Some(Value::Array(list)) => limited(list.as_slice(), "more than 1000 campaigns")?,
        _ => return Err(malformed("campaigns is missing or not an array")),
    };
    let mut seen_ids = BTreeSet::new();
    let mut null_flags_left = MAX_EXPOSED_NULL_FLAGS;
    let mut campaigns = Vec::with_capacity(raw_campaigns.len());
    for raw in raw_campaigns {
        let (id, campaign) = parse_campaign(raw, &mut null_flags_left)?;
        if seen_ids.insert(id) {
            campaigns.push(campaign);
        }
    }
    Ok(BucketingFile { panic, campaigns })
}

/// The campaign, and its ID borrowed from the file for the duplicate check (a set of borrowed
/// keys, like the parser's other sets: one `BTreeSet` instance in the wasm).
fn parse_campaign<'a>(
    raw: &'a Value,
    null_flags_left: &mut usize,
) -> Result<(&'a str, CampaignRules), Error> {
    let campaign = raw
        .as_object()
        .ok_or(malformed("a campaign is not an object"))?;
    let groups = optional_list(
        campaign,
        "variationGroups",
        "variationGroups is not an array",
        "more than 1000 variation groups in a campaign",
    )?;
    let header = CampaignHeader {
        id: required_string(campaign, "id", "campaign id is missing or not a string")?,
        name: optional_string(campaign, "name", "campaign name is not a string")?,
        slug: optional_string(campaign, "slug", "campaign slug is not a string")?,
        kind: optional_string(campaign, "type", "campaign type is not a string")?,
    };
    // Loops with `?` rather than `collect::<Result<_, _>>()`: fewer generic instances in the wasm.
    let mut variation_groups = Vec::with_capacity(groups.len());
    for group in groups {
        variation_groups.push(parse_variation_group(group, &header, null_flags_left)?);
    }
    Ok((
        header.id,
        CampaignRules {
            id: header.id.to_owned(),
            variation_groups,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bucketing::compare::Operator;
    use crate::bucketing::fields::MAX_LIST_ITEMS;
    use crate::bucketing::operand::{Operand, Scalar};
    use crate::bucketing::targeting::{Rule, Targeting};
    use crate::json::json;
    use proptest::prelude::*;

    #[test]
    fn parses_a_full_file_and_ignores_unknown_fields() {
        let body = json!({
            "panic": false, "accountSettings": {"enabled1V1T": true},
            "campaigns": [{
                "id": "c1", "name": "Checkout", "type": "ab", "slug": "checkout", "extra": 1,
                "variationGroups": [{
                    "id": "vg1", "name": "FR visitors",
                    "targeting": {"targetingGroups": [{"targetings": [
                        {"operator": "EQUALS", "key": "City", "value": "PARIS", "provider": "x"}
                    ]}]},
                    "variations": [
                        {"id": "v1", "name": "Original", "reference": true, "allocation": 50,
                         "modifications": {"type": "FLAG", "value": {"color": "red"}}},
                        {"id": "v2", "allocation": 50,
                         "modifications": {"type": "FLAG", "value": {"color": "blue"}}}
                    ]
                }]
            }]
        });
        let file = parse_bucketing(&body.to_string()).unwrap();
        assert!(!file.panic());
        assert_eq!(file.campaign_count(), 1);
        let campaign = &file.campaigns[0];
        assert_eq!(campaign.id, "c1");
        let group = &campaign.variation_groups[0];
        let answer = &group.allocated[0].campaign;
        assert_eq!(
            (answer.id.as_str(), answer.name.as_deref()),
            ("c1", Some("Checkout"))
        );
        assert_eq!(
            (answer.slug.as_deref(), answer.kind.as_deref()),
            (Some("checkout"), Some("ab"))
        );
        assert_eq!(
            (
                answer.variation_group_id.as_str(),
                answer.variation_group_name.as_deref()
            ),
            ("vg1", Some("FR visitors"))
        );
        assert_eq!(
            (group.id.as_str(), group.name.as_deref()),
            ("vg1", Some("FR visitors"))
        );
        // The key keeps its case; the operand is lower-cased once, here.
        let expected = Targeting::new(vec![vec![Rule::new(
            "City",
            Operator::Equals,
            Operand::One(Scalar::Text("paris".into())),
        )]]);
        assert_eq!(group.targeting, expected);
        let first = &group.allocated[0];
        assert_eq!(first.bucket_end, 50.0);
        assert_eq!(first.variation().id, "v1");
        assert_eq!(first.variation().name.as_deref(), Some("Original"));
        assert!(first.variation().reference);
        assert_eq!(first.variation().modifications.kind, "FLAG");
        assert_eq!(first.variation().modifications.value["color"], json!("red"));
        assert_eq!(group.allocated[1].bucket_end, 100.0);
        assert!(!group.allocated[1].variation().reference);
    }

    #[test]
    fn optional_fields_and_containers_may_be_absent_or_null() {
        let body = json!({"campaigns": [
            {"id": "c1", "name": null, "slug": null, "type": null, "variationGroups": [
                {"id": "vg1", "targeting": null, "variations": [
                    {"id": "v1", "allocation": 100, "reference": null, "modifications": null}]},
                {"id": "vg2", "targeting": {}},
                {"id": "vg3", "targeting": {"targetingGroups": [{}]}}
            ]},
            {"id": "c2"}
        ]});
        let file = parse_bucketing(&body.to_string()).unwrap();
        let c1 = &file.campaigns[0];
        let answer = &c1.variation_groups[0].allocated[0].campaign;
        assert_eq!(
            (&answer.name, &answer.slug, &answer.kind),
            (&None, &None, &None)
        );
        let v1 = &c1.variation_groups[0].allocated[0].variation();
        assert_eq!((v1.reference, v1.modifications.kind.as_str()), (false, ""));
        assert!(v1.modifications.value.is_empty());
        assert_eq!(c1.variation_groups[1].targeting, Targeting::default());
        assert_eq!(
            c1.variation_groups[2].targeting,
            Targeting::new(vec![vec![]])
        );
        assert!(file.campaigns[1].variation_groups.is_empty());
    }

    #[test]
    fn duplicate_campaign_ids_keep_the_first() {
        let body = json!({"campaigns": [
            {"id": "c1", "variationGroups": [{"id": "first"}]}, {"id": "c2"},
            {"id": "c1", "variationGroups": [{"id": "second"}]}
        ]});
        let file = parse_bucketing(&body.to_string()).unwrap();
        assert_eq!(file.campaign_count(), 2);
        assert_eq!(file.campaigns[0].variation_groups[0].id, "first");
    }

    #[test]
    fn panic_mode_does_not_read_campaigns() {
        for body in [
            r#"{"panic":true}"#,
            r#"{"panic":true,"campaigns":"broken"}"#,
            r#"{"panic":true,"campaigns":[{"id":"c1"}]}"#,
        ] {
            let file = parse_bucketing(body).unwrap();
            assert!(file.panic() && file.campaign_count() == 0, "{body}");
        }
    }

    fn assert_refused(body: Value, reason: &'static str) {
        assert_eq!(
            parse_bucketing(&body.to_string()),
            Err(malformed(reason)),
            "{body}"
        );
    }

    #[test]
    fn wrong_shapes_are_refused_with_a_reason() {
        assert_refused(json!([]), "body is not a JSON object");
        assert_refused(json!({}), "campaigns is missing or not an array");
        assert_refused(
            json!({"campaigns": {}}),
            "campaigns is missing or not an array",
        );
        assert_refused(
            json!({"panic": "yes", "campaigns": []}),
            "panic is not a boolean",
        );
        assert_refused(json!({"campaigns": [1]}), "a campaign is not an object");
        let campaign = |fields: Value| json!({ "campaigns": [fields] });
        let bad_id = "campaign id is missing or not a string";
        assert_refused(campaign(json!({})), bad_id);
        assert_refused(campaign(json!({"id": 7})), bad_id);
        assert_refused(
            campaign(json!({"id": "c", "name": 1})),
            "campaign name is not a string",
        );
        assert_refused(
            campaign(json!({"id": "c", "slug": []})),
            "campaign slug is not a string",
        );
        assert_refused(
            campaign(json!({"id": "c", "type": false})),
            "campaign type is not a string",
        );
        let groups = json!({"id": "c", "variationGroups": {}});
        assert_refused(campaign(groups), "variationGroups is not an array");
        // A problem deep inside one campaign refuses the whole file.
        let deep = json!({"id": "c", "variationGroups": [{"id": "vg", "variations": [
            {"id": "v", "allocation": "50"}]}]});
        let body = json!({"campaigns": [{"id": "fine"}, deep]});
        assert_refused(body, "allocation is missing or not a number");
        for body in ["", "<html>", "{\"campaigns\":[", "nul"] {
            assert_eq!(parse_bucketing(body), Err(malformed("body is not JSON")));
        }
    }

    #[test]
    fn size_limits_are_enforced() {
        let huge = format!(
            r#"{{"campaigns":[],"pad":"{}"}}"#,
            "x".repeat(MAX_BODY_BYTES)
        );
        assert_eq!(
            parse_bucketing(&huge),
            Err(malformed("body larger than 4 MiB"))
        );
        let campaigns: Vec<Value> = (0..=MAX_LIST_ITEMS)
            .map(|i| json!({"id": i.to_string()}))
            .collect();
        let body = json!({ "campaigns": campaigns }).to_string();
        assert_eq!(
            parse_bucketing(&body),
            Err(malformed("more than 1000 campaigns"))
        );
        let values: Vec<u32> = (0..=1000).collect();
        let body = json!({"campaigns": [{"id": "c", "variationGroups": [{"id": "vg",
            "targeting": {"targetingGroups": [{"targetings": [
                {"operator": "EQUALS", "key": "k", "value": values}]}]}}]}]});
        assert_eq!(
            parse_bucketing(&body.to_string()),
            Err(malformed("more than 1000 values in a targeting"))
        );
    }

    #[test]
    fn the_null_flag_budget_spans_the_whole_file() {
        // Each campaign's reference variation lacks the 60 000 keys its sibling sets: within
        // budget alone (see variation_group), over it together.
        let flags: Vec<String> = (0..60_000).map(|i| format!(r#""{i}":1"#)).collect();
        let flags = flags.join(",");
        let campaign = |id: &str| {
            format!(
                r#"{{"id":"{id}","variationGroups":[{{"id":"{id}","variations":[
                {{"id":"ref","allocation":50}},
                {{"id":"new","allocation":50,"modifications":{{"value":{{{flags}}}}}}}]}}]}}"#
            )
        };
        let body = format!(r#"{{"campaigns":[{},{}]}}"#, campaign("a"), campaign("b"));
        assert_eq!(
            parse_bucketing(&body),
            Err(malformed(
                "exposeAllKeys would add more than 100000 null flags"
            ))
        );
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let flags = format!(
            r#"{{"deep":{}1{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let body = format!(
            r#"{{"campaigns":[{{"id":"c","variationGroups":[{{"id":"vg","variations":[
                {{"id":"v","allocation":100,"modifications":{{"value":{flags}}}}}]}}]}}]}}"#
        );
        assert_eq!(parse_bucketing(&body), Err(malformed("body is not JSON")));
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in ".{0,300}") {
            let _ = parse_bucketing(&text);
        }
    }
}
