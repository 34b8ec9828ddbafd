//! TEMPORARY ADAPTER: a minimal stand-in for `flagship_segment::bucketing`.
//!
//! The crate's own engine lives on branch `bucketing`, written while the crate still used
//! serde_json; it does not compile against `crate::json` yet, and porting it is the lead's job.
//! The emulator is written against that engine's API — [`parse_bucketing`], [`decide`],
//! [`BucketingFile`] with the same signatures — so that once it lands this whole file becomes
//!
//! ```ignore
//! pub use flagship_segment::bucketing::{decide, parse_bucketing, BucketingFile};
//! ```
//!
//! Until then this file implements contract §6 just far enough for the demo and the tests:
//! murmur3 allocation, every operator, groups OR-ed and targetings AND-ed, case-insensitive
//! strings, and the `null`s of `exposeAllKeys` completed per variation group, as the real engine
//! does. It is deliberately plain: no precomputation, no limits beyond the body size.

use std::collections::BTreeSet;

use flagship_segment::context::{Context, ContextValue};
use flagship_segment::decision::{Campaign, Decision, Modifications, Variation};
use flagship_segment::json::{self, Object, Value};
use flagship_segment::Error;

/// A parsed bucketing file.
#[derive(Debug, Clone, Default)]
pub struct BucketingFile {
    panic: bool,
    campaigns: Vec<Value>,
}

impl BucketingFile {
    /// Panic mode: every decision is empty.
    pub fn panic(&self) -> bool {
        self.panic
    }
}

fn malformed(reason: &'static str) -> Error {
    Error::BucketingMalformed(reason)
}

/// Parses a bucketing file, checking the shape `decide` relies on so it never has to.
pub fn parse_bucketing(body: &str) -> Result<BucketingFile, Error> {
    let value = json::parse(body).map_err(|_| malformed("body is not JSON"))?;
    let top = value
        .as_object()
        .ok_or(malformed("body is not a JSON object"))?;
    let panic = top.get("panic").and_then(Value::as_bool).unwrap_or(false);
    if panic {
        return Ok(BucketingFile {
            panic,
            campaigns: Vec::new(),
        });
    }
    let campaigns = top
        .get("campaigns")
        .and_then(Value::as_array)
        .ok_or(malformed("campaigns is missing or not an array"))?;
    for campaign in campaigns {
        campaign
            .get("id")
            .and_then(Value::as_str)
            .ok_or(malformed("campaign id is missing or not a string"))?;
        for group in list(campaign, "variationGroups") {
            group
                .get("id")
                .and_then(Value::as_str)
                .ok_or(malformed("variation group id is missing or not a string"))?;
            for variation in list(group, "variations") {
                variation
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or(malformed("variation id is missing or not a string"))?;
                variation
                    .get("allocation")
                    .and_then(Value::as_f64)
                    .filter(|a| (0.0..=100.0).contains(a))
                    .ok_or(malformed("allocation is not a number in 0..=100"))?;
            }
        }
    }
    Ok(BucketingFile {
        panic,
        campaigns: campaigns.to_vec(),
    })
}

fn list<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value.get(key).and_then(Value::as_array).unwrap_or(&[])
}

