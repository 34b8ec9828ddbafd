//! Browser suite: untrusted values (issue 22). Every place a JSON value of an answer becomes a
//! JS value the page reads (getFlag, getFlags(), the `flags` event, hydration from
//! `initialDecision`) gives plain objects whose keys are own data properties, `__proto__`
//! included, as `JSON.parse` would; a number out of range costs only its own flag; an ID that
//! analytics.js stored in localStorage is read as written.
#![cfg(target_arch = "wasm32")]

mod support;

use flagship_segment::json::{parse, write_value, MAX_DEPTH};
use flagship_segment::{start, FlagshipSegment};
use js_sys::{Array, Object, Reflect};
use serde_json::{json, Value};
use support::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Flags whose objects carry a `__proto__` key, at the top level of a value, inside an array,
/// and as a flag's own name.
const PROTO_FLAGS: &str = r#"{"config":{"__proto__":{"admin":true},"theme":"dark"},
    "list":[{"__proto__":{"admin":true}}],"__proto__":{"admin":true},"btnColor":"blue"}"#;

/// The `/campaigns` body for `anon-1` whose one campaign sets `flags`, given as JSON text: it
/// may hold what serde_json cannot, such as `1e400`.
fn body(flags: &str) -> String {
    format!(
        r#"{{"visitorId":"anon-1","campaigns":[{{"id":"c1","variationGroupId":"vg1",
        "variation":{{"id":"v1","reference":false,
        "modifications":{{"type":"FLAG","value":{flags}}}}}}}]}}"#
    )
}

fn answer(flags: &str) -> Value {
    json!({"status": 200, "body": body(flags)})
}

/// Starts for the anonymous visitor `anon-1` with the `/campaigns` answers `replies`.
async fn started(replies: Value, opts: Value) -> FlagshipSegment {
    reset().await;
    install_loaded("analytics", None, some("anon-1"));
    route("/campaigns", replies);
    route("/activate", json!([{"status": 204, "body": ""}]));
    start(options(opts)).await.unwrap()
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &key.into()).unwrap()
}

/// `object` is what `JSON.parse` makes of `{"__proto__":{"admin":true}, …}`: a plain object
/// (its prototype is `Object.prototype`) with an own, enumerable `__proto__` property holding
/// the answer's object, and nothing inherited from that object.
fn assert_own_proto(object: &JsValue, what: &str) {
    let plain = Object::get_prototype_of(&Object::new());
    assert!(
        Object::is(&Object::get_prototype_of(object), &plain),
        "{what}: the prototype was replaced"
    );
    let own = object.unchecked_ref::<Object>();
    assert!(Object::has_own(own, &"__proto__".into()), "{what}");
    let keys: Vec<_> = Object::keys(own)
        .iter()
        .filter_map(|k| k.as_string())
        .collect();
    assert!(keys.iter().any(|k| k == "__proto__"), "{what}: {keys:?}");
    assert!(
        get(object, "admin").is_undefined(),
        "{what}: inherited admin"
    );
    assert_eq!(
        get(&get(object, "__proto__"), "admin"),
        JsValue::TRUE,
        "{what}"
    );
}

fn json_of(value: &JsValue) -> Value {
    serde_json::from_str(&js_sys::JSON::stringify(value).unwrap().as_string().unwrap()).unwrap()
}

#[wasm_bindgen_test]
async fn issue_22_get_flag_builds_objects_with_an_own_proto_property() {
    let fs = started(json!([answer(PROTO_FLAGS)]), base_options()).await;
    assert_eq!(fs.status(), "READY");
    let config = fs.get_flag("config".into(), Object::new().into(), None);
    assert_own_proto(&config, "getFlag(config)");
    assert_eq!(get(&config, "theme"), "dark");
    let list = fs.get_flag("list".into(), Array::new().into(), None);
    assert_own_proto(&Array::from(&list).get(0), "getFlag(list)[0]");
    let proto = fs.get_flag("__proto__".into(), Object::new().into(), None);
    assert_eq!(json_of(&proto), json!({"admin": true}));
    // Every read builds a fresh object: what the page does to one is not seen by the next.
    Reflect::set(&config, &"theme".into(), &"light".into()).unwrap();
    let again = fs.get_flag("config".into(), Object::new().into(), None);
    assert_eq!(get(&again, "theme"), "dark");
}

#[wasm_bindgen_test]
async fn issue_22_get_flags_has_a_flag_named_proto_as_an_own_property() {
    let fs = started(json!([answer(PROTO_FLAGS)]), base_options()).await;
    let flags = fs.get_flags();
    assert_own_proto(&flags, "getFlags()");
    assert_own_proto(&get(&flags, "config"), "getFlags().config");
    assert_eq!(get(&flags, "btnColor"), "blue");
    assert_eq!(
        json_of(&flags),
        serde_json::from_str::<Value>(PROTO_FLAGS).unwrap()
    );
}

