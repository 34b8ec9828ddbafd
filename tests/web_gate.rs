//! Browser suite: the seen-by-Segment gate (`ensureSegmentKnows`), warnings and `diagnose()`.
#![cfg(target_arch = "wasm32")]

mod support;

use flagship_segment::{start, FlagshipSegment};
use serde_json::{json, Value};
use support::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// analytics.js delivers a call this long after it is made.
const DISPATCH_MS: u32 = 120;

fn gate_options(mode: &str, timeout_ms: u32) -> Value {
    let mut o = base_options();
    o["ensureSegmentKnows"] = json!(mode);
    o["segmentKnowsTimeoutMs"] = json!(timeout_ms);
    o
}

async fn started(opts: Value) -> (FlagshipSegment, JsValue) {
    let analytics = install_scripted("analytics", "anon-fresh", DISPATCH_MS);
    route("/campaigns", json!([echo(0)]));
    route("/activate", json!([{"status": 204, "body": ""}]));
    (start(options(opts)).await.unwrap(), analytics)
}

fn json_of(value: &JsValue) -> Value {
    serde_json::from_str(&js_sys::JSON::stringify(value).unwrap().as_string().unwrap()).unwrap()
}

#[wasm_bindgen_test]
async fn no_activation_leaves_before_segment_dispatched_a_call() {
    reset().await;
    let (fs, analytics) = started(gate_options("wait", 3000)).await;
    let warnings = recorder();
    fs.on("warning".into(), warnings.clone().into());
    fs.get_flag("who".into(), "x".into(), None);
    sleep(DELIVERED_MS).await;
    assert!(
        calls_to("/activate").is_empty(),
        "held: Segment has not seen this visitor"
    );
    assert_eq!(json_of(&fs.diagnose())["seenBySegment"], false);
    assert_eq!(recorded(&warnings)[0]["code"], "HITS_HELD");
    call(&analytics, "page", &[]);
    sleep(DISPATCH_MS / 2).await;
    assert!(
        calls_to("/activate").is_empty(),
        "the page call is not delivered yet"
    );
    sleep(DISPATCH_MS / 2 + DELIVERED_MS).await;
    assert_eq!(
        calls_to("/activate").len(),
        1,
        "sent once Segment dispatched its call"
    );
    assert_eq!(json_of(&fs.diagnose())["seenBySegment"], true);
    assert_eq!(json_of(&fs.diagnose())["sentBeforeSegmentKnew"], 0);
}

/// The settings request shares the API's host behind a first-party proxy (and in the e2e tests):
/// it says nothing about the visitor, so it opens nothing.
#[wasm_bindgen_test]
async fn a_call_segment_sent_before_start_opens_the_gate() {
    for request in [Some("p"), None, Some("projects/w/settings"), Some("m")] {
        let called = matches!(request, Some("p"));
        reset().await;
        let analytics = install_scripted("analytics", "anon-fresh", DISPATCH_MS);
        segment_api_on_this_server(&analytics, request).await;
        route("/campaigns", json!([echo(0)]));
        route("/activate", json!([{"status": 204, "body": ""}]));
        let fs = start(options(gate_options("wait", 3000))).await.unwrap();
        fs.get_flag("who".into(), "x".into(), None);
        sleep(DELIVERED_MS).await;
        let sent = calls_to("/activate").len();
        if called {
            assert_eq!(sent, 1, "Segment's earlier request is evidence enough");
            assert_eq!(json_of(&fs.diagnose())["seenBySegment"], true);
            assert_eq!(json_of(&fs.diagnose())["sentBeforeSegmentKnew"], 0);
        } else {
            assert_eq!(
                sent, 0,
                "no call to Segment's API ({request:?}): still held"
            );
        }
        wasm_bindgen_futures::JsFuture::from(fs.close())
            .await
            .unwrap();
    }
}

#[wasm_bindgen_test]
async fn off_sends_at_once() {
    reset().await;
    let (fs, _) = started(gate_options("off", 3000)).await;
    fs.get_flag("who".into(), "x".into(), None);
    sleep(DELIVERED_MS).await;
    assert_eq!(calls_to("/activate").len(), 1);
}

