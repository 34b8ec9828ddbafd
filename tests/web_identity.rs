//! Browser suite: where the visitor ID comes from, in every state Segment can be in.
#![cfg(target_arch = "wasm32")]

mod support;

use flagship_segment::start;
use serde_json::json;
use support::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn started(opts: serde_json::Value) -> flagship_segment::FlagshipSegment {
    start(options(opts)).await.expect("start resolves")
}

fn decided_for(visitor: &str, anonymous: Option<&str>) {
    let calls = calls_to("/campaigns");
    assert_eq!(calls.len(), 1, "one decision request");
    assert_eq!(calls[0].body["visitor_id"], visitor);
    assert_eq!(calls[0].body["anonymous_id"], json!(anonymous));
    assert_eq!(calls[0].body["context"]["fs_users"], visitor);
}

#[wasm_bindgen_test]
async fn loaded_analytics_anonymous_visitor() {
    reset().await;
    install_loaded("analytics", None, some("anon-1"));
    route("/campaigns", json!([decision_for("anon-1")]));
    let fs = started(base_options()).await;
    assert_eq!(fs.status(), "READY");
    assert_eq!(fs.visitor_id().as_deref(), Some("anon-1"));
    assert_eq!(fs.anonymous_id(), None);
    decided_for("anon-1", None);
}

#[wasm_bindgen_test]
async fn loaded_analytics_identified_visitor_uses_continuity() {
    reset().await;
    install_loaded("analytics", some("user-7"), some("anon-1"));
    route("/campaigns", json!([decision_for("user-7")]));
    let fs = started(base_options()).await;
    assert_eq!(fs.status(), "READY");
    assert_eq!(fs.visitor_id().as_deref(), Some("user-7"));
    assert_eq!(fs.anonymous_id().as_deref(), Some("anon-1"));
    decided_for("user-7", Some("anon-1"));
}

#[wasm_bindgen_test]
async fn snippet_stub_then_loaded_instance() {
    reset().await;
    install_stub("analytics", 120, None, some("anon-late"));
    route("/campaigns", json!([decision_for("anon-late")]));
    let fs = started(base_options()).await;
    assert_eq!(fs.status(), "READY");
    decided_for("anon-late", None);
}

#[wasm_bindgen_test]
async fn npm_analytics_browser_instance_with_promise_user() {
    reset().await;
    route("/campaigns", json!([decision_for("anon-npm")]));
    let mut opts = options(base_options());
    js_sys::Reflect::set(
        &opts,
        &"analytics".into(),
        &npm_instance(50, None, some("anon-npm")),
    )
    .unwrap();
    let fs = start(std::mem::replace(&mut opts, JsValue::NULL))
        .await
        .unwrap();
    assert_eq!(fs.status(), "READY");
    decided_for("anon-npm", None);
}

#[wasm_bindgen_test]
async fn npm_instance_that_never_loads_times_out_without_request() {
    reset().await;
    let opts = options(base_options());
    js_sys::Reflect::set(
        &opts,
        &"analytics".into(),
        &npm_instance(-1, None, some("x")),
    )
    .unwrap();
    let fs = start(opts).await.unwrap();
    assert_eq!(fs.status(), "SEGMENT_UNAVAILABLE");
    assert_eq!(code_of(&fs.last_error()), "SEGMENT_TIMEOUT");
    assert!(calls().is_empty(), "no request without a Segment identity");
}

#[wasm_bindgen_test]
async fn classic_analytics_waits_for_initialize() {
    reset().await;
    install_classic("analytics", 80, None, some("anon-classic"));
    route("/campaigns", json!([decision_for("anon-classic")]));
    let fs = started(base_options()).await;
    assert_eq!(fs.visitor_id().as_deref(), Some("anon-classic"));
    decided_for("anon-classic", None);
}

