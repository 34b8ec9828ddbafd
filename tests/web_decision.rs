//! Browser suite: the Decision API call through the page's fetch (the request as sent, an abort,
//! a network failure, a `Retry-After` header read), and decisions kept in localStorage across page
//! views. What each answer means (panic, errors, malformed bodies, another visitor) is the
//! engine's, tested in src/engine/tests/decisions.rs.
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
async fn timeout_really_aborts_the_request() {
    let fs = started_with(json!({"hang": true})).await;
    assert_eq!(fs.status(), "FETCH_FAILED");
    assert_eq!(code_of(&fs.last_error()), "DECISION_TIMEOUT");
    let calls = calls_to("/campaigns");
    assert_eq!(calls.len(), 1);
    assert!(calls[0].aborted, "the fetch signal was aborted");
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
    // Written at the engine's next timer.
    wait_until("the decision is stored", || {
        get_local("flagship-segment:env_test:decisions").is_some()
    })
    .await;
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
