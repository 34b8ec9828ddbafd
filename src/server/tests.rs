use super::*;
use crate::context::ContextValue;
use serde_json::{json, Value as J};

fn options(extra: J) -> ServerOptions {
    let mut base = json!({"envId": "env_test", "apiKey": "key_test_123456",
        "endpoints": {"decision": "https://decision.test"}});
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    read_options(&base.to_string()).unwrap()
}

fn planned(extra: J) -> Option<(Identity, Request)> {
    plan(&options(extra)).unwrap()
}

#[test]
fn no_segment_cookie_no_request_and_no_id_minted() {
    for cookie in [
        json!(null),
        json!(""),
        json!("theme=dark; ajs_user_id=null"),
        json!("ajs_anonymous_id=%22%22"),
    ] {
        assert!(planned(json!({ "cookie": cookie })).is_none(), "{cookie}");
    }
    let anonymous_only = json!({"cookie": "ajs_user_id=u1", "idPolicy": "anonymous"});
    assert!(
        planned(anonymous_only).is_none(),
        "the userId is never sent under anonymous"
    );
}

#[test]
fn every_form_segment_writes_is_read() {
    let forms = [
        "ajs_anonymous_id=9f1c-aa; ajs_user_id=user-42",
        "ajs_anonymous_id=%229f1c-aa%22; ajs_user_id=%22user-42%22",
        " other=1;ajs_user_id=\"user-42\" ; ajs_anonymous_id=\"9f1c-aa\"",
    ];
    for cookie in forms {
        let (identity, _) = planned(json!({ "cookie": cookie })).unwrap();
        assert_eq!(
            (identity.visitor_id(), identity.anonymous_id()),
            ("user-42", Some("9f1c-aa")),
            "{cookie}"
        );
    }
}

#[test]
fn the_request_is_the_browsers_for_that_identity() {
    let (identity, request) = planned(json!({
        "cookie": "ajs_anonymous_id=anon-1; ajs_user_id=user-1",
        "context": {"plan": "pro", "fs_users": "spoof"},
        "consent": false,
    }))
    .unwrap();
    let mut config = options(json!({})).config;
    config
        .context
        .insert("plan".into(), ContextValue::String("pro".into()));
    let browser = campaigns_request(&config, &identity, &config.context, false);
    assert_eq!(request, browser);
    let body: J = serde_json::from_str(&request.body).unwrap();
    assert_eq!(body["visitor_id"], "user-1");
    assert_eq!(body["anonymous_id"], "anon-1");
    assert_eq!(
        body["context"]["fs_users"], "user-1",
        "never the value given"
    );
    assert_eq!(body["visitor_consent"], false);
    assert_eq!(
        request.url,
        "https://decision.test/v2/env_test/campaigns?exposeAllKeys=true"
    );
}

#[test]
fn options_are_validated_as_in_the_browser() {
    let code = |text: J| read_options(&text.to_string()).unwrap_err();
    let base = json!({"envId": "env_test", "apiKey": "key_test_123456"});
    assert_eq!(
        code(json!({"apiKey": "key_test_123456"})),
        Error::option("envId", "is required and must be a non-empty string")
    );
    for (key, value) in [
        ("visitorId", json!("me")),
        ("anonymousId", json!("me")),
        ("timeoutMs", json!(-1)),
        ("timeoutMs", json!("fast")),
        ("endpoints", json!({"decision": "ftp://x"})),
        ("context", json!({"a": {"b": 1}})),
        ("context", json!([1])),
        ("idPolicy", json!("device")),
        ("consent", json!("yes")),
        ("cookie", json!(3)),
        ("envId", json!("has space")),
    ] {
        let mut text = base.clone();
        text[key] = value.clone();
        assert_eq!(code(text).code(), "INVALID_OPTIONS", "{key}: {value}");
    }
    assert_eq!(code(json!("nope")).code(), "INVALID_OPTIONS");
    let ok =
        options(json!({"wasm": {}, "fetch": null, "colour": "red", "context": {"fs_client": "x"}}));
    assert_eq!(ok.warnings.len(), 2, "{:?}", ok.warnings);
}

#[test]
fn an_invalid_segment_id_is_an_error_not_a_fallback() {
    let long = "x".repeat(crate::identity::MAX_ID_CHARS + 1);
    let cookie = format!("ajs_user_id={long}; ajs_anonymous_id=anon-1");
    let error = plan(&options(json!({ "cookie": cookie }))).unwrap_err();
    assert_eq!(error.code(), "INVALID_VISITOR_ID");
}