fn opt_str(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// MurmurHash3 x86 32-bit, the hash Flagship allocates with.
pub fn murmur3_x86_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mix = |mut k: u32| {
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        k
    };
    let mut h = seed;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        h = (h ^ mix(k))
            .rotate_left(13)
            .wrapping_mul(5)
            .wrapping_add(0xe654_6b64);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let k = tail
            .iter()
            .rev()
            .fold(0u32, |k, &byte| (k << 8) | u32::from(byte));
        h ^= mix(k);
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// Decides which campaigns and variations `visitor_id` gets.
pub fn decide(file: &BucketingFile, visitor_id: &str, context: &Context) -> Decision {
    let campaigns = file
        .campaigns
        .iter()
        .filter_map(|campaign| decide_campaign(campaign, visitor_id, context))
        .collect();
    Decision {
        visitor_id: visitor_id.to_owned(),
        campaigns,
        panic: file.panic,
        skipped_campaigns: 0,
    }
}

fn decide_campaign(campaign: &Value, visitor_id: &str, context: &Context) -> Option<Campaign> {
    let group = list(campaign, "variationGroups")
        .iter()
        .find(|group| targeted(group, visitor_id, context))?;
    let group_id = group.get("id")?.as_str()?;
    let mut key = String::with_capacity(group_id.len() + visitor_id.len());
    key.push_str(group_id);
    key.push_str(visitor_id);
    let bucket = f64::from(murmur3_x86_32(key.as_bytes(), 0) % 100);
    let variations = list(group, "variations");
    let mut total = 0.0;
    let chosen = variations.iter().find(|variation| {
        let allocation = variation
            .get("allocation")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        if allocation <= 0.0 {
            return false;
        }
        total += allocation;
        bucket < total
    })?;
    // exposeAllKeys: every key another variation of the group sets is present, as null.
    let all_keys: BTreeSet<&str> = variations
        .iter()
        .flat_map(|v| {
            flags_of(v)
                .map(|o| o.iter().map(|(k, _)| k))
                .into_iter()
                .flatten()
        })
        .collect();
    let mut flags = flags_of(chosen).cloned().unwrap_or_default();
    for key in all_keys {
        if flags.get(key).is_none() {
            flags.0.push((key.to_owned(), Value::Null));
        }
    }
    Some(Campaign {
        id: opt_str(campaign, "id")?,
        name: opt_str(campaign, "name"),
        slug: opt_str(campaign, "slug"),
        kind: opt_str(campaign, "type"),
        variation_group_id: group_id.to_owned(),
        variation_group_name: opt_str(group, "name"),
        variation: Variation {
            id: opt_str(chosen, "id")?,
            name: opt_str(chosen, "name"),
            reference: chosen.get("reference").and_then(Value::as_bool) == Some(true),
            modifications: Modifications {
                kind: chosen
                    .get("modifications")
                    .and_then(|m| opt_str(m, "type"))
                    .unwrap_or_else(|| "FLAG".to_owned()),
                value: flags,
            },
        },
    })
}

fn flags_of(variation: &Value) -> Option<&Object> {
    variation.get("modifications")?.get("value")?.as_object()
}

/// Groups are OR-ed, targetings inside a group AND-ed; no groups at all targets nobody.
fn targeted(group: &Value, visitor_id: &str, context: &Context) -> bool {
    let groups = group
        .get("targeting")
        .map(|t| list(t, "targetingGroups"))
        .unwrap_or(&[]);
    groups.iter().any(|g| {
        let rules = list(g, "targetings");
        !rules.is_empty() && rules.iter().all(|r| rule_holds(r, visitor_id, context))
    })
}

fn rule_holds(rule: &Value, visitor_id: &str, context: &Context) -> bool {
    let (Some(operator), Some(key)) = (
        rule.get("operator").and_then(Value::as_str),
        rule.get("key").and_then(Value::as_str),
    ) else {
        return false;
    };
    let expected = rule.get("value").unwrap_or(&Value::Null);
    let actual = match key {
        "fs_all_users" => return true,
        "fs_users" => Some(ContextValue::String(visitor_id.to_owned())),
        _ => context.get(key).cloned(),
    };
    let Some(actual) = actual else {
        return operator == "NOT_EXISTS";
    };
    match operator {
        "EXISTS" => return true,
        "NOT_EXISTS" => return false,
        _ => {}
    }
    let negated = operator.starts_with("NOT_");
    let test = |e: &Value| compare(operator.trim_start_matches("NOT_"), &actual, e);
    match expected.as_array() {
        Some(items) if negated => items.iter().all(|e| !test(e)),
        Some(items) => items.iter().any(test),
        None if negated => !test(expected),
        None => test(expected),
    }
}

fn compare(operator: &str, actual: &ContextValue, expected: &Value) -> bool {
    use std::cmp::Ordering;
    let ordering = match (actual, expected) {
        (ContextValue::Number(a), Value::Number(e)) => a.partial_cmp(e),
        (ContextValue::Bool(a), Value::Bool(e)) => Some(a.cmp(e)),
        (ContextValue::String(a), Value::String(e)) => {
            let (a, e) = (a.to_lowercase(), e.to_lowercase());
            match operator {
                "CONTAINS" => return a.contains(&e),
                "STARTS_WITH" => return a.starts_with(&e),
                "ENDS_WITH" => return a.ends_with(&e),
                _ => Some(a.cmp(&e)),
            }
        }
        _ => None,
    };
    let Some(ordering) = ordering else {
        return false;
    };
    match operator {
        "EQUALS" => ordering == Ordering::Equal,
        "GREATER_THAN" => ordering == Ordering::Greater,
        "LOWER_THAN" => ordering == Ordering::Less,
        "GREATER_THAN_OR_EQUALS" => ordering != Ordering::Less,
        "LOWER_THAN_OR_EQUALS" => ordering != Ordering::Greater,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_hash_vectors() {
        for (input, hash) in [
            ("123visitor_1", 3_635_969_351),
            ("9273BKSDJtoto123456", 2_207_745_127),
            ("vgidflagship@abtast.com", 1_551_214_225),
        ] {
            assert_eq!(murmur3_x86_32(input.as_bytes(), 0), hash, "{input}");
        }
        for (input, bucket) in [
            ("jzyplpoe6z3qx0fep8um", 0),
            ("mayaa9tovat04vvcjufp", 9),
            ("vfrgk91ebwfktkzyb7z2", 99),
        ] {
            assert_eq!(murmur3_x86_32(input.as_bytes(), 0) % 100, bucket, "{input}");
        }
    }

    fn file(targetings: &str) -> BucketingFile {
        parse_bucketing(&format!(
            r#"{{"campaigns":[{{"id":"c","variationGroups":[{{"id":"vg",
            "targeting":{{"targetingGroups":[{{"targetings":{targetings}}}]}},
            "variations":[{{"id":"v0","allocation":0,"modifications":{{"value":{{"k":0,"z":1}}}}}},
                          {{"id":"v1","allocation":100,"modifications":{{"value":{{"k":1}}}}}}]}}]}}]}}"#
        ))
        .unwrap()
    }

    fn context(pairs: &[(&str, ContextValue)]) -> Context {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn targeting_and_allocation() {
        let pro = context(&[("plan", ContextValue::String("PRO".into()))]);
        let f = file(r#"[{"operator":"EQUALS","key":"plan","value":"pro"}]"#);
        let d = decide(&f, "visitor", &pro);
        assert_eq!(d.campaigns[0].variation.id, "v1");
        // The zero-allocated variation's key comes back as null.
        assert_eq!(
            d.campaigns[0].variation.modifications.value.get("z"),
            Some(&Value::Null)
        );
        assert!(decide(&f, "visitor", &Context::new()).campaigns.is_empty());
        let not_in = file(r#"[{"operator":"NOT_EQUALS","key":"plan","value":["free","pro"]}]"#);
        assert!(decide(&not_in, "visitor", &pro).campaigns.is_empty());
        let missing = file(r#"[{"operator":"NOT_EXISTS","key":"plan","value":""}]"#);
        assert_eq!(decide(&missing, "v", &Context::new()).campaigns.len(), 1);
        let n = context(&[("age", ContextValue::Number(30.0))]);
        let older = file(r#"[{"operator":"GREATER_THAN","key":"age","value":[40,18]}]"#);
        assert_eq!(decide(&older, "v", &n).campaigns.len(), 1);
    }

    #[test]
    fn malformed_files_are_refused() {
        for bad in [
            "",
            "[]",
            r#"{"campaigns":{}}"#,
            r#"{"campaigns":[{"variationGroups":[]}]}"#,
            r#"{"campaigns":[{"id":"c","variationGroups":[{"id":"g","variations":[{"id":"v","allocation":101}]}]}]}"#,
        ] {
            assert!(parse_bucketing(bad).is_err(), "{bad}");
        }
        assert!(parse_bucketing(r#"{"panic":true}"#).unwrap().panic());
    }
}