#[wasm_bindgen_test]
async fn renamed_global_key() {
    reset().await;
    install_loaded("segment", None, some("anon-renamed"));
    route("/campaigns", json!([decision_for("anon-renamed")]));
    let mut opts = base_options();
    opts["globalKey"] = json!("segment");
    let fs = started(opts).await;
    assert_eq!(fs.status(), "READY");
    decided_for("anon-renamed", None);
}

#[wasm_bindgen_test]
async fn absent_segment_is_strict_by_default() {
    reset().await;
    let fs = started(base_options()).await;
    assert_eq!(fs.status(), "SEGMENT_UNAVAILABLE");
    assert_eq!(code_of(&fs.last_error()), "SEGMENT_UNAVAILABLE");
    assert_eq!(fs.visitor_id(), None);
    assert!(calls().is_empty());
    let default = fs.get_flag("btnColor".into(), "red".into(), None);
    assert_eq!(default.as_string().as_deref(), Some("red"));
}

#[wasm_bindgen_test]
async fn blocked_segment_stub_never_loads() {
    reset().await;
    install_stub("analytics", -1, None, None);
    let fs = started(base_options()).await;
    assert_eq!(fs.status(), "SEGMENT_UNAVAILABLE");
    assert_eq!(code_of(&fs.last_error()), "SEGMENT_TIMEOUT");
    assert!(calls().is_empty());
}

#[wasm_bindgen_test]
async fn storage_fallback_reads_each_stored_form_and_writes_nothing() {
    let forms = [
        ("cookie", "anon-raw-1"),
        ("cookie", "%22anon-quoted-2%22"),
        ("local", "\"anon-json-3\""),
    ];
    for (place, stored) in forms {
        reset().await;
        match place {
            "cookie" => set_cookie("ajs_anonymous_id", stored),
            _ => set_local("ajs_anonymous_id", stored),
        }
        let expected = stored.trim_matches('"').replace("%22", "");
        route("/campaigns", json!([decision_for(&expected)]));
        let cookies_before = cookies();
        let mut opts = base_options();
        opts["fallback"] = json!("storage");
        let fs = started(opts).await;
        assert_eq!(fs.status(), "READY", "{stored}");
        decided_for(&expected, None);
        assert_eq!(cookies(), cookies_before, "fallback must not write cookies");
        assert_eq!(
            get_local("ajs_user_id"),
            None,
            "fallback must not write storage"
        );
    }
}

#[wasm_bindgen_test]
async fn storage_fallback_with_identified_user() {
    reset().await;
    set_cookie("ajs_anonymous_id", "anon-9");
    set_local("ajs_user_id", "\"user-9\"");
    route("/campaigns", json!([decision_for("user-9")]));
    let mut opts = base_options();
    opts["fallback"] = json!("storage");
    let fs = started(opts).await;
    decided_for("user-9", Some("anon-9"));
    assert_eq!(fs.anonymous_id().as_deref(), Some("anon-9"));
}

#[wasm_bindgen_test]
async fn storage_fallback_never_mints_an_id() {
    reset().await;
    let mut opts = base_options();
    opts["fallback"] = json!("storage");
    let fs = started(opts).await;
    assert_eq!(fs.status(), "SEGMENT_UNAVAILABLE");
    assert_eq!(fs.visitor_id(), None);
    assert!(calls().is_empty());
    assert_eq!(get_local("ajs_anonymous_id"), None);
    assert!(!cookies().contains("ajs_anonymous_id"));
}

#[wasm_bindgen_test]
async fn anonymous_id_policy_pins_the_anonymous_id() {
    reset().await;
    install_loaded("analytics", some("user-7"), some("anon-1"));
    route("/campaigns", json!([decision_for("anon-1")]));
    let mut opts = base_options();
    opts["idPolicy"] = json!("anonymous");
    let fs = started(opts).await;
    assert_eq!(fs.visitor_id().as_deref(), Some("anon-1"));
    decided_for("anon-1", None);
}

