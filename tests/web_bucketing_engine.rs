//! Browser suite: the bucketing engine, the second .wasm, instantiated from the optimised bytes
//! `./run` builds (`build_engine`) through its loader, `js/bucketing-engine.js`, exactly as the
//! main module will. It decides the fixture like the core does here, and its raw-import paths
//! (numbers through `parseFloat` / `String(n)`, non-ASCII lower-casing through
//! `String.prototype.toLowerCase`) agree with the native output, as `web_core.rs` checks for the
//! js-sys variants.
#![cfg(target_arch = "wasm32")]

use flagship_segment::bucketing::{decide, parse_bucketing};
use flagship_segment::context::{Context, ContextValue};
use flagship_segment::decision::{parse_decision, write_decision};
use flagship_segment::json::{write_number, write_value, Value};
use js_sys::{Promise, Uint8Array};
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

#[path = "support/numbers.rs"]
mod numbers;
use numbers::{smallest_subnormal_text, OUT_OF_RANGE, PARSED, REFUSED, WRITTEN};

wasm_bindgen_test_configure!(run_in_browser);

/// Written by `./run`'s `build_engine` before the browser suites are compiled.
const ENGINE: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/target/bucketing-engine/flagship_segment_bucketing.wasm"
));
const FIXTURE: &str = include_str!("fixtures/bucketing.json");
const EXPECTED: &str = include_str!("fixtures/bucketing_expected.json");

#[wasm_bindgen(module = "/js/bucketing-engine.js")]
extern "C" {
    type Engine;

    #[wasm_bindgen(js_name = loadBucketingEngine)]
    fn load_bucketing_engine(source: &JsValue) -> Promise;

    #[wasm_bindgen(structural, method, catch)]
    fn load(this: &Engine, text: &str) -> Result<Option<String>, JsValue>;

    #[wasm_bindgen(structural, method, catch)]
    fn decide(this: &Engine, visitor_id: &str, context_json: &str) -> Result<String, JsValue>;
}

#[wasm_bindgen(inline_js = "export function blob_url(bytes, type) { \
    return URL.createObjectURL(new Blob([bytes], { type })); }")]
extern "C" {
    /// A URL serving `bytes` with `Content-Type: type`.
    fn blob_url(bytes: &Uint8Array, content_type: &str) -> String;
}

async fn engine_from(source: &JsValue) -> Engine {
    JsFuture::from(load_bucketing_engine(source))
        .await
        .expect("the engine instantiates")
        .unchecked_into()
}

async fn engine() -> Engine {
    engine_from(&Uint8Array::from(ENGINE).into()).await
}

async fn engine_with(file: &str) -> Engine {
    let engine = engine().await;
    assert_eq!(engine.load(file).unwrap(), None);
    engine
}

fn thrown(error: JsValue) -> String {
    error.unchecked_into::<js_sys::Error>().message().into()
}

fn context_of(value: &serde_json::Value) -> Context {
    value
        .as_object()
        .unwrap()
        .iter()
        .map(|(key, value)| {
            let value = match value {
                serde_json::Value::String(s) => ContextValue::String(s.clone()),
                serde_json::Value::Number(n) => ContextValue::Number(n.as_f64().unwrap()),
                serde_json::Value::Bool(b) => ContextValue::Bool(*b),
                other => panic!("unsupported context value {other}"),
            };
            (key.clone(), value)
        })
        .collect()
}

