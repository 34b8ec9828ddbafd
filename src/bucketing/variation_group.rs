//! A variation group from the bucketing file: its targeting, and its traffic split prepared for
//! allocation.
//!
//! Allocations must be numbers in 0..=100 summing to at most 100 within the group (a float slack
//! absorbs `33.33 + 33.33 + 33.34`); the rest of the traffic stays unallocated. Allocations of 0 are
//! dropped here, since no bucket can land in them, and the others become cumulative bucket bounds,
//! so allocating is one walk over a few numbers. Each variation's flags are completed with `null`
//! for the keys only its siblings set (zero-allocated ones included), which is what the Decision
//! API answers with `exposeAllKeys=true`: reading such a flag serves the default but still exposes
//! the visitor, exactly as in API mode. Those `null`s multiply keys by variations, so a file may
//! add at most [`MAX_EXPOSED_NULL_FLAGS`] of them in all; beyond that it is refused rather than
//! allowed to turn a few MiB of JSON into gigabytes of maps.

use alloc::collections::BTreeSet;
use alloc::sync::Arc;
use alloc::{borrow::ToOwned, string::String, vec::Vec};

use crate::json::Value;

use super::fields::{malformed, optional_bool, optional_list, optional_string, required_string};
use super::targeting::Targeting;
use crate::decision::{Campaign, Modifications, Variation};
use crate::error::Error;

/// How many `null` flags `exposeAllKeys` may add across a whole file (a few MiB of memory at most;
/// a large real environment needs a few thousand).
pub const MAX_EXPOSED_NULL_FLAGS: usize = 100_000;

/// Floating-point slack when checking that allocations sum to at most 100 (`33.33 + 33.33 + 33.34`).
const ALLOCATION_SLACK: f64 = 1e-9;

/// A variation group: who it targets and how its traffic is split.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VariationGroupRules {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) targeting: Targeting,
    /// Variations with a non-zero allocation, in file order.
    pub(crate) allocated: Vec<AllocatedVariation>,
}

/// A variation and the end (exclusive) of its bucket range: the running total of allocations.
///
/// The campaign the Decision API would answer for this variation is built once, at parse time,
/// and shared: deciding then costs a reference count per campaign instead of a dozen copies.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AllocatedVariation {
    pub(crate) bucket_end: f64,
    pub(crate) campaign: Arc<Campaign>,
}

impl AllocatedVariation {
    /// The variation, flags included.
    pub(crate) fn variation(&self) -> &Variation {
        &self.campaign.variation
    }
}

/// The campaign-level fields every answer for this campaign repeats.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct CampaignHeader<'a> {
    pub(crate) id: &'a str,
    pub(crate) name: Option<&'a str>,
    pub(crate) slug: Option<&'a str>,
    pub(crate) kind: Option<&'a str>,
}

/// `null_flags_left` is what remains of [`MAX_EXPOSED_NULL_FLAGS`] for the rest of the file.
pub(crate) fn parse_variation_group(
    raw: &Value,
    campaign: &CampaignHeader<'_>,
    null_flags_left: &mut usize,
) -> Result<VariationGroupRules, Error> {
    let group = raw
        .as_object()
        .ok_or(malformed("a variation group is not an object"))?;
    let id = required_string(group, "id", "variation group id is missing or not a string")?;
    let name = optional_string(group, "name", "variation group name is not a string")?;
    let targeting = match group.get("targeting") {
        None | Some(Value::Null) => Targeting::default(),
        Some(Value::Object(targeting)) => Targeting::from_json(targeting)?,
        Some(_) => return Err(malformed("targeting is not an object")),
    };
    let raw_variations = optional_list(
        group,
        "variations",
        "variations is not an array",
        "more than 1000 variations in a variation group",
    )?;
    let mut variations = Vec::with_capacity(raw_variations.len());
    for raw in raw_variations {
        variations.push(parse_variation(raw)?);
    }
    expose_all_keys(&mut variations, null_flags_left)?;
    let mut allocated = Vec::new();
    let mut running_total = 0.0;
    for (allocation, variation) in variations {
        running_total += allocation;
        if allocation > 0.0 {
            allocated.push(AllocatedVariation {
                bucket_end: running_total,
                campaign: Arc::new(Campaign {
                    id: campaign.id.to_owned(),
                    name: campaign.name.map(str::to_owned),
                    slug: campaign.slug.map(str::to_owned),
                    kind: campaign.kind.map(str::to_owned),
                    variation_group_id: id.to_owned(),
                    variation_group_name: name.map(str::to_owned),
                    variation,
                }),
            });
        }
    }
    if running_total > 100.0 + ALLOCATION_SLACK {
        return Err(malformed("allocations of a variation group sum over 100"));
    }
    Ok(VariationGroupRules {
        id: id.to_owned(),
        name: name.map(str::to_owned),
        targeting,
        allocated,
    })
}