#[wasm_bindgen_test]
async fn wait_gives_up_after_the_timeout_and_counts_it() {
    reset().await;
    let (fs, _) = started(gate_options("wait", 200)).await;
    fs.get_flag("who".into(), "x".into(), None);
    sleep(DELIVERED_MS).await;
    assert!(calls_to("/activate").is_empty());
    sleep(250).await;
    assert_eq!(calls_to("/activate").len(), 1);
    assert_eq!(json_of(&fs.diagnose())["sentBeforeSegmentKnew"], 1);
}

#[wasm_bindgen_test]
async fn track_mode_makes_segment_see_the_visitor_first() {
    reset().await;
    let (fs, analytics) = started(gate_options("track", 200)).await;
    assert!(fs.track("signup".into(), JsValue::UNDEFINED));
    fs.get_flag("who".into(), "x".into(), None);
    sleep(DELIVERED_MS).await;
    assert!(tracked(&analytics).is_empty() && calls_to("/activate").is_empty());
    for _ in 0..100 {
        if !tracked(&analytics).is_empty() {
            break;
        }
        sleep(5).await;
    }
    assert_eq!(
        tracked(&analytics)[0][0],
        "Flagship Visitor Seen",
        "the module's own call"
    );
    assert!(
        calls_to("/activate").is_empty(),
        "still waiting for that call to be dispatched"
    );
    sleep(DISPATCH_MS + DELIVERED_MS).await;
    assert_eq!(calls_to("/activate").len(), 1);
    assert_eq!(json_of(&fs.diagnose())["sentBeforeSegmentKnew"], 0);
}

/// Issue 20, part 5: the report of the module's own `analytics.track` reaches the gate whether
/// Segment emits it from inside `track()` or on the next tick; nothing is dropped while the
/// module is busy, so the first exposure leaves after one wait, not after a second timeout.
#[wasm_bindgen_test]
async fn issue_20_a_track_reported_from_inside_the_call_opens_the_gate() {
    for synchronous in [false, true] {
        reset().await;
        let analytics = install_emitting("analytics", "anon-emitting", synchronous);
        route("/campaigns", json!([echo(0)]));
        route("/activate", json!([{"status": 204, "body": ""}]));
        let fs = start(options(gate_options("track", 200))).await.unwrap();
        fs.get_flag("who".into(), "x".into(), None);
        wait_until("the exposure left", || calls_to("/activate").len() == 1).await;
        let d = json_of(&fs.diagnose());
        assert_eq!(tracked(&analytics).len(), 1, "synchronous: {synchronous}");
        assert_eq!(tracked(&analytics)[0][0], "Flagship Visitor Seen");
        assert_eq!(
            (&d["seenBySegment"], &d["sentBeforeSegmentKnew"]),
            (&json!(true), &json!(0)),
            "seen, not timed out (synchronous: {synchronous})"
        );
        wasm_bindgen_futures::JsFuture::from(fs.close())
            .await
            .unwrap();
    }
}

#[wasm_bindgen_test]
async fn the_stored_marker_skips_the_wait_on_the_next_page() {
    reset().await;
    let (fs, analytics) = started(gate_options("wait", 3000)).await;
    call(&analytics, "page", &[]);
    sleep(DISPATCH_MS + 30).await;
    drop(fs);
    reroute();
    let (fs, _) = started(gate_options("wait", 3000)).await;
    fs.get_flag("who".into(), "x".into(), None);
    sleep(DELIVERED_MS).await;
    assert_eq!(
        calls_to("/activate").len(),
        1,
        "no wait: Segment already knew this visitor"
    );
}

