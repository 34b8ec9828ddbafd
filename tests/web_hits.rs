//! Browser suite: what the page hands over for hits (their arguments, consent), the queue in
//! localStorage across a reload and with a full storage, `pagehide`, and Experiment Viewed through
//! `analytics.track`. The queue's rules (batching, retries, consent, expiry, unload) are the
//! engine's, tested on a fake clock in src/engine/tests/delivery.rs.
#![cfg(target_arch = "wasm32")]

mod support;

use flagship_segment::{start, FlagshipSegment};
use serde_json::{json, Value};
use support::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn opts(extra: Value) -> Value {
    let mut o = base_options();
    o["flushIntervalMs"] = json!(60_000);
    for (k, v) in extra.as_object().unwrap() {
        o[k] = v.clone();
    }
    o
}

async fn started(extra: Value) -> (FlagshipSegment, JsValue) {
    let analytics = install_scripted("analytics", "anon-1", 10);
    route("/campaigns", json!([echo(0)]));
    route("/activate", json!([{"status": 204, "body": ""}]));
    (start(options(opts(extra))).await.unwrap(), analytics)
}

fn props(v: Value) -> JsValue {
    js_sys::JSON::parse(&v.to_string()).unwrap()
}

fn actions(hits: &[Value]) -> Vec<String> {
    hits.iter()
        .map(|h| h["ea"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[wasm_bindgen_test]
async fn hits_carry_the_segment_ids_of_the_moment() {
    reset().await;
    route("events.test", json!([{"status": 200, "body": ""}]));
    let (fs, analytics) = started(json!({})).await;
    assert!(fs.track("signup".into(), props(json!({"label": "hero", "value": 3}))));
    flushed(&fs).await;
    call(&analytics, "identify", &["user-U".into()]);
    assert!(fs.track("buy".into(), JsValue::UNDEFINED));
    assert!(fs.transaction(props(
        json!({"id": "T1", "affiliation": "checkout", "revenue": 12.5, "currency": "EUR"})
    )));
    assert!(fs.item(props(
        json!({"transactionId": "T1", "name": "Mug", "code": "SKU-1", "quantity": 2})
    )));
    assert!(fs.page("https://shop.test/cart".into()));
    flushed(&fs).await;
    let calls = calls_to("events.test");
    assert_eq!(calls[0].url, "https://events.test");
    assert_eq!(
        (
            &calls[0].body["ds"],
            &calls[0].body["cid"],
            &calls[0].body["t"]
        ),
        (&json!("APP"), &json!("env_test"), &json!("BATCH"))
    );
    let hits = hits_sent();
    assert_eq!(hits.len(), 5);
    assert_eq!(hits[0]["vid"], "anon-1");
    assert_eq!(hits[0]["cuid"], Value::Null);
    assert_eq!(
        (&hits[0]["ec"], &hits[0]["el"], &hits[0]["ev"]),
        (&json!("Action Tracking"), &json!("hero"), &json!(3))
    );
    for hit in &hits[1..] {
        assert_eq!(
            (&hit["vid"], &hit["cuid"]),
            (&json!("anon-1"), &json!("user-U")),
            "{hit}"
        );
    }
    assert_eq!(hits[2]["t"], "TRANSACTION");
    assert_eq!(
        (&hits[2]["tr"], &hits[2]["tc"]),
        (&json!(12.5), &json!("EUR"))
    );
    assert_eq!((&hits[3]["t"], &hits[3]["iq"]), (&json!("ITEM"), &json!(2)));
    assert_eq!(
        (&hits[4]["t"], &hits[4]["dl"]),
        (&json!("PAGEVIEW"), &json!("https://shop.test/cart"))
    );
}

#[wasm_bindgen_test]
async fn invalid_hits_are_refused_and_nothing_is_sent() {
    reset().await;
    let (fs, _) = started(json!({})).await;
    assert!(!fs.track("".into(), JsValue::UNDEFINED), "ea is required");
    assert!(
        !fs.track("x".into(), props(json!({"value": 1.5}))),
        "ev is an integer"
    );
    assert!(!fs.track("x".into(), props(json!({"category": "Other"}))));
    assert!(!fs.track(JsValue::from_f64(1.0), JsValue::UNDEFINED));
    assert!(!fs.transaction(props(
        json!({"id": "T1", "affiliation": "a", "currency": "EURO"})
    )));
    assert!(
        !fs.item(props(json!({"transactionId": "T1", "name": "Mug"}))),
        "ic is required"
    );
    // NaN and ±Infinity are values the collector cannot take, not absent fields.
    let with = |base: Value, field: &str, number: f64| {
        let object = props(base);
        js_sys::Reflect::set(&object, &field.into(), &JsValue::from_f64(number)).unwrap();
        object
    };
    let sale = json!({"id": "T2", "affiliation": "a"});
    assert!(!fs.transaction(with(sale.clone(), "revenue", f64::NAN)));
    assert!(!fs.transaction(with(sale, "tax", f64::NEG_INFINITY)));
    assert!(!fs.track("x".into(), with(json!({}), "value", f64::INFINITY)));
    flushed(&fs).await;
    assert!(calls_to("events.test").is_empty());
}

#[wasm_bindgen_test]
async fn a_reload_in_the_middle_loses_nothing() {
    reset().await;
    route("events.test", json!([{"networkError": true}]));
    let (fs, _) = started(json!({})).await;
    fs.track("before-reload".into(), JsValue::UNDEFINED);
    fs.get_flag("who".into(), "x".into(), None);
    // Stored once the current task is done.
    wait_until("the queue is stored", || {
        module_keys().iter().any(|k| k.contains(":queue:"))
    })
    .await;
    // The page dies: no pagehide, no flush.
    drop(fs);
    reroute();
    route("events.test", json!([{"status": 200, "body": ""}]));
    route("/campaigns", json!([echo(0)]));
    route("/activate", json!([{"status": 204, "body": ""}]));
    let fs = start(options(opts(json!({})))).await.unwrap();
    flushed(&fs).await;
    let delivered: Vec<_> = hits_sent()
        .into_iter()
        .filter(|h| h["ea"] == "before-reload")
        .collect();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    // The exposure of the first page is remembered: reading again sends nothing new.
    let before = calls_to("/activate")
        .iter()
        .filter(|c| c.body["batch"].as_array().is_some())
        .count();
    fs.get_flag("who".into(), "x".into(), None);
    flushed(&fs).await;
    assert_eq!(
        calls_to("/activate").len(),
        before,
        "dedupe survived the reload"
    );
    wait_until("queue emptied from storage", || {
        !module_keys().iter().any(|k| k.contains(":queue:"))
    })
    .await;
}

fn json_of(value: &JsValue) -> Value {
    serde_json::from_str(&js_sys::JSON::stringify(value).unwrap().as_string().unwrap()).unwrap()
}

/// Expiry after four hours is the engine's (natively tested); what needs a browser is the clock
/// the shell hands it: `Date.now()` moved four hours ahead mid-page ages nothing in the page.
#[wasm_bindgen_test]
async fn issue_20_a_system_clock_jump_does_not_age_or_expire_queued_hits() {
    reset().await;
    route(
        "events.test",
        json!([{"networkError": true}, {"status": 200, "body": ""}]),
    );
    let (fs, _) = started(json!({})).await;
    fs.track("before-the-jump".into(), JsValue::UNDEFINED);
    flushed(&fs).await;
    clock_shift(4.0 * 3600.0 * 1000.0 + 1000.0);
    fs.track("after-the-jump".into(), JsValue::UNDEFINED);
    // The retry may leave before or after the second track (a slow machine), so the two hits
    // travel in one request or two: wait for both, counted by name.
    wait_until("both delivered", || {
        let sent = actions(&hits_sent());
        let count = |name: &str| sent.iter().filter(|a| *a == name).count();
        count("before-the-jump") == 2 && count("after-the-jump") == 1
    })
    .await;
    clock_reset();
    let delivered = json_of(&fs.diagnose())["hits"].clone();
    assert_eq!(
        (&delivered["dropped"], &delivered["sent"]),
        (&json!(0), &json!(2))
    );
    let last = calls_to("events.test").last().unwrap().body.clone();
    let qt = last["h"][0]["qt"].as_f64().unwrap();
    assert!(qt < 60_000.0, "queue time from the monotonic clock: {qt}");
}

#[wasm_bindgen_test]
async fn a_full_storage_is_survived() {
    reset().await;
    route("events.test", json!([{"status": 200, "body": ""}]));
    break_storage();
    let (fs, _) = started(json!({})).await;
    assert!(fs.track("still-sent".into(), JsValue::UNDEFINED));
    flushed(&fs).await;
    fix_storage();
    assert_eq!(actions(&hits_sent()), ["still-sent"]);
}

#[wasm_bindgen_test]
async fn pagehide_hands_everything_to_keepalive() {
    reset().await;
    route("events.test", json!([{"status": 200, "body": ""}]));
    let (fs, _) = started(json!({})).await;
    fs.track("leaving".into(), JsValue::UNDEFINED);
    // The module's listener runs inside dispatchEvent: the request is out when it returns.
    dispatch_pagehide();
    let calls = calls_to("events.test");
    assert_eq!(calls.len(), 1);
    assert!(calls[0].keepalive);
    assert_eq!(actions(&hits_sent()), ["leaving"]);
    assert!(!module_keys().iter().any(|k| k.contains(":queue:")));
    drop(fs);
}

#[wasm_bindgen_test]
async fn experiment_viewed_goes_to_segment_when_asked() {
    reset().await;
    let (fs, analytics) = started(json!({"segmentExperimentViewed": true})).await;
    // The call is made as the read queues its exposure, inside getFlag.
    fs.get_flag("who".into(), "x".into(), None);
    fs.get_flag("who".into(), "x".into(), None);
    assert_eq!(
        tracked(&analytics),
        [
            json!(["Experiment Viewed", {"experiment_id": "c1", "experiment_name": null, "variation_id": "v1", "variation_name": null}])
        ]
    );
    drop(fs);
    reset().await;
    let (fs, analytics) = started(json!({})).await;
    fs.get_flag("who".into(), "x".into(), None);
    assert!(tracked(&analytics).is_empty(), "off by default");
}

/// `setConsent` takes a boolean from the page, and nothing else (what consent changes is the
/// engine's: src/engine/tests/delivery.rs, withdrawn_consent_purges_and_stops_sending).
#[wasm_bindgen_test]
async fn set_consent_takes_a_boolean_from_the_page() {
    reset().await;
    route("events.test", json!([{"status": 200, "body": ""}]));
    let (fs, _) = started(json!({})).await;
    for not_a_boolean in [
        JsValue::from_str("false"),
        JsValue::NULL,
        JsValue::from_f64(0.0),
    ] {
        fs.set_consent(not_a_boolean);
    }
    assert!(
        fs.track("queued".into(), JsValue::UNDEFINED),
        "consent unchanged"
    );
    fs.set_consent(JsValue::FALSE);
    assert!(!fs.track("after".into(), JsValue::UNDEFINED), "withdrawn");
    flushed(&fs).await;
    let hits = hits_sent();
    assert_eq!(actions(&hits), ["fs_consent"], "only the consent hit left");
    assert_eq!(hits[0]["el"], "flagship-segment:false");
}

#[wasm_bindgen_test]
async fn close_lets_go_of_the_page_once_its_last_flush_ends() {
    reset().await;
    let before = running_modules();
    let (fs, _) = started(json!({})).await;
    assert_eq!(running_modules(), before + 1, "listening to pagehide");
    JsFuture::from(fs.close()).await.unwrap();
    assert_eq!(
        running_modules(),
        before,
        "nothing in flight: let go at once"
    );
    // What follows close() settles too (it hung: the flush never ended).
    JsFuture::from(fs.flush()).await.unwrap();
    JsFuture::from(fs.close()).await.unwrap();
}
