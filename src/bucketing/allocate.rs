//! Allocating: for each campaign, the first variation group whose targeting matches, then the
//! variation whose bucket range holds the visitor.
//!
//! The bucket is `murmur3(variationGroupId + visitorId) % 100`; variations are walked in file
//! order, allocations added to a running total, and the first whose total exceeds the bucket wins
//! (allocations of 0 are never picked). A bucket beyond the last total leaves the visitor out of
//! the campaign, as the server does, rather than trying the campaign's next variation group.
//!
//! [`assignments`] borrows everything from the file and allocates nothing: the IDs are streamed
//! into the hasher, and context strings are lower-cased on the stack unless long or non-ASCII.
//! The Decision API's campaign shape for each variation is built once at parse time and shared
//! (`Arc`), so [`decide`](super::decide) adds one reference count per campaign, not a dozen copies.

use super::file::{BucketingFile, CampaignRules};
use super::murmur::bucket;
use super::variation_group::{AllocatedVariation, VariationGroupRules};
use crate::context::Context;
use crate::decision::{Campaign, Variation};
use alloc::sync::Arc;

/// A campaign a visitor is assigned to, borrowed from the bucketing file.
#[derive(Debug, Clone, Copy)]
pub struct Assignment<'f> {
    campaign: &'f CampaignRules,
    group: &'f VariationGroupRules,
    allocated: &'f AllocatedVariation,
}

impl<'f> Assignment<'f> {
    /// Campaign ID.
    pub fn campaign_id(&self) -> &'f str {
        &self.campaign.id
    }

    /// The variation group the visitor matched; sent as `caid` on activation.
    pub fn variation_group_id(&self) -> &'f str {
        &self.group.id
    }

    /// The variation the visitor is allocated, flags included.
    pub fn variation(&self) -> &'f Variation {
        self.allocated.variation()
    }

    /// The campaign exactly as the Decision API would return it, shared with the file.
    pub fn to_campaign(&self) -> Arc<Campaign> {
        Arc::clone(&self.allocated.campaign)
    }
}

/// The campaigns `visitor_id` is assigned to, in file order; none in panic mode.
///
/// `context` should be the full context the Decision API would receive; `fs_users` in it is
/// ignored in favour of `visitor_id`.
pub fn assignments<'f, 'v>(
    file: &'f BucketingFile,
    visitor_id: &'v str,
    context: &'v Context,
) -> impl Iterator<Item = Assignment<'f>> + 'v
where
    'f: 'v,
{
    let campaigns = if file.panic {
        &[][..]
    } else {
        &file.campaigns[..]
    };
    campaigns
        .iter()
        .filter_map(move |campaign| assign(campaign, visitor_id, context))
}

fn assign<'f>(
    campaign: &'f CampaignRules,
    visitor_id: &str,
    context: &Context,
) -> Option<Assignment<'f>> {
    let group = campaign
        .variation_groups
        .iter()
        .find(|group| group.targeting.matches(visitor_id, context))?;
    let visitor_bucket = f64::from(bucket(&group.id, visitor_id));
    let allocated = group
        .allocated
        .iter()
        .find(|allocated| visitor_bucket < allocated.bucket_end)?;
    Some(Assignment {
        campaign,
        group,
        allocated,
    })
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
        let first = assignments(file, visitor_id, context).next();
        first.map(|assignment| assignment.variation().id.clone())
    }

    #[test]
    fn panic_mode_assigns_nothing() {
        let body = json!({"panic": true, "campaigns": []}).to_string();
        let file = parse_bucketing(&body).unwrap();
        assert_eq!(assignments(&file, "V", &Context::new()).count(), 0);
    }

    fn plan(value: &str) -> Context {
        Context::from([("plan".to_owned(), ContextValue::String(value.to_owned()))])
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
        let context = Context::new();
        let ids: Vec<(&str, &str)> = assignments(&file, "V", &context)
            .map(|a| (a.campaign_id(), a.variation_group_id()))
            .collect();
        assert_eq!(ids, [("b", "vgb"), ("a", "vga")]);
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

    proptest! {
        #[test]
        fn every_visitor_is_placed_when_fully_allocated(visitor in ".{0,40}",
                                                       split in 1u32..100) {
            let split = f64::from(split);
            let file = file(&[("vg", everyone(), &[split, 100.0 - split])]);
            prop_assert!(picked(&file, &visitor, &Context::new()).is_some());
        }
    }
}