#[test]
fn the_answer_becomes_the_initial_decision_with_its_flags() {
    let options = options(json!({"cookie": "ajs_anonymous_id=anon-1; ajs_user_id=user-1"}));
    let body = json!({"visitorId": "user-1", "campaigns": [
        {"id": "c1", "variationGroupId": "vg1", "variation": {"id": "v1",
            "modifications": {"type": "FLAG", "value": {"btnColor": "blue", "gone": null}}}},
        {"id": "c2", "variationGroupId": "vg2", "variation": {"id": "v2",
            "modifications": {"type": "FLAG", "value": {"btnColor": "red", "size": 3}}}}
    ]});
    let initial: J =
        serde_json::from_str(&interpret(&options, 200, &body.to_string()).unwrap()).unwrap();
    assert_eq!(initial["visitorId"], "user-1");
    assert_eq!(initial["anonymousId"], "anon-1");
    assert_eq!(initial["flags"], json!({"btnColor": "blue", "size": 3}));
    assert_eq!(initial["decision"]["visitorId"], "user-1");
    assert_eq!(
        initial["decision"]["campaigns"].as_array().unwrap().len(),
        2
    );
}

#[test]
fn an_answer_for_someone_else_or_an_error_is_refused() {
    let options = options(json!({"cookie": "ajs_anonymous_id=anon-1"}));
    let other = json!({"visitorId": "anon-2", "campaigns": []}).to_string();
    assert_eq!(
        interpret(&options, 200, &other).unwrap_err().code(),
        "VISITOR_MISMATCH"
    );
    let limited = interpret(&options, 429, "{\"message\":\"slow down\"}").unwrap_err();
    assert_eq!(limited.code(), "DECISION_HTTP");
    assert_eq!(
        interpret(&options, 200, "[").unwrap_err().code(),
        "DECISION_MALFORMED"
    );
}

#[test]
fn the_plan_and_errors_read_as_json() {
    let options = options(json!({"cookie": "ajs_anonymous_id=anon-1", "timeoutMs": 800}));
    let planned = plan(&options).unwrap();
    let written: J = serde_json::from_str(&write_plan(&options, planned.as_ref())).unwrap();
    assert_eq!(written["visitorId"], "anon-1");
    assert_eq!(written["anonymousId"], J::Null);
    assert_eq!(written["timeoutMs"], 800);
    assert_eq!(written["request"]["method"], "POST");
    assert_eq!(
        written["request"]["headers"]["x-api-key"],
        "key_test_123456"
    );
    let body: J = serde_json::from_str(written["request"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["visitor_id"], "anon-1");
    assert_eq!(write_plan(&options, None), "null");
    let error: J = serde_json::from_str(&write_error(&Error::VisitorMismatch)).unwrap();
    assert_eq!(error["code"], "VISITOR_MISMATCH");
}

/// Calls an export as the loader does: arguments in `alloc`ed buffers, the output read back.
fn through_the_abi(options: &str, answer: Option<(u32, &str)>) -> (u32, J) {
    use exports::*;
    let put = |text: &str| {
        let ptr = alloc(text.len());
        // SAFETY: `alloc(len)` gave `len` writable bytes.
        unsafe { core::ptr::copy_nonoverlapping(text.as_ptr(), ptr, text.len()) };
        ptr
    };
    let input = put(options);
    // SAFETY: each pointer is readable for its length; each buffer is freed once.
    let status = unsafe {
        let status = match answer {
            None => plan(input, options.len()),
            Some((code, body)) => {
                let body_ptr = put(body);
                let status = interpret(input, options.len(), code, body_ptr, body.len());
                free(body_ptr, body.len());
                status
            }
        };
        free(input, options.len());
        status
    };
    // SAFETY: the output stays valid until the next call.
    let output = unsafe { core::slice::from_raw_parts(output_ptr(), output_len()) };
    (status, serde_json::from_slice(output).unwrap())
}

#[test]
fn the_abi_answers_json_or_a_coded_error() {
    let options = json!({"envId": "env_test", "apiKey": "key_test_123456",
        "cookie": "ajs_anonymous_id=anon-1"})
    .to_string();
    let (status, planned) = through_the_abi(&options, None);
    assert_eq!(status, 0);
    assert_eq!(planned["visitorId"], "anon-1");
    let body = json!({"visitorId": "anon-1", "campaigns": []}).to_string();
    let (status, initial) = through_the_abi(&options, Some((200, &body)));
    assert_eq!((status, &initial["flags"]), (0, &json!({})));
    let (status, error) = through_the_abi("{\"envId\":1}", None);
    assert_eq!(
        (status, error["code"].as_str()),
        (1, Some("INVALID_OPTIONS"))
    );
    let no_cookie = json!({"envId": "env_test", "apiKey": "key_test_123456"}).to_string();
    assert_eq!(through_the_abi(&no_cookie, None), (0, J::Null));
}