fn parse_variation(raw: &Value) -> Result<(f64, Variation), Error> {
    let variation = raw
        .as_object()
        .ok_or(malformed("a variation is not an object"))?;
    let allocation = variation
        .get("allocation")
        .and_then(Value::as_f64)
        .ok_or(malformed("allocation is missing or not a number"))?;
    if !(0.0..=100.0).contains(&allocation) {
        return Err(malformed("allocation is outside 0..=100"));
    }
    // Checked in the file's order, borrowed; copied once all checks have passed.
    let (kind, flags) = match variation.get("modifications") {
        None | Some(Value::Null) => (None, None),
        Some(Value::Object(modifications)) => (
            optional_string(modifications, "type", "modifications type is not a string")?,
            match modifications.get("value") {
                None | Some(Value::Null) => None,
                Some(Value::Object(flags)) => Some(flags),
                Some(_) => return Err(malformed("modifications value is not an object")),
            },
        ),
        Some(_) => return Err(malformed("modifications is not an object")),
    };
    let id = required_string(variation, "id", "variation id is missing or not a string")?;
    let name = optional_string(variation, "name", "variation name is not a string")?;
    let reference = optional_bool(variation, "reference", "reference is not a boolean")?;
    let parsed = Variation {
        id: id.to_owned(),
        name: name.map(str::to_owned),
        reference,
        modifications: Modifications {
            kind: kind.unwrap_or_default().to_owned(),
            value: flags.cloned().unwrap_or_default(),
        },
    };
    Ok((allocation, parsed))
}

