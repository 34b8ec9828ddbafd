//! Browser suite: the core's wasm-only paths, which hand work to JavaScript to keep core's float
//! and Unicode machinery out of the module. Natively the same functions use Rust's own; these
//! tests pin the browser versions to the same output.
#![cfg(target_arch = "wasm32")]

use flagship_segment::bucketing::{decide, parse_bucketing, BucketingFile};
use flagship_segment::context::{Context, ContextValue};
use flagship_segment::json::{parse, write_number, write_value, Value};
use wasm_bindgen_test::*;

#[path = "support/numbers.rs"]
mod numbers;
use numbers::{smallest_subnormal_text, OUT_OF_RANGE, PARSED, REFUSED, WRITTEN};

wasm_bindgen_test_configure!(run_in_browser);

fn written(n: f64) -> String {
    let mut out = String::new();
    write_number(&mut out, n);
    out
}

/// Every text is what Rust's `Display` writes natively: plain decimals, never an exponent.
#[wasm_bindgen_test]
fn numbers_are_written_as_natively() {
    let tiny = smallest_subnormal_text();
    let cases = WRITTEN.iter().copied().chain([
        (5e-324, tiny.as_str()),
        (f64::NAN, "null"),
        (f64::INFINITY, "null"),
    ]);
    for (n, text) in cases {
        assert_eq!(written(n), text, "{n:e}");
    }
}

#[wasm_bindgen_test]
fn numbers_are_parsed_as_natively() {
    for &(text, n) in PARSED {
        let parsed = parse(text).unwrap();
        assert_eq!(parsed, Value::Number(n), "{text}");
        assert_eq!(
            parsed.as_f64().unwrap().is_sign_negative(),
            n.is_sign_negative()
        );
    }
    for bad in REFUSED {
        assert!(parse(bad).is_err(), "{bad}");
    }
    for huge in OUT_OF_RANGE {
        assert_eq!(parse(huge), Ok(Value::Null), "{huge}");
    }
}

#[wasm_bindgen_test]
fn numbers_round_trip_through_writer_and_parser() {
    let mut n = 1.0f64;
    let mut samples = vec![0.0, 0.1 + 0.2, f64::MAX, f64::MIN_POSITIVE, 5e-324];
    for _ in 0..60 {
        samples.extend([n, -n, n / 3.0, n * 1e15 + 0.5, 1.0 / n]);
        n *= 7.3;
    }
    for i in 0..=53 {
        samples.push(2f64.powi(i) - 1.0);
    }
    for n in samples {
        let mut out = String::new();
        write_value(&mut out, &Value::Number(n));
        assert_eq!(parse(&out).unwrap(), Value::Number(n), "{out}");
    }
}

/// A one-campaign bucketing file whose only targeting is `city <operator> <value>`.
fn file_targeting(operator: &str, value: &str) -> BucketingFile {
    let body = serde_json::json!({"campaigns": [{
        "id": "c1", "type": "ab", "variationGroups": [{
            "id": "vg1", "targeting": {"targetingGroups": [{"targetings": [
                {"operator": operator, "key": "city", "value": value}]}]},
            "variations": [{"id": "v1", "allocation": 100,
                "modifications": {"type": "FLAG", "value": {"on": true}}}]}]}]});
    parse_bucketing(&body.to_string()).unwrap()
}

fn matches(operator: &str, value: &str, city: &str) -> bool {
    let context = Context::from([("city".to_owned(), ContextValue::String(city.to_owned()))]);
    !decide(&file_targeting(operator, value), "visitor-1", &context)
        .campaigns
        .is_empty()
}

/// Non-ASCII text is lower-cased by JavaScript in the wasm (file side at parse time, visitor side
/// per comparison), ASCII in Rust: both must agree with Rust's `to_lowercase` natively.
#[wasm_bindgen_test]
fn targeting_ignores_case_beyond_ascii() {
    for (operator, value, matching, other) in [
        ("EQUALS", "ÉTÉ", "été", "ete"),
        ("EQUALS", "été", "ÉTÉ", "ETE"),
        ("CONTAINS", "été", "Un ÉTÉ 2024", "ETE 2024"),
        ("EQUALS", "ΟΔΟΣ", "οδος", "οδοσ"),
        ("EQUALS", "οδος", "ΟΔΟΣ", "ΟΔΟ"),
        ("STARTS_WITH", "STRAẞE", "straße-1", "strasse-1"),
        (
            "ENDS_WITH",
            "@ABTASTY.com",
            "me@abtasty.COM",
            "abtasty.com.evil",
        ),
        ("NOT_CONTAINS", "xyz", "abtasty", "XYZ"),
    ] {
        assert!(
            matches(operator, value, matching),
            "{operator} {value:?} {matching:?}"
        );
        assert!(
            !matches(operator, value, other),
            "{operator} {value:?} {other:?}"
        );
    }
}
