//! Browser suite: hits, the delivery queue, persistence across reloads, consent, the decision
//! cache and Experiment Viewed.
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

async fn flushed(fs: &FlagshipSegment) {
    JsFuture::from(fs.flush()).await.unwrap();
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
    flushed(&fs).await;
    assert!(calls_to("events.test").is_empty());
}

#[wasm_bindgen_test]
async fn batches_at_batch_size_or_after_the_interval() {
    reset().await;
    route("events.test", json!([{"status": 200, "body": ""}]));
    let (fs, _) = started(json!({"batchSize": 3, "flushIntervalMs": 300})).await;
    for action in ["a", "b", "c"] {
        fs.track(action.into(), JsValue::UNDEFINED);
    }
    sleep(80).await;
    assert_eq!(calls_to("events.test").len(), 1, "flushed at 3 hits");
    fs.track("d".into(), JsValue::UNDEFINED);
    sleep(100).await;
    assert_eq!(calls_to("events.test").len(), 1, "not before the interval");
    sleep(400).await;
    assert_eq!(calls_to("events.test").len(), 2);
    assert_eq!(actions(&hits_sent()), ["a", "b", "c", "d"]);
    assert!(calls_to("events.test").iter().all(|c| c.keepalive));
}

#[wasm_bindgen_test]
async fn offline_then_online_delivers_every_hit_once() {
    reset().await;
    route(
        "events.test",
        json!([{"networkError": true}, {"networkError": true}, {"status": 200, "body": ""}]),
    );
    let (fs, _) = started(json!({"batchSize": 3})).await;
    for action in ["a", "b", "c"] {
        fs.track(action.into(), JsValue::UNDEFINED);
    }
    for _ in 0..80 {
        if calls_to("events.test").len() >= 3 {
            break;
        }
        sleep(100).await;
    }
    let calls = calls_to("events.test");
    assert_eq!(calls.len(), 3, "two failures, then delivered");
    let delivered: Vec<_> = calls[2].body["h"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["ea"].clone())
        .collect();
    assert_eq!(delivered, [json!("a"), json!("b"), json!("c")]);
    sleep(300).await;
    assert_eq!(calls_to("events.test").len(), 3, "nothing sent twice");
    assert_eq!(
        json_of(&fs.diagnose())["hits"],
        json!({"queued": 0, "sent": 3, "dropped": 0})
    );
}

fn json_of(value: &JsValue) -> Value {
    serde_json::from_str(&js_sys::JSON::stringify(value).unwrap().as_string().unwrap()).unwrap()
}

#[wasm_bindgen_test]
async fn a_reload_in_the_middle_loses_nothing() {
    reset().await;
    route("events.test", json!([{"networkError": true}]));
    let (fs, _) = started(json!({})).await;
    fs.track("before-reload".into(), JsValue::UNDEFINED);
    fs.get_flag("who".into(), "x".into(), None);
    sleep(20).await;
    assert!(
        module_keys().iter().any(|k| k.contains(":queue:")),
        "{:?}",
        module_keys()
    );
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
    sleep(DELIVERED_MS).await;
    assert_eq!(
        calls_to("/activate").len(),
        before,
        "dedupe survived the reload"
    );
    assert!(
        !module_keys().iter().any(|k| k.contains(":queue:")),
        "queue emptied from storage"
    );
}

#[wasm_bindgen_test]
async fn what_a_previous_page_left_leaves_without_any_call_on_this_one() {
    reset().await;
    route("events.test", json!([{"networkError": true}]));
    let (fs, _) = started(json!({"flushIntervalMs": 100})).await;
    fs.track("left-behind".into(), JsValue::UNDEFINED);
    sleep(20).await;
    drop(fs);
    reroute();
    route("events.test", json!([{"status": 200, "body": ""}]));
    route("/campaigns", json!([echo(0)]));
    // The stored queue is read while the decision request is out, then sent when due: the page
    // only starts the module.
    let _fs = start(options(opts(json!({"flushIntervalMs": 100}))))
        .await
        .unwrap();
    sleep(400).await;
    let delivered: Vec<_> = hits_sent()
        .into_iter()
        .filter(|h| h["ea"] == "left-behind")
        .collect();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
}

