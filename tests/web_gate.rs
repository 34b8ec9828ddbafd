//! Browser suite: what the seen-by-Segment gate (`ensureSegmentKnows`) hears from the page
//! (Segment's events, its earlier calls in Resource Timing, its own `track`), and `diagnose()`.
//! The gate's rules (what is held, for how long, the stored marker, what is counted) are the
//! engine's, tested on a fake clock in src/engine/tests/gate.rs.
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

/// What the gate waits for, as the shell hears it: analytics.js's own `page` event, emitted once
/// the call is delivered, reaches the engine and releases the held exposure. (When it is held,
/// for how long, and what is counted are the engine's rules: src/engine/tests/gate.rs.)
#[wasm_bindgen_test]
async fn segments_page_event_releases_what_the_gate_holds() {
    reset().await;
    // Longer than wait_until's 10 s: only Segment's event can release the exposure in time.
    let (fs, analytics) = started(gate_options("wait", 60_000)).await;
    let warnings = recorder();
    fs.on("warning".into(), warnings.clone().into());
    fs.get_flag("who".into(), "x".into(), None);
    flushed(&fs).await;
    assert!(
        calls_to("/activate").is_empty(),
        "held: Segment has not seen this visitor"
    );
    assert_eq!(json_of(&fs.diagnose())["seenBySegment"], false);
    assert_eq!(recorded(&warnings)[0]["code"], "HITS_HELD");
    call(&analytics, "page", &[]);
    wait_until("the exposure left", || !calls_to("/activate").is_empty()).await;
    assert_eq!(calls_to("/activate").len(), 1);
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
        let url = segment_api_on_this_server(&analytics, request).await;
        route("/campaigns", json!([echo(0)]));
        route("/activate", json!([{"status": 204, "body": ""}]));
        let fs = start(options(gate_options("wait", 60_000))).await.unwrap();
        fs.get_flag("who".into(), "x".into(), None);
        // The module's watch of Resource Timing has seen that request.
        if let Some(url) = &url {
            resource_entry_delivered(url).await;
        }
        if called {
            wait_until("the exposure left", || !calls_to("/activate").is_empty()).await;
            assert_eq!(
                calls_to("/activate").len(),
                1,
                "Segment's earlier request is evidence enough"
            );
            assert_eq!(json_of(&fs.diagnose())["seenBySegment"], true);
            assert_eq!(json_of(&fs.diagnose())["sentBeforeSegmentKnew"], 0);
        } else {
            flushed(&fs).await;
            assert_eq!(
                calls_to("/activate").len(),
                0,
                "no call to Segment's API ({request:?}): still held"
            );
            assert_eq!(json_of(&fs.diagnose())["seenBySegment"], false);
        }
        wasm_bindgen_futures::JsFuture::from(fs.close())
            .await
            .unwrap();
    }
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