#[wasm_bindgen_test]
async fn issue_22_the_flags_event_carries_own_proto_properties() {
    let first = answer(r#"{"btnColor":"grey"}"#);
    let fs = started(json!([first, answer(PROTO_FLAGS)]), base_options()).await;
    let heard = recorder();
    fs.on("flags".into(), heard.clone().into());
    let context = js_sys::JSON::parse(r#"{"plan":"pro"}"#).unwrap();
    JsFuture::from(fs.update_context(context)).await.unwrap();
    // The recorder keeps JSON.stringify(payload): an own `__proto__` is in it, a replaced
    // prototype (and what it carries) is not.
    let payloads = recorded(&heard);
    let last = payloads.last().expect("a flags event");
    assert_eq!(last["__proto__"], json!({"admin": true}), "{last}");
    assert_eq!(last["config"]["__proto__"], json!({"admin": true}));
    assert_eq!(last.get("admin"), None);
    assert_eq!(last["btnColor"], "blue");
}

#[wasm_bindgen_test]
async fn issue_22_hydration_from_initial_decision_builds_the_same_objects() {
    let mut opts = base_options();
    // As a server-rendered page hands it over: JSON.parse of the data block (options() parses
    // the whole options text), so `__proto__` is an own key of the object given to start().
    let decision: Value = serde_json::from_str(&body(PROTO_FLAGS)).unwrap();
    opts["initialDecision"] = json!({"visitorId": "anon-1", "anonymousId": null,
        "decision": decision, "flags": {}});
    let fs = started(json!([answer(r#"{"btnColor":"grey"}"#)]), opts).await;
    assert_eq!(fs.status(), "READY");
    assert!(calls_to("/campaigns").is_empty(), "hydrated, no request");
    assert_eq!(fs.get_flag("btnColor".into(), "red".into(), None), "blue");
    let config = fs.get_flag("config".into(), Object::new().into(), None);
    assert_own_proto(&config, "hydrated getFlag(config)");
    assert_own_proto(&fs.get_flags(), "hydrated getFlags()");
}

#[wasm_bindgen_test]
async fn issue_22_a_number_out_of_range_costs_only_its_own_flag() {
    let flags = r#"{"big":1e400,"list":[1,-1e400],"btnColor":"blue"}"#;
    let fs = started(json!([answer(flags)]), base_options()).await;
    assert_eq!(fs.status(), "READY", "the answer is not refused");
    assert_eq!(
        fs.get_flag("big".into(), JsValue::from_f64(7.0), None),
        JsValue::from_f64(7.0)
    );
    flushed(&fs).await;
    assert_eq!(
        calls_to("/activate").len(),
        1,
        "a null flag exposes its variation"
    );
    assert_eq!(
        json_of(&fs.get_flag("list".into(), Array::new().into(), None)),
        json!([1, null])
    );
    assert_eq!(fs.get_flag("btnColor".into(), "red".into(), None), "blue");
    assert_eq!(
        json_of(&fs.get_flags()),
        json!({"list": [1, null], "btnColor": "blue"})
    );
}

#[wasm_bindgen_test]
async fn issue_22_an_id_in_local_storage_is_read_as_analytics_js_wrote_it() {
    reset().await;
    // analytics.js writes JSON.stringify(id) to localStorage, unencoded.
    set_local("ajs_anonymous_id", "\"anon%41-7\"");
    route("/campaigns", json!([decision_for("anon%41-7")]));
    let mut opts = base_options();
    opts["fallback"] = json!("storage");
    let fs = start(options(opts)).await.unwrap();
    assert_eq!(fs.visitor_id().as_deref(), Some("anon%41-7"));
    assert_eq!(calls_to("/campaigns")[0].body["visitor_id"], "anon%41-7");
}

/// The parser as the page's own `JSON.parse` sees the same texts: it accepts what `JSON.parse`
/// accepts (nesting past `MAX_DEPTH` aside) and reads what `JSON.stringify(JSON.parse(text))`
/// writes back (a number out of range as `null`, a repeated key as its last value). The fuzz
/// targets check this natively at length against serde_json; this is the real `JSON.parse`.
#[wasm_bindgen_test]
fn issue_22_the_parser_accepts_what_json_parse_accepts() {
    let nested = |levels: usize| format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
    let texts = [
        "1e400".to_owned(),
        "[1e400, -1e400, 1e-400, -0, 0.1, 1E+2]".to_owned(),
        r#"{"__proto__": {"admin": true}, "a": 1, "a": 2}"#.to_owned(),
        r#""\u0000\u2028\/ é 😀""#.to_owned(),
        " \t\r\n[]\n".to_owned(),
        nested(MAX_DEPTH),
        r#""\ud800""#.to_owned(),
        "[1,]".to_owned(),
        "01".to_owned(),
        "\"a\tb\"".to_owned(),
        "\u{feff}1".to_owned(),
        "\u{a0}1".to_owned(),
        "NaN".to_owned(),
        "[1 2]".to_owned(),
        "\"\\x\"".to_owned(),
    ];
    for text in &texts {
        let reference = js_sys::JSON::parse(text);
        let ours = parse(text);
        assert_eq!(ours.is_ok(), reference.is_ok(), "{text:?}");
        let (Ok(ours), Ok(reference)) = (ours, reference) else {
            continue;
        };
        if text.contains("\\ud800") {
            continue; // JSON.parse keeps a lone surrogate; a Rust string holds U+FFFD instead.
        }
        let mut written = String::new();
        write_value(&mut written, &ours);
        let stringified = js_sys::JSON::stringify(&reference)
            .unwrap()
            .as_string()
            .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&written).unwrap(),
            serde_json::from_str::<Value>(&stringified).unwrap(),
            "{text:?}"
        );
    }
    // The one departure: nesting deeper than MAX_DEPTH, which JSON.parse reads.
    assert!(js_sys::JSON::parse(&nested(MAX_DEPTH + 1)).is_ok());
    assert!(parse(&nested(MAX_DEPTH + 1)).is_err());
}