#[wasm_bindgen_test]
async fn decides_every_fixture_case_as_the_core_does() {
    let engine = engine_with(FIXTURE).await;
    let file = parse_bucketing(FIXTURE).unwrap();
    let expected: serde_json::Value = serde_json::from_str(EXPECTED).unwrap();
    let cases = expected["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let visitor_id = case["visitorId"].as_str().unwrap();
        let answer = engine
            .decide(visitor_id, &case["context"].to_string())
            .unwrap();
        let core = write_decision(&decide(&file, visitor_id, &context_of(&case["context"])));
        assert_eq!(answer, core, "case {}", case["name"]);
        let got: Vec<String> = parse_decision(&answer)
            .unwrap()
            .campaigns
            .iter()
            .map(|c| format!("{}/{}/{}", c.id, c.variation_group_id, c.variation.id))
            .collect();
        let reasoned: Vec<String> = case["expected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{}/{}/{}",
                    e["campaignId"].as_str().unwrap(),
                    e["variationGroupId"].as_str().unwrap(),
                    e["variationId"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(got, reasoned, "case {}: {}", case["name"], case["why"]);
    }
}

/// `instantiateStreaming` when the server says `application/wasm`, bytes otherwise.
#[wasm_bindgen_test]
async fn loads_from_a_url_whatever_the_content_type() {
    let bytes = Uint8Array::from(ENGINE);
    for content_type in ["application/wasm", "application/octet-stream", ""] {
        let url = JsValue::from(blob_url(&bytes, content_type));
        let engine = engine_from(&url).await;
        assert_eq!(engine.load(FIXTURE).unwrap(), None, "{content_type}");
        assert!(engine.decide("8um", "{}").unwrap().contains("c_split"));
    }
    let missing = JsFuture::from(load_bucketing_engine(&"/no/such/engine.wasm".into())).await;
    assert!(
        thrown(missing.unwrap_err()).ends_with("http 404"),
        "a missing engine rejects with its status"
    );
}

#[wasm_bindgen_test]
async fn refusals_carry_their_reason() {
    let engine = engine().await;
    assert_eq!(
        thrown(engine.decide("v", "{}").unwrap_err()),
        "no bucketing file loaded"
    );
    assert_eq!(
        engine.load(r#"{"campaigns": 3}"#).unwrap().as_deref(),
        Some("campaigns is missing or not an array")
    );
    assert_eq!(engine.load(FIXTURE).unwrap(), None);
    assert_eq!(
        engine.load("{").unwrap().as_deref(),
        Some("body is not JSON")
    );
    // The refused file left the fixture in use.
    assert!(engine.decide("8um", "{}").unwrap().contains("c_split"));
    for (context, reason) in [
        ("[]", "context is not a JSON object"),
        ("", "context is not a JSON object"),
        (
            r#"{"a":{"b":1}}"#,
            "context value is not a string, number or boolean",
        ),
        (
            r#"{"a":[1]}"#,
            "context value is not a string, number or boolean",
        ),
    ] {
        assert_eq!(
            thrown(engine.decide("v", context).unwrap_err()),
            reason,
            "{context}"
        );
    }
}

/// A one-campaign file whose only targeting is `city <operator> <value>`.
fn file_targeting(operator: &str, value: &str) -> String {
    json!({"campaigns": [{
        "id": "c1", "type": "ab", "variationGroups": [{
            "id": "vg1", "targeting": {"targetingGroups": [{"targetings": [
                {"operator": operator, "key": "city", "value": value}]}]},
            "variations": [{"id": "v1", "allocation": 100,
                "modifications": {"type": "FLAG", "value": {"on": true}}}]}]}]})
    .to_string()
}

/// The cases of `web_core.rs`, plus `İ`, whose lower case is longer in UTF-8 than itself: the
/// loader then asks for more room and the engine calls again.
#[wasm_bindgen_test]
async fn targeting_ignores_case_beyond_ascii() {
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
        ("EQUALS", "İSTANBUL", "i\u{307}stanbul", "istanbul"),
        ("EQUALS", "i\u{307}stanbul", "İSTANBUL", "ISTANBUL"),
    ] {
        let engine = engine_with(&file_targeting(operator, value)).await;
        let matches = |city: &str| {
            let answer = engine
                .decide("visitor-1", &json!({ "city": city }).to_string())
                .unwrap();
            !parse_decision(&answer).unwrap().campaigns.is_empty()
        };
        assert!(matches(matching), "{operator} {value:?} {matching:?}");
        assert!(!matches(other), "{operator} {value:?} {other:?}");
    }
}

/// A file whose only variation sets `n` to the JSON number `text` (written as it is).
fn file_with_number(text: &str) -> String {
    format!(
        r#"{{"campaigns":[{{"id":"c","variationGroups":[{{"id":"g",
            "targeting":{{"targetingGroups":[{{"targetings":[
                {{"operator":"EQUALS","key":"fs_all_users","value":""}}]}}]}},
            "variations":[{{"id":"v","allocation":100,
                "modifications":{{"type":"FLAG","value":{{"n":{text}}}}}}}]}}]}}]}}"#
    )
}

