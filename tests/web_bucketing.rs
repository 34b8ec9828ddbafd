//! Browser suite: `mode: "bucketing"` with the real bucketing engine (the second .wasm, loaded
//! from `bucketingEngineUrl` by its JS loader) and the file fetched through the page's fetch. The
//! mode's rules (initial file, failures, panic, polling) are the engine's, tested in
//! src/engine/tests/bucketing.rs.
#![cfg(target_arch = "wasm32")]

mod support;

use flagship_segment::{start, FlagshipSegment};
use serde_json::{json, Value};
use support::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const FILE_URL: &str = "https://cdn.test/env_test/bucketing.json";

/// Everyone gets `color`; `plan = pro` also gets `banner` (case-insensitively).
fn file(color: &str) -> Value {
    json!({"campaigns": [
        {"id": "c1", "name": "Colors", "type": "ab", "variationGroups": [{
            "id": "vg1", "targeting": {"targetingGroups": [{"targetings": [
                {"operator": "EQUALS", "key": "fs_all_users", "value": ""}]}]},
            "variations": [{"id": "v1", "allocation": 100,
                "modifications": {"type": "FLAG", "value": {"color": color}}}]}]},
        {"id": "c2", "type": "perso", "variationGroups": [{
            "id": "vg2", "targeting": {"targetingGroups": [{"targetings": [
                {"operator": "EQUALS", "key": "plan", "value": "PRO"}]}]},
            "variations": [{"id": "v2", "allocation": 100,
                "modifications": {"type": "FLAG", "value": {"banner": "pro"}}}]}]}
    ]})
}

fn served(file: &Value) -> Value {
    json!({"status": 200, "body": file.to_string(),
           "headers": {"last-modified": "Sun, 29 Nov 2026 08:00:00 GMT"}})
}

fn bucketing_options(polling_ms: u32) -> Value {
    let mut opts = base_options();
    opts["mode"] = json!("bucketing");
    opts["pollingIntervalMs"] = json!(polling_ms);
    opts["endpoints"]["cdn"] = json!("https://cdn.test");
    opts["bucketingEngineUrl"] = json!(bucketing_engine_url());
    opts
}

async fn started(opts: Value) -> (FlagshipSegment, JsValue) {
    let analytics = install_scripted("analytics", "anon-1", 10);
    route("/activate", json!([{"status": 204, "body": ""}]));
    (start(options(opts)).await.unwrap(), analytics)
}

fn read(fs: &FlagshipSegment, key: &str) -> Option<String> {
    fs.get_flag(key.into(), "default".into(), Some(false))
        .as_string()
}

#[wasm_bindgen_test]
async fn fetches_the_file_and_decides_locally() {
    reset().await;
    route("bucketing.json", json!([served(&file("blue"))]));
    let (fs, _) = started(bucketing_options(0)).await;
    assert_eq!(fs.status(), "READY");
    assert_eq!(read(&fs, "color").as_deref(), Some("blue"));
    assert_eq!(read(&fs, "banner").as_deref(), Some("default"));
    let calls = calls();
    assert_eq!(calls.len(), 1, "one GET, no /campaigns");
    assert_eq!(
        (calls[0].method.as_str(), calls[0].url.as_str()),
        ("GET", FILE_URL)
    );
    // Exposure is the same as in API mode.
    fs.get_flag("color".into(), "x".into(), None);
    flushed(&fs).await;
    let activation = &calls_to("/activate")[0].body["batch"][0];
    assert_eq!(
        activation,
        &json!({"vid": "anon-1", "aid": null, "caid": "vg1", "vaid": "v1", "qt": activation["qt"]})
    );
}

/// What the module sends and reads of HTTP caching, through the page's fetch: `If-Modified-Since`
/// from the last `Last-Modified`. Each step's answers repeat until the next step routes others,
/// so every state is waited for, not timed. (The interval, and that `close()` stops polling, are
/// the engine's: src/engine/tests/bucketing.rs, on a fake clock.)
#[wasm_bindgen_test]
async fn polling_honours_last_modified_and_keeps_the_last_good_file() {
    reset().await;
    let file_route = |replies: Value| {
        reroute();
        route("/activate", json!([{"status": 204, "body": ""}]));
        route("bucketing.json", replies);
    };
    file_route(json!([served(&file("blue")), {"status": 304, "body": ""}]));
    let flags = recorder();
    let (fs, _) = started(bucketing_options(60)).await;
    fs.on("flags".into(), flags.clone().into());
    assert_eq!(read(&fs, "color").as_deref(), Some("blue"));
    wait_until("two polls answered 304", || {
        calls_to("bucketing.json").len() >= 3
    })
    .await;
    let gets = calls_to("bucketing.json");
    assert_eq!(
        gets[1].headers["if-modified-since"],
        "Sun, 29 Nov 2026 08:00:00 GMT"
    );
    assert_eq!(
        read(&fs, "color").as_deref(),
        Some("blue"),
        "304 keeps the file"
    );
    file_route(json!([{"status": 200, "body": "{\"campaigns\": [{\"id\": 7}]}"}]));
    wait_until("a malformed file polled", || {
        let error = fs.last_error();
        !error.is_null() && code_of(&error) == "BUCKETING_MALFORMED"
    })
    .await;
    assert_eq!(fs.status(), "READY");
    assert_eq!(
        read(&fs, "color").as_deref(),
        Some("blue"),
        "a malformed file keeps the last good one"
    );
    file_route(json!([served(&file("red"))]));
    wait_until("the new file applied", || {
        read(&fs, "color").as_deref() == Some("red")
    })
    .await;
    assert_eq!(recorded(&flags).last().unwrap()["color"], "red");
    wasm_bindgen_futures::JsFuture::from(fs.close())
        .await
        .unwrap();
}

#[wasm_bindgen_test]
async fn initial_bucketing_as_text_and_bad_mode() {
    reset().await;
    let mut opts = bucketing_options(0);
    opts["initialBucketing"] = json!(file("teal").to_string());
    let (fs, _) = started(opts).await;
    assert_eq!(read(&fs, "color").as_deref(), Some("teal"));
    let mut bad = base_options();
    bad["mode"] = json!("local");
    let error = start(options(bad)).await.expect_err("rejected");
    assert_eq!(code_of(&error), "INVALID_OPTIONS");
}