#[wasm_bindgen_test]
async fn a_new_identity_after_reset_waits_again() {
    reset().await;
    let (fs, analytics) = started(gate_options("wait", 3000)).await;
    call(&analytics, "page", &[]);
    sleep(DISPATCH_MS + 30).await;
    call(&analytics, "reset", &[]);
    sleep(DELIVERED_MS).await;
    fs.get_flag("who".into(), "x".into(), None);
    sleep(DELIVERED_MS).await;
    assert!(
        calls_to("/activate").is_empty(),
        "the new anonymousId is unknown to Segment"
    );
    call(&analytics, "page", &[]);
    sleep(DISPATCH_MS + DELIVERED_MS).await;
    let sent = calls_to("/activate");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["batch"][0]["vid"], "anon-reset-1");
}

#[wasm_bindgen_test]
async fn decisions_are_never_held() {
    reset().await;
    let (fs, _) = started(gate_options("wait", 3000)).await;
    assert_eq!(fs.status(), "READY");
    assert_eq!(calls_to("/campaigns").len(), 1);
}

#[wasm_bindgen_test]
async fn diagnose_names_each_segment_flavour_and_hides_the_key() {
    let cases: [(&str, fn()); 4] = [
        ("analytics.js 2.0", || {
            install_loaded("analytics", None, some("anon-1"))
        }),
        ("classic analytics.js", || {
            install_classic("analytics", 0, None, some("anon-1"))
        }),
        ("absent", || {}),
        ("blocked", || install_stub("analytics", -1, None, None)),
    ];
    for (flavour, install) in cases {
        reset().await;
        install();
        route("/campaigns", json!([echo(0)]));
        let fs = start(options(base_options())).await.unwrap();
        let d = json_of(&fs.diagnose());
        assert_eq!(d["segment"]["flavour"], flavour, "{d}");
        let text = d.to_string();
        assert!(!text.contains("key_test_123456"), "{text}");
        assert_eq!(d["apiKey"], "key_…(15)");
        assert_eq!(d["endpoints"]["decision"], "https://decision.test");
    }
    reset().await;
    route("/campaigns", json!([echo(0)]));
    let opts = options(base_options());
    js_sys::Reflect::set(
        &opts,
        &"analytics".into(),
        &npm_instance(10, None, some("anon-npm")),
    )
    .unwrap();
    let fs = start(opts).await.unwrap();
    let d = json_of(&fs.diagnose());
    assert_eq!(d["segment"]["flavour"], "analytics-next (npm)");
    assert_eq!(d["segment"]["idSource"], "segment");
    assert_eq!(d["visitorId"], "anon…(8)", "IDs are redacted");
}

#[wasm_bindgen_test]
async fn diagnose_sees_diverging_anonymous_id_copies() {
    reset().await;
    set_cookie("ajs_anonymous_id", "anon-cookie");
    set_local("ajs_anonymous_id", "\"anon-local\"");
    install_loaded("analytics", None, some("anon-cookie"));
    route("/campaigns", json!([echo(0)]));
    let fs = start(options(base_options())).await.unwrap();
    assert_eq!(
        json_of(&fs.diagnose())["segment"]["cookieAndStorageAgree"],
        false
    );
    set_local("ajs_anonymous_id", "\"anon-cookie\"");
    assert_eq!(
        json_of(&fs.diagnose())["segment"]["cookieAndStorageAgree"],
        true
    );
}

#[wasm_bindgen_test]
async fn a_flush_asked_while_held_goes_as_soon_as_segment_knows() {
    reset().await;
    route("events.test", json!([{"status": 200, "body": ""}]));
    let mut opts = gate_options("wait", 3000);
    opts["flushIntervalMs"] = json!(5000);
    let (fs, analytics) = started(opts).await;
    assert!(fs.track("held".into(), JsValue::UNDEFINED));
    let _ = fs.flush();
    sleep(DELIVERED_MS).await;
    assert!(calls_to("events.test").is_empty(), "held");
    call(&analytics, "page", &[]);
    sleep(DISPATCH_MS + DELIVERED_MS).await;
    let hits = hits_sent();
    assert_eq!(hits.len(), 1, "sent on release, not at the next 5 s tick");
    assert!(hits[0]["qt"].as_f64().unwrap() < 2000.0, "{}", hits[0]);
}
