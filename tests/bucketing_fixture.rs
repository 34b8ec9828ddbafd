#![cfg(not(target_arch = "wasm32"))]
//! The bucketing engine against a fixture whose expected decisions were reasoned by hand.
//!
//! `fixtures/bucketing.json` exercises every operator, list values, missing keys, several
//! targeting groups and campaigns, zero allocations and unallocated traffic.
//! `fixtures/bucketing_expected.json` holds, per case, the campaigns a visitor should get and why;
//! the buckets those answers rely on were computed by `fixtures/murmur3_reference.py`, an
//! implementation independent of the engine, and are checked here too.

use flagship_segment::bucketing::{bucket, decide, parse_bucketing, BucketingFile};
use flagship_segment::context::{Context, ContextValue};
use serde_json::Value;

const FILE: &str = include_str!("fixtures/bucketing.json");
const EXPECTED: &str = include_str!("fixtures/bucketing_expected.json");

fn expected() -> Value {
    serde_json::from_str(EXPECTED).expect("expected decisions are JSON")
}

fn fixture_file() -> BucketingFile {
    parse_bucketing(FILE).expect("the fixture is a valid bucketing file")
}

fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is a string in {value}"))
}

fn context_of(case: &Value) -> Context {
    let fields = case["context"].as_object().expect("context is an object");
    fields
        .iter()
        .map(|(key, value)| {
            let value = match value {
                Value::String(text) => ContextValue::String(text.clone()),
                Value::Number(number) => ContextValue::Number(number.as_f64().unwrap()),
                Value::Bool(flag) => ContextValue::Bool(*flag),
                other => panic!("unsupported context value {other}"),
            };
            (key.clone(), value)
        })
        .collect()
}

#[test]
fn the_fixture_parses_whole() {
    let file = fixture_file();
    assert!(!file.panic());
    assert_eq!(file.campaign_count(), 9);
}

#[test]
fn buckets_match_the_independent_reference() {
    let expected = expected();
    let buckets = expected["buckets"].as_array().unwrap();
    assert!(!buckets.is_empty());
    for entry in buckets {
        let (group, visitor) = (text(entry, "variationGroupId"), text(entry, "visitorId"));
        assert_eq!(
            u64::from(bucket(group, visitor)),
            entry["bucket"].as_u64().unwrap(),
            "bucket of {group:?} + {visitor:?}"
        );
    }
}

#[test]
fn every_case_gets_the_reasoned_campaigns() {
    let file = fixture_file();
    let expected = expected();
    let cases = expected["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let visitor_id = text(case, "visitorId");
        let decision = decide(&file, visitor_id, &context_of(case));
        assert_eq!(decision.visitor_id, visitor_id);
        assert!(!decision.panic);
        assert_eq!(decision.skipped_campaigns, 0);
        let got: Vec<(&str, &str, &str)> = decision
            .campaigns
            .iter()
            .map(|c| {
                (
                    c.id.as_str(),
                    c.variation_group_id.as_str(),
                    c.variation.id.as_str(),
                )
            })
            .collect();
        let want: Vec<(&str, &str, &str)> = case["expected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    text(e, "campaignId"),
                    text(e, "variationGroupId"),
                    text(e, "variationId"),
                )
            })
            .collect();
        assert_eq!(
            got,
            want,
            "case {:?}: {}",
            text(case, "name"),
            text(case, "why")
        );
    }
}

#[test]
fn returned_campaigns_carry_the_file_metadata_and_flags() {
    let file = fixture_file();
    let mut context = Context::new();
    context.insert("plan".into(), ContextValue::String("PRO".into()));
    context.insert("country".into(), ContextValue::String("fr".into()));
    let decision = decide(&file, "8um", &context);
    let equality = &decision.campaigns[0];
    assert_eq!(equality.name.as_deref(), Some("Equality and lists"));
    assert_eq!(equality.slug.as_deref(), Some("equality"));
    assert_eq!(equality.kind.as_deref(), Some("toggle"));
    assert_eq!(
        equality.variation_group_name.as_deref(),
        Some("Pro outside North America, or QA")
    );
    assert_eq!(equality.variation.name.as_deref(), Some("On"));
    assert!(!equality.variation.reference);
    assert_eq!(equality.variation.modifications.kind, "FLAG");
    assert_eq!(
        equality.variation.modifications.value.get("equality"),
        Some(&flagship_segment::json::Value::Bool(true))
    );
    let split = &decision.campaigns[1];
    assert_eq!(split.variation.id, "v_split_c");
    assert_eq!(
        split.variation.modifications.value.get("split"),
        Some(&flagship_segment::json::Value::from("c"))
    );
}

#[test]
fn the_same_file_in_panic_mode_decides_nothing() {
    let panicking = FILE.replacen("\"panic\": false", "\"panic\": true", 1);
    assert_ne!(panicking, FILE);
    let file = parse_bucketing(&panicking).unwrap();
    let decision = decide(&file, "8um", &Context::new());
    assert!(decision.panic && decision.campaigns.is_empty());
}