/// Gives each variation a `null` for every flag key only its siblings set.
fn expose_all_keys(
    variations: &mut [(f64, Variation)],
    null_flags_left: &mut usize,
) -> Result<(), Error> {
    // Ordered sets, not scans of the member list: a hostile file may have thousands of keys.
    // Every set of the parser holds borrowed keys (one `BTreeSet` instance in the wasm) and is
    // filled by inserts: collecting into a set sorts, which brings core's stable sort along.
    let keys: Vec<String> = {
        let mut seen = BTreeSet::new();
        let mut keys = Vec::new();
        for (_, variation) in variations.iter() {
            for key in variation.modifications.value.keys() {
                if seen.insert(key) {
                    keys.push(key.to_owned());
                }
            }
        }
        keys
    };
    for (_, variation) in variations.iter_mut() {
        let flags = &mut variation.modifications.value;
        let mut present = BTreeSet::new();
        for key in flags.keys() {
            present.insert(key);
        }
        let missing: Vec<&String> = keys
            .iter()
            .filter(|key| !present.contains(key.as_str()))
            .collect();
        *null_flags_left = null_flags_left.checked_sub(missing.len()).ok_or(malformed(
            "exposeAllKeys would add more than 100000 null flags",
        ))?;
        flags
            .0
            .extend(missing.into_iter().map(|key| (key.clone(), Value::Null)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::json;

    fn variation(id: &str, allocation: Value, flags: Value) -> Value {
        json!({"id": id, "allocation": allocation,
               "modifications": {"type": "FLAG", "value": flags}})
    }

    fn group_of(variations: Vec<Value>) -> Result<VariationGroupRules, Error> {
        let mut null_flags_left = MAX_EXPOSED_NULL_FLAGS;
        parse_variation_group(
            &json!({"id": "vg1", "variations": variations}),
            &CampaignHeader::default(),
            &mut null_flags_left,
        )
    }

    #[test]
    fn zero_allocations_are_dropped_and_the_rest_accumulated() {
        let variations = vec![
            variation("v0", json!(0), json!({})),
            variation("v1", json!(25.5), json!({})),
            variation("v2", json!(0), json!({})),
            variation("v3", json!(44.5), json!({})),
        ];
        let group = group_of(variations).unwrap();
        let bounds: Vec<(&str, f64)> = group
            .allocated
            .iter()
            .map(|a| (a.variation().id.as_str(), a.bucket_end))
            .collect();
        assert_eq!(bounds, [("v1", 25.5), ("v3", 70.0)]);
    }

    #[test]
    fn flags_set_only_by_siblings_are_null_like_expose_all_keys() {
        let variations = vec![
            variation("v1", json!(50), json!({"color": "red"})),
            variation("v2", json!(50), json!({"size": 3, "color": null})),
            variation("v3", json!(0), json!({"beta": true})),
        ];
        let group = group_of(variations).unwrap();
        let flags =
            |i: usize| Value::Object(group.allocated[i].variation().modifications.value.clone());
        assert_eq!(
            flags(0),
            json!({"color": "red", "size": null, "beta": null})
        );
        assert_eq!(flags(1), json!({"color": null, "size": 3, "beta": null}));
    }

    #[test]
    fn null_flags_are_budgeted_across_the_file() {
        // Two variations with 3 keys each, none shared: 6 nulls to add.
        let group = json!({"id": "vg", "variations": [
            variation("v1", json!(50), json!({"a": 1, "b": 2, "c": 3})),
            variation("v2", json!(50), json!({"d": 4, "e": 5, "f": 6}))]});
        let mut left = 6;
        assert!(parse_variation_group(&group, &CampaignHeader::default(), &mut left).is_ok());
        assert_eq!(left, 0);
        let mut left = 5;
        assert_eq!(
            parse_variation_group(&group, &CampaignHeader::default(), &mut left).err(),
            Some(malformed(
                "exposeAllKeys would add more than 100000 null flags"
            ))
        );
    }

    #[test]
    fn allocations_must_be_numbers_within_0_to_100_summing_to_at_most_100() {
        let refused = |allocations: &[Value]| {
            let variations = allocations
                .iter()
                .enumerate()
                .map(|(i, a)| variation(&format!("v{i}"), a.clone(), json!({})))
                .collect();
            group_of(variations).err()
        };
        let not_number = Some(malformed("allocation is missing or not a number"));
        let outside = Some(malformed("allocation is outside 0..=100"));
        let over = Some(malformed("allocations of a variation group sum over 100"));
        assert_eq!(refused(&[json!("50")]), not_number);
        assert_eq!(refused(&[json!(null)]), not_number);
        assert_eq!(refused(&[json!(true)]), not_number);
        assert_eq!(refused(&[json!(-1)]), outside);
        assert_eq!(refused(&[json!(100.5)]), outside);
        assert_eq!(refused(&[json!(50), json!(50.5)]), over);
        assert_eq!(refused(&[json!(60), json!(0), json!(41)]), over);
        assert_eq!(refused(&[json!(33.33), json!(33.33), json!(33.34)]), None);
        assert_eq!(refused(&[json!(100), json!(0)]), None);
        assert_eq!(refused(&[json!(10), json!(20)]), None, "under 100 is fine");
        assert_eq!(group_of(vec![json!({"id": "v1"})]).err(), not_number);
    }

    fn assert_refused(group: Value, reason: &'static str) {
        let mut null_flags_left = MAX_EXPOSED_NULL_FLAGS;
        assert_eq!(
            parse_variation_group(&group, &CampaignHeader::default(), &mut null_flags_left),
            Err(malformed(reason)),
            "{group}"
        );
    }

    #[test]
    fn wrong_shapes_are_refused_with_a_reason() {
        assert_refused(json!("vg"), "a variation group is not an object");
        let bad_id = "variation group id is missing or not a string";
        assert_refused(json!({"name": "x"}), bad_id);
        assert_refused(
            json!({"id": "vg", "name": 2}),
            "variation group name is not a string",
        );
        assert_refused(
            json!({"id": "vg", "targeting": []}),
            "targeting is not an object",
        );
        let targeting = |t: Value| json!({"id": "vg", "targeting": t});
        let groups = "targetingGroups is not an array";
        assert_refused(targeting(json!({"targetingGroups": {}})), groups);
        let group = "a targeting group is not an object";
        assert_refused(targeting(json!({"targetingGroups": [1]})), group);
        let rules = json!({"targetingGroups": [{"targetings": "x"}]});
        assert_refused(targeting(rules), "targetings is not an array");
        let rule = |r: Value| targeting(json!({"targetingGroups": [{"targetings": [r]}]}));
        assert_refused(rule(json!(null)), "a targeting is not an object");
        let operator = "targeting operator is missing or not a string";
        assert_refused(rule(json!({"key": "k", "value": 1})), operator);
        assert_refused(rule(json!({"operator": 3, "key": "k"})), operator);
        let key = "targeting key is missing or not a string";
        assert_refused(rule(json!({"operator": "EQUALS", "value": 1})), key);
        let nested = "targeting value is an object or a list of non-scalars";
        assert_refused(
            rule(json!({"operator": "EQUALS", "key": "k", "value": {}})),
            nested,
        );
        assert_refused(
            rule(json!({"operator": "EQUALS", "key": "k", "value": [[1]]})),
            nested,
        );
        let values: Vec<u32> = (0..=1000).collect();
        let long = json!({"operator": "EQUALS", "key": "k", "value": values});
        assert_refused(rule(long), "more than 1000 values in a targeting");
        assert_refused(
            json!({"id": "vg", "variations": {}}),
            "variations is not an array",
        );
        let variation = |v: Value| json!({"id": "vg", "variations": [v]});
        assert_refused(variation(json!([])), "a variation is not an object");
        let bad_id = "variation id is missing or not a string";
        assert_refused(variation(json!({"allocation": 1})), bad_id);
        let v = |extra: Value| {
            let mut fields = json!({"id": "v", "allocation": 1})
                .as_object()
                .unwrap()
                .clone();
            fields
                .0
                .extend(extra.as_object().unwrap().0.iter().cloned());
            variation(Value::Object(fields))
        };
        assert_refused(v(json!({"name": 1})), "variation name is not a string");
        assert_refused(v(json!({"reference": "no"})), "reference is not a boolean");
        assert_refused(
            v(json!({"modifications": []})),
            "modifications is not an object",
        );
        let kind = "modifications type is not a string";
        assert_refused(v(json!({"modifications": {"type": 1}})), kind);
        let flags = "modifications value is not an object";
        assert_refused(v(json!({"modifications": {"value": [1]}})), flags);
    }
}