#[wasm_bindgen_test]
async fn withdrawn_consent_purges_and_stops_sending() {
    reset().await;
    route("events.test", json!([{"status": 200, "body": ""}]));
    let (fs, analytics) = started(json!({})).await;
    fs.track("queued".into(), JsValue::UNDEFINED);
    fs.set_consent(JsValue::FALSE);
    sleep(DELIVERED_MS).await;
    let hits = hits_sent();
    assert_eq!(actions(&hits), ["fs_consent"], "only the consent hit left");
    assert_eq!(
        (&hits[0]["ec"], &hits[0]["el"]),
        (&json!("User Engagement"), &json!("flagship-segment:false"))
    );
    assert!(
        !module_keys().iter().any(|k| k.contains(":queue:")),
        "nothing stored"
    );
    assert!(!fs.track("after".into(), JsValue::UNDEFINED));
    fs.get_flag("who".into(), "x".into(), None);
    sleep(DELIVERED_MS).await;
    assert!(
        calls_to("/activate").is_empty(),
        "no exposure without consent"
    );
    call(&analytics, "reset", &[]);
    sleep(DELIVERED_MS).await;
    assert_eq!(
        calls_to("/campaigns").last().unwrap().body["visitor_consent"],
        false,
        "decisions go on"
    );
    fs.set_consent(JsValue::TRUE);
    flushed(&fs).await;
    assert_eq!(hits_sent().last().unwrap()["el"], "flagship-segment:true");
}

#[wasm_bindgen_test]
async fn no_consent_at_start_sends_and_stores_nothing() {
    reset().await;
    let (fs, _) = started(json!({"consent": false})).await;
    assert_eq!(calls_to("/campaigns")[0].body["visitor_consent"], false);
    fs.get_flag("who".into(), "x".into(), None);
    assert!(!fs.track("x".into(), JsValue::UNDEFINED));
    sleep(DELIVERED_MS).await;
    flushed(&fs).await;
    assert!(calls_to("/activate").is_empty() && calls_to("events.test").is_empty());
    assert!(!module_keys().iter().any(|k| k.contains(":queue:")));
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
    wait_until("both delivered", || {
        actions(&hits_sent())
            .iter()
            .filter(|a| *a == "before-the-jump")
            .count()
            == 2
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
async fn corrupt_stored_data_is_discarded_not_thrown() {
    reset().await;
    let (fs, _) = started(json!({})).await;
    fs.track("x".into(), JsValue::UNDEFINED);
    sleep(20).await; // stored once the current task is done
    let key = module_keys()
        .into_iter()
        .find(|k| k.contains(":queue:"))
        .expect("queue stored");
    drop(fs);
    set_local(
        &key,
        "{\"v\":1,\"at\":0,\"hits\":{\"v\":1,\"items\":[{\"id\":\"x\"}]}",
    );
    set_local("flagship-segment:env_test:exposures", "not json");
    set_local("flagship-segment:env_test:decisions", "[1,2");
    console_capture();
    let fs = start(options(opts(json!({"logLevel": "warn"}))))
        .await
        .unwrap();
    assert_eq!(fs.status(), "READY");
    let lines = console_lines();
    assert!(lines.iter().any(|l| l.contains("unreadable")), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("stored exposures discarded")),
        "{lines:?}"
    );
}

#[wasm_bindgen_test]
async fn pagehide_hands_everything_to_keepalive() {
    reset().await;
    route("events.test", json!([{"status": 200, "body": ""}]));
    let (fs, _) = started(json!({})).await;
    fs.track("leaving".into(), JsValue::UNDEFINED);
    dispatch_pagehide();
    sleep(30).await;
    let calls = calls_to("events.test");
    assert_eq!(calls.len(), 1);
    assert!(calls[0].keepalive);
    assert_eq!(actions(&hits_sent()), ["leaving"]);
    assert!(!module_keys().iter().any(|k| k.contains(":queue:")));
    drop(fs);
}

#[wasm_bindgen_test]
async fn cached_decision_for_the_same_identity_only() {
    reset().await;
    let (fs, analytics) = started(json!({})).await;
    assert_eq!(fs.status(), "READY");
    drop(fs);
    reroute();
    route(
        "/campaigns",
        json!([{"status": 503, "body": "{\"message\":\"down\"}"}]),
    );
    let fs = start(options(opts(json!({})))).await.unwrap();
    assert_eq!(fs.status(), "CACHED");
    assert_eq!(code_of(&fs.last_error()), "DECISION_HTTP");
    assert_eq!(
        fs.get_flag("who".into(), "x".into(), Some(false))
            .as_string()
            .as_deref(),
        Some("anon-1")
    );
    call(&analytics, "reset", &[]);
    sleep(DELIVERED_MS).await;
    assert_eq!(
        fs.status(),
        "FETCH_FAILED",
        "no cache entry for the new identity"
    );
    assert_eq!(
        fs.get_flag("who".into(), "x".into(), Some(false))
            .as_string()
            .as_deref(),
        Some("x")
    );
}

#[wasm_bindgen_test]
async fn experiment_viewed_goes_to_segment_when_asked() {
    reset().await;
    let (fs, analytics) = started(json!({"segmentExperimentViewed": true})).await;
    fs.get_flag("who".into(), "x".into(), None);
    fs.get_flag("who".into(), "x".into(), None);
    sleep(DELIVERED_MS).await;
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
    sleep(DELIVERED_MS).await;
    assert!(tracked(&analytics).is_empty(), "off by default");
}