/// The engine reads `text` from a file (`parse_f64`) and writes it back in its answer
/// (`format_f64`): what comes out as the flag's value.
async fn through_the_engine(text: &str) -> String {
    let engine = engine_with(&file_with_number(text)).await;
    let answer = engine.decide("v", "{}").unwrap();
    let start = answer.find(r#""n":"#).expect("the flag is in the answer") + 4;
    let end = start + answer[start..].find('}').unwrap();
    answer[start..end].to_owned()
}

fn written(n: f64) -> String {
    let mut out = String::new();
    write_number(&mut out, n);
    out
}

/// Every text is what Rust's `Display` writes natively: plain decimals, never an exponent.
#[wasm_bindgen_test]
async fn numbers_are_written_as_natively() {
    let tiny = smallest_subnormal_text();
    for (n, text) in WRITTEN.iter().copied().chain([(5e-324, tiny.as_str())]) {
        // serde_json writes the exponent forms (`1.5e-7`), so both import paths are taken.
        let input = serde_json::Value::from(n).to_string();
        assert_eq!(through_the_engine(&input).await, text, "{n:e} as {input}");
    }
}

#[wasm_bindgen_test]
async fn numbers_are_parsed_as_natively() {
    for &(text, n) in PARSED {
        assert_eq!(through_the_engine(text).await, written(n), "{text}");
    }
    // Out of range reads as null (the flag is set, to null), as in the main module.
    for &huge in OUT_OF_RANGE {
        assert_eq!(through_the_engine(huge).await, "null", "{huge}");
    }
    // What is not a JSON number is refused like any malformed JSON.
    let engine = engine().await;
    for &bad in REFUSED {
        assert_eq!(
            engine.load(&file_with_number(bad)).unwrap().as_deref(),
            Some("body is not JSON"),
            "{bad}"
        );
    }
}

#[wasm_bindgen_test]
async fn numbers_round_trip_through_the_engine() {
    let mut n = 1.0f64;
    let mut samples = vec![0.0, 0.1 + 0.2, f64::MAX, f64::MIN_POSITIVE, 5e-324];
    for _ in 0..60 {
        samples.extend([n, -n, n / 3.0, n * 1e15 + 0.5, 1.0 / n]);
        n *= 7.3;
    }
    for i in 0..=53 {
        samples.push(2f64.powi(i) - 1.0);
    }
    // One file holding every sample, as an array flag: one engine, one answer.
    let mut list = String::new();
    write_value(
        &mut list,
        &Value::Array(samples.iter().map(|&n| Value::Number(n)).collect()),
    );
    let engine = engine_with(&file_with_number(&list)).await;
    let answer = engine.decide("v", "{}").unwrap();
    assert!(
        answer.contains(&format!(r#""n":{list}"#)),
        "{list} not in {answer}"
    );
}

/// Context numbers are read by the engine's `parse_f64` too.
#[wasm_bindgen_test]
async fn context_numbers_compare_as_numbers() {
    let file = json!({"campaigns": [{"id": "c", "variationGroups": [{"id": "g",
        "targeting": {"targetingGroups": [{"targetings": [
            {"operator": "EQUALS", "key": "n", "value": 0.1 + 0.2},
            {"operator": "GREATER_THAN", "key": "big", "value": 1e21}]}]},
        "variations": [{"id": "v", "allocation": 100}]}]}]})
    .to_string();
    let engine = engine_with(&file).await;
    for (context, matching) in [
        (r#"{"n":0.30000000000000004,"big":1e21}"#, false),
        (r#"{"n":0.30000000000000004,"big":2E+21}"#, true),
        (r#"{"n":0.3,"big":2e21}"#, false),
        (r#"{"n":3e-1,"big":2e21}"#, false),
        (
            r#"{"n":30000000000000004e-17,"big":2000000000000000000000}"#,
            true,
        ),
    ] {
        let answer = engine.decide("v", context).unwrap();
        assert_eq!(
            !parse_decision(&answer).unwrap().campaigns.is_empty(),
            matching,
            "{context}"
        );
    }
}

#[wasm_bindgen(module = "/tests/support/misbehaving-loader.js")]
extern "C" {
    /// `[[status, output] of load(file), [status, output] of decide(visitor, context)]` as JSON,
    /// from an engine instantiated with a misbehaving loader.
    fn with_misbehaving_loader(
        bytes: &Uint8Array,
        extra: u32,
        file: &str,
        visitor: &str,
        context: &str,
    ) -> Promise;
}

/// Issue 22: the engine trusts its loader for nothing. A `format_f64` or `to_lower_case` that
/// asks for more room than it was given, again and again, writing nothing, used to have the
/// engine read bytes never written (`set_len` over the second answer) or grow its buffer until
/// memory ran out. Now a number is written `null` and a text is compared as written.
#[wasm_bindgen_test]
async fn issue_22_a_misbehaving_loader_costs_a_value_never_memory_safety() {
    let file = json!({"campaigns": [{"id": "c", "variationGroups": [{"id": "g",
        "targeting": {"targetingGroups": [{"targetings": [
            {"operator": "EQUALS", "key": "city", "value": "PARÍS"}]}]},
        "variations": [{"id": "v", "allocation": 100,
            "modifications": {"type": "FLAG", "value": {"n": 0.5, "s": "ok"}}}]}]}]})
    .to_string();
    for extra in [1, 1_000_000] {
        let promise = with_misbehaving_loader(
            &Uint8Array::from(ENGINE),
            extra,
            &file,
            "v",
            r#"{"city":"PARÍS"}"#,
        );
        let result = JsFuture::from(promise)
            .await
            .expect("the engine does not trap");
        let result: serde_json::Value = serde_json::from_str(&result.as_string().unwrap()).unwrap();
        assert_eq!(result[0], json!([0, ""]), "load, extra {extra}");
        assert_eq!(result[1][0], 0, "decide, extra {extra}");
        let answer = parse_decision(result[1][1].as_str().unwrap()).expect("well-formed JSON");
        let flags = &answer.campaigns[0].variation.modifications.value;
        assert_eq!(flags.get("n"), Some(&Value::Null), "extra {extra}");
        assert_eq!(flags.get("s"), Some(&Value::from("ok")));
    }
}
