//! Browser suite: the Decision API call and every way its answer can go wrong.
#![cfg(target_arch = "wasm32")]

mod support;

use flagship_segment::{start, FlagshipSegment};
use serde_json::json;
use support::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn started_with(reply: serde_json::Value) -> FlagshipSegment {
    reset().await;
    install_loaded("analytics", some("user-1"), some("anon-1"));
    route("/campaigns", json!([reply]));
    start(options(base_options()))
        .await
        .expect("start resolves")
}

#[wasm_bindgen_test]
async fn request_is_exactly_the_contract() {
    reset().await;
    install_loaded("analytics", some("user-1"), some("anon-1"));
    route("/campaigns", json!([decision_for("user-1")]));
    let mut opts = base_options();
    opts["context"] = json!({"plan": "pro", "visits": 3, "beta": true, "fs_users": "spoof"});
    opts["consent"] = json!(false);
    start(options(opts)).await.unwrap();
    let calls = calls_to("/campaigns");
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(
        call.url,
        "https://decision.test/v2/env_test/campaigns?exposeAllKeys=true"
    );
    assert_eq!(call.method, "POST");
    assert_eq!(call.headers["x-api-key"], "key_test_123456");
    assert_eq!(call.headers["x-sdk-client"], "flagship-segment");
    assert_eq!(call.headers["x-sdk-version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(call.headers["content-type"], "application/json");
    assert_eq!(
        call.body,
        json!({
            "visitor_id": "user-1", "anonymous_id": "anon-1", "trigger_hit": false,
            "visitor_consent": false,
            "context": {"plan": "pro", "visits": 3, "beta": true, "fs_users": "user-1",
                        "fs_client": "flagship-segment", "fs_version": env!("CARGO_PKG_VERSION")}
        })
    );
}

#[wasm_bindgen_test]
async fn default_endpoints_are_production() {
    reset().await;
    install_loaded("analytics", None, some("anon-1"));
    route("decision.flagship.io", json!([decision_for("anon-1")]));
    let opts = json!({"envId": "env_test", "apiKey": "key_test", "logLevel": "none"});
    let fs = start(options(opts)).await.unwrap();
    assert_eq!(fs.status(), "READY");
    assert_eq!(
        calls()[0].url,
        "https://decision.flagship.io/v2/env_test/campaigns?exposeAllKeys=true"
    );
}

#[wasm_bindgen_test]
async fn success_is_ready() {
    let fs = started_with(decision_for("user-1")).await;
    assert_eq!(fs.status(), "READY");
    assert!(fs.last_error().is_null());
}

#[wasm_bindgen_test]
async fn panic_mode_serves_defaults() {
    let body = json!({"visitorId": "user-1", "campaigns": [], "panic": true}).to_string();
    let fs = started_with(json!({"status": 200, "body": body})).await;
    assert_eq!(fs.status(), "PANIC");
    assert_eq!(
        fs.get_flag("btnColor".into(), "red".into(), None)
            .as_string()
            .as_deref(),
        Some("red")
    );
    sleep(DELIVERED_MS).await;
    assert!(
        calls_to("/activate").is_empty(),
        "no exposure in panic mode"
    );
}

#[wasm_bindgen_test]
async fn http_errors_carry_status_and_message() {
    for (status, body, message) in [
        (403, r#"{"message":"Forbidden"}"#, "http 403: Forbidden"),
        (429, "", "http 429: rate limited"),
        (500, "<html>oops</html>", "http 500: no message"),
    ] {
        let fs = started_with(json!({"status": status, "body": body})).await;
        assert_eq!(fs.status(), "FETCH_FAILED");
        let error = fs.last_error();
        assert_eq!(code_of(&error), "DECISION_HTTP");
        assert!(
            message_of(&error).contains(message),
            "{}",
            message_of(&error)
        );
        assert_eq!(
            fs.get_flag("btnColor".into(), "red".into(), None)
                .as_string()
                .as_deref(),
            Some("red")
        );
    }
}

#[wasm_bindgen_test]
async fn malformed_and_wrong_typed_bodies() {
    for body in [
        "not json",
        "[]",
        r#"{"visitorId":"user-1","campaigns":"nope"}"#,
        r#"{"campaigns":[]}"#,
    ] {
        let fs = started_with(json!({"status": 200, "body": body})).await;
        assert_eq!(fs.status(), "FETCH_FAILED", "{body}");
        assert_eq!(code_of(&fs.last_error()), "DECISION_MALFORMED", "{body}");
    }
}

#[wasm_bindgen_test]
async fn a_malformed_campaign_does_not_spoil_the_others() {
    let body = json!({"visitorId": "user-1", "campaigns": [
        {"id": "bad", "variation": 7},
        {"id": "c1", "variationGroupId": "vg1", "variation": {"id": "v1",
            "modifications": {"type": "FLAG", "value": {"btnColor": "blue"}}}}
    ]})
    .to_string();
    let fs = started_with(json!({"status": 200, "body": body})).await;
    assert_eq!(fs.status(), "READY");
    assert_eq!(
        fs.get_flag("btnColor".into(), "red".into(), Some(false))
            .as_string()
            .as_deref(),
        Some("blue")
    );
}

#[wasm_bindgen_test]
async fn response_for_another_visitor_is_refused() {
    let fs = started_with(decision_for("someone-else")).await;
    assert_eq!(fs.status(), "FETCH_FAILED");
    assert_eq!(code_of(&fs.last_error()), "VISITOR_MISMATCH");
    assert_eq!(
        fs.get_flag("btnColor".into(), "red".into(), None)
            .as_string()
            .as_deref(),
        Some("red")
    );
    sleep(DELIVERED_MS).await;
    assert!(calls_to("/activate").is_empty());
}

#[wasm_bindgen_test]
async fn timeout_really_aborts_the_request() {
    let fs = started_with(json!({"hang": true})).await;
    assert_eq!(fs.status(), "FETCH_FAILED");
    assert_eq!(code_of(&fs.last_error()), "DECISION_TIMEOUT");
    let calls = calls_to("/campaigns");
    assert_eq!(calls.len(), 1);
    assert!(calls[0].aborted, "the fetch signal was aborted");
}

#[wasm_bindgen_test]
async fn slow_body_within_timeout_is_fine() {
    let mut reply = decision_for("user-1");
    reply["delayMs"] = json!(150);
    let fs = started_with(reply).await;
    assert_eq!(fs.status(), "READY");
}

#[wasm_bindgen_test]
async fn network_failure_is_reported() {
    let fs = started_with(json!({"networkError": true})).await;
    assert_eq!(fs.status(), "FETCH_FAILED");
    assert_eq!(code_of(&fs.last_error()), "DECISION_NETWORK");
}

/// The `/campaigns` answer inside [`decision_for`]'s route reply.
fn campaigns_of(visitor: &str) -> serde_json::Value {
    serde_json::from_str(decision_for(visitor)["body"].as_str().unwrap()).unwrap()
}

fn field(object: &wasm_bindgen::JsValue, name: &str) -> wasm_bindgen::JsValue {
    js_sys::Reflect::get(object, &name.into()).unwrap()
}

#[wasm_bindgen_test]
async fn a_repeat_page_view_within_decision_max_age_asks_nothing() {
    reset().await;
    install_loaded("analytics", some("user-1"), some("anon-1"));
    route("/campaigns", json!([decision_for("user-1")]));
    let mut opts = base_options();
    opts["decisionMaxAgeMs"] = json!(300_000);
    let first = start(options(opts.clone())).await.unwrap();
    sleep(50).await;
    wasm_bindgen_futures::JsFuture::from(first.close())
        .await
        .unwrap();
    assert!(get_local("flagship-segment:env_test:decisions").is_some());
    let second = start(options(opts)).await.unwrap();
    assert_eq!(second.status(), "READY");
    assert_eq!(
        second.get_flag("btnColor".into(), "grey".into(), None),
        "blue"
    );
    assert_eq!(calls_to("/campaigns").len(), 1, "only the first view asked");
}

#[wasm_bindgen_test]
async fn a_429_is_shown_by_diagnose_and_holds_the_next_page_view() {
    reset().await;
    install_loaded("analytics", some("user-1"), some("anon-1"));
    route(
        "/campaigns",
        json!([{"status": 429, "body": "{\"message\":\"slow down\"}",
                "headers": {"retry-after": "30", "access-control-expose-headers": "retry-after"}}]),
    );
    let first = start(options(base_options())).await.unwrap();
    assert_eq!(code_of(&first.last_error()), "DECISION_HTTP");
    let until = field(&first.diagnose(), "rateLimitedUntil").as_f64();
    let now = js_sys::Date::now();
    assert!(
        until.is_some_and(|t| t > now + 25_000.0 && t <= now + 30_000.0),
        "{until:?}"
    );
    wasm_bindgen_futures::JsFuture::from(first.close())
        .await
        .unwrap();
    let second = start(options(base_options())).await.unwrap();
    assert_eq!(second.status(), "FETCH_FAILED");
    assert_eq!(code_of(&second.last_error()), "DECISION_RATE_LIMITED");
    assert_eq!(
        calls_to("/campaigns").len(),
        1,
        "the second view sent nothing"
    );
}

#[wasm_bindgen_test]
async fn a_stale_initial_decision_is_refused_and_the_first_warning_listener_hears_it() {
    reset().await;
    install_loaded("analytics", some("user-1"), some("anon-1"));
    route("/campaigns", json!([decision_for("user-1")]));
    let mut opts = base_options();
    opts["initialDecision"] = json!({"visitorId": "anon-1", "anonymousId": null,
        "decision": campaigns_of("anon-1"), "flags": {}});
    let fs = start(options(opts)).await.unwrap();
    assert_eq!(fs.status(), "READY");
    let asked = calls_to("/campaigns");
    assert_eq!(asked.len(), 1, "decided for Segment's identity instead");
    assert_eq!(asked[0].body["visitor_id"], "user-1");
    let first = recorder();
    fs.on("warning".into(), first.clone().into());
    let heard = recorded(&first);
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert_eq!(heard[0]["code"], "STALE_IDENTITY");
    let second = recorder();
    fs.on("warning".into(), second.clone().into());
    assert!(
        recorded(&second).is_empty(),
        "told once, to the first listener"
    );
}

#[wasm_bindgen_test]
async fn a_matching_initial_decision_needs_no_request() {
    reset().await;
    install_loaded("analytics", some("user-1"), some("anon-1"));
    route("/campaigns", json!([decision_for("user-1")]));
    let mut opts = base_options();
    opts["initialDecision"] = json!({"visitorId": "user-1", "anonymousId": "anon-1",
        "decision": campaigns_of("user-1"), "flags": {}})
    .to_string()
    .into();
    let fs = start(options(opts)).await.unwrap();
    assert_eq!(fs.status(), "READY");
    assert_eq!(fs.get_flag("btnColor".into(), "grey".into(), None), "blue");
    assert!(calls_to("/campaigns").is_empty());
}