#[wasm_bindgen_test]
async fn refused_segment_id_sends_nothing_and_says_why() {
    reset().await;
    install_loaded("analytics", some("bad\nid"), some("anon-1"));
    let fs = started(base_options()).await;
    assert_eq!(fs.status(), "INVALID_VISITOR_ID");
    let error = fs.last_error();
    assert_eq!(code_of(&error), "INVALID_VISITOR_ID");
    assert!(message_of(&error).contains("control character"));
    assert!(calls().is_empty());
}

#[wasm_bindgen_test]
async fn numeric_user_id_is_sent_as_segment_sends_it() {
    reset().await;
    install_numeric_user("analytics", 42.0, "anon-1");
    route("/campaigns", json!([decision_for("42")]));
    let fs = started(base_options()).await;
    assert_eq!(fs.visitor_id().as_deref(), Some("42"));
    decided_for("42", Some("anon-1"));
}

#[wasm_bindgen_test]
async fn options_never_accept_a_visitor_id() {
    reset().await;
    for forbidden in ["visitorId", "anonymousId", "userId", "visitor_id"] {
        let mut opts = base_options();
        opts[forbidden] = json!("page-chosen");
        let error = start(options(opts)).await.expect_err("rejected");
        assert_eq!(code_of(&error), "INVALID_OPTIONS");
        assert!(
            message_of(&error).contains(forbidden),
            "{}",
            message_of(&error)
        );
    }
    assert!(calls().is_empty());
}

#[wasm_bindgen_test]
async fn bad_options_reject_naming_the_field() {
    reset().await;
    let cases = [
        (json!({"apiKey": "k"}), "envId"),
        (json!({"envId": "e"}), "apiKey"),
        (json!({"envId": 5, "apiKey": "k"}), "envId"),
        (
            json!({"envId": "e", "apiKey": "k", "timeoutMs": "fast"}),
            "timeoutMs",
        ),
        (
            json!({"envId": "e", "apiKey": "k", "endpoints": {"decision": "ftp://x"}}),
            "endpoints.decision",
        ),
        (
            json!({"envId": "e", "apiKey": "k", "context": {"plan": {"nested": 1}}}),
            "context.plan",
        ),
        (
            json!({"envId": "e", "apiKey": "k", "fallback": "cookie"}),
            "fallback",
        ),
        (
            json!({"envId": "e", "apiKey": "k", "idPolicy": "mine"}),
            "idPolicy",
        ),
        (
            json!({"envId": "e", "apiKey": "k", "analytics": 3}),
            "analytics",
        ),
        (json!("envId"), "options"),
    ];
    for (opts, field) in cases {
        let error = start(options(opts.clone())).await.expect_err("rejected");
        assert_eq!(code_of(&error), "INVALID_OPTIONS", "{opts}");
        assert!(
            message_of(&error).contains(&format!("`{field}`")),
            "{opts}: {}",
            message_of(&error)
        );
    }
}

#[wasm_bindgen_test]
async fn hostile_analytics_getter_does_not_throw_into_the_page() {
    reset().await;
    js_sys::Reflect::set(
        &web_sys::window().unwrap(),
        &"analytics".into(),
        &throwing_object(),
    )
    .unwrap();
    let fs = started(base_options()).await;
    assert_eq!(fs.status(), "SEGMENT_UNAVAILABLE");
    assert!(calls().is_empty());
}

#[wasm_bindgen_test]
async fn ids_and_keys_are_not_logged_in_full() {
    reset().await;
    console_capture();
    install_loaded(
        "analytics",
        some("user-secret-identifier"),
        some("anon-secret-identifier"),
    );
    route(
        "/campaigns",
        json!([{"status": 500, "body": "{\"message\":\"boom\"}"}]),
    );
    let mut opts = base_options();
    opts["logLevel"] = json!("debug");
    let fs = started(opts).await;
    assert_eq!(fs.status(), "FETCH_FAILED");
    let lines = console_lines();
    assert!(!lines.is_empty(), "debug level logs something");
    for line in lines {
        assert!(!line.contains("user-secret-identifier"), "{line}");
        assert!(!line.contains("anon-secret-identifier"), "{line}");
        assert!(!line.contains("key_test_123456"), "{line}");
    }
}
