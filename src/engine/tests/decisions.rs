//! The Decision API call and every way its answer can go wrong.

use super::*;
use crate::context::ContextValue;
use crate::decision::ValueKind;

fn started_with(reply: Reply) -> World {
    let mut world = World::new(config());
    world.segment.ids = ids(Some("user-1"), "anon-1");
    world.route("/campaigns", &[(reply, 0.0)]);
    world.route("/activate", &[(Reply::Status(204, String::new()), 0.0)]);
    world.start();
    world.advance(0.0);
    world
}

#[test]
fn request_is_exactly_the_contract() {
    let mut config = config();
    config
        .context
        .insert("plan".into(), ContextValue::String("pro".into()));
    config
        .context
        .insert("visits".into(), ContextValue::Number(3.0));
    config
        .context
        .insert("beta".into(), ContextValue::Bool(true));
    config.consent = false;
    let mut world = World::new(config);
    world.segment.ids = ids(Some("user-1"), "anon-1");
    world.route(
        "/campaigns",
        &[(Reply::Status(200, decision_for("user-1")), 0.0)],
    );
    world.start();
    let calls = world.sent_to("/campaigns");
    assert_eq!(calls.len(), 1);
    let request = &calls[0].request;
    assert_eq!(
        request.url,
        "https://decision.test/v2/env_test/campaigns?exposeAllKeys=true"
    );
    assert_eq!(request.method, crate::wire::Method::Post);
    let header = |name| {
        request
            .headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("x-api-key"), Some("key_test_123456"));
    assert_eq!(header("x-sdk-client"), Some("flagship-segment"));
    assert_eq!(header("x-sdk-version"), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(header("content-type"), Some("application/json"));
    assert_eq!(
        calls[0].body(),
        json!({
            "visitor_id": "user-1", "anonymous_id": "anon-1", "trigger_hit": false,
            "visitor_consent": false,
            "context": {"plan": "pro", "visits": 3, "beta": true, "fs_users": "user-1",
                        "fs_client": "flagship-segment", "fs_version": env!("CARGO_PKG_VERSION")}
        })
    );
}

#[test]
fn success_is_ready_and_the_flags_are_applied() {
    let mut world = started_with(Reply::Status(200, decision_for("user-1")));
    assert_eq!(world.status(), "READY");
    assert!(world.engine.last_error().is_none());
    assert_eq!(
        world.read("btnColor", ValueKind::String, false),
        Some(json!("blue"))
    );
    assert!(world.events.contains(&PageEvent::Flags));
}

#[test]
fn panic_mode_serves_defaults_and_exposes_nothing() {
    let body = json!({"visitorId": "user-1", "campaigns": [], "panic": true}).to_string();
    let mut world = started_with(Reply::Status(200, body));
    assert_eq!(world.status(), "PANIC");
    assert_eq!(world.read("btnColor", ValueKind::String, true), None);
    world.advance(200.0);
    assert!(
        world.sent_to("/activate").is_empty(),
        "no exposure in panic mode"
    );
}

#[test]
fn http_errors_carry_status_and_message() {
    for (status, body, message) in [
        (403, r#"{"message":"Forbidden"}"#, "http 403: Forbidden"),
        (429, "", "http 429: rate limited"),
        (500, "<html>oops</html>", "http 500: no message"),
    ] {
        let mut world = started_with(Reply::Status(status, body.into()));
        assert_eq!(world.status(), "FETCH_FAILED");
        let error = world.engine.last_error().unwrap();
        assert_eq!(error.code(), "DECISION_HTTP");
        assert!(error.message().contains(message), "{}", error.message());
        assert_eq!(world.read("btnColor", ValueKind::String, true), None);
    }
}

#[test]
fn malformed_and_wrong_typed_bodies() {
    for body in [
        "not json",
        "[]",
        r#"{"visitorId":"user-1","campaigns":"nope"}"#,
        r#"{"campaigns":[]}"#,
    ] {
        let world = started_with(Reply::Status(200, body.into()));
        assert_eq!(world.status(), "FETCH_FAILED", "{body}");
        assert_eq!(world.error_code(), Some("DECISION_MALFORMED"), "{body}");
    }
}

#[test]
fn a_malformed_campaign_does_not_spoil_the_others() {
    let body = json!({"visitorId": "user-1", "campaigns": [
        {"id": "bad", "variation": 7},
        {"id": "c1", "variationGroupId": "vg1", "variation": {"id": "v1",
            "modifications": {"type": "FLAG", "value": {"btnColor": "blue"}}}}
    ]})
    .to_string();
    let mut world = started_with(Reply::Status(200, body));
    assert_eq!(world.status(), "READY");
    assert_eq!(
        world.read("btnColor", ValueKind::String, false),
        Some(json!("blue"))
    );
    assert!(world
        .log_lines()
        .iter()
        .any(|l| l.contains("1 malformed campaign(s) ignored")));
}

#[test]
fn response_for_another_visitor_is_refused() {
    let mut world = started_with(Reply::Status(200, decision_for("someone-else")));
    assert_eq!(world.status(), "FETCH_FAILED");
    assert_eq!(world.error_code(), Some("VISITOR_MISMATCH"));
    assert_eq!(world.read("btnColor", ValueKind::String, true), None);
    world.advance(200.0);
    assert!(world.sent_to("/activate").is_empty());
}

#[test]
fn timeout_really_aborts_the_request() {
    let mut world = started_with(Reply::Hang);
    assert!(world.engine.is_deciding());
    world.advance(299.0);
    assert!(world.engine.is_deciding(), "not before timeoutMs");
    world.advance(1.0);
    assert_eq!(world.status(), "FETCH_FAILED");
    assert_eq!(world.error_code(), Some("DECISION_TIMEOUT"));
    let calls = world.sent_to("/campaigns");
    assert_eq!(calls.len(), 1);
    assert!(calls[0].aborted, "the request was aborted");
}

#[test]
fn slow_body_within_timeout_is_fine() {
    let mut world = World::new(config());
    world.route("/campaigns", &[(Reply::Echo, 150.0)]);
    world.start();
    world.advance(150.0);
    assert_eq!(world.status(), "READY");
}

#[test]
fn network_failure_is_reported() {
    let world = started_with(Reply::Network);
    assert_eq!(world.status(), "FETCH_FAILED");
    assert_eq!(world.error_code(), Some("DECISION_NETWORK"));
}

#[test]
fn cached_decision_for_the_same_identity_only() {
    let mut first = ready(config());
    first.advance(10.0);
    assert!(
        first.store.map.contains_key(CACHE_KEY),
        "kept once the page has its flags"
    );
    // The next page: the API is down.
    let mut world = World::with_store(config(), first.store.clone());
    world.route(
        "/campaigns",
        &[(Reply::Status(503, r#"{"message":"down"}"#.into()), 0.0)],
    );
    world.start();
    world.advance(0.0);
    assert_eq!(world.status(), "CACHED");
    assert_eq!(world.error_code(), Some("DECISION_HTTP"));
    assert_eq!(
        world.read("who", ValueKind::String, false),
        Some(json!("anon-1"))
    );
    world.reset();
    world.advance(10.0);
    assert_eq!(
        world.status(),
        "FETCH_FAILED",
        "no cache entry for the new identity"
    );
    assert_eq!(world.read("who", ValueKind::String, false), None);
}

#[test]
fn a_corrupt_decision_cache_is_discarded_not_thrown() {
    let mut store = FakeStore::default();
    store.map.insert(CACHE_KEY.into(), "[1,2".into());
    let mut world = World::with_store(config(), store);
    world.route("/campaigns", &[(Reply::Network, 0.0)]);
    world.start();
    world.advance(0.0);
    assert_eq!(world.status(), "FETCH_FAILED");
    assert!(world
        .log_lines()
        .iter()
        .any(|l| l.contains("stored decisions discarded")));
    assert!(!world.store.map.contains_key(CACHE_KEY));
}

#[test]
fn a_handle_dropped_right_after_start_still_keeps_the_decision() {
    let mut world = World::new(config());
    world.start();
    let token = world.sent[0].token;
    let answer = Ok(Response {
        status: 200,
        body: echo("anon-1").to_string(),
        last_modified: None,
        retry_after: None,
    });
    world.run(|e, now, s| e.handle_response(now, token, answer, s));
    assert_eq!(world.status(), "READY");
    assert!(
        !world.store.map.contains_key(CACHE_KEY),
        "written at the next timer"
    );
    let now = world.now;
    world.engine.write_pending(now);
    world.pump();
    assert!(world.store.map.contains_key(CACHE_KEY));
}
