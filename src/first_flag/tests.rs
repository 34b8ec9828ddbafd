use super::*;
use crate::decision::cache::DecisionCache;
use crate::engine::tests::{echo, T0};
use crate::identity::SegmentIds;
use serde_json::{json, Value as J};

/// The Decision API's answer for `visitor` in the engine's tests.
fn echo_body(visitor: &str) -> String {
    echo(visitor).to_string()
}

fn options(extra: J) -> String {
    let mut options = json!({"envId": "env_test", "apiKey": "key_test_123456",
        "endpoints": {"decision": "https://decision.test", "cdn": "https://cdn.test"}});
    for (key, value) in extra.as_object().unwrap() {
        options[key] = value.clone();
    }
    options.to_string()
}

fn ids(user: Option<&str>, anonymous: &str) -> SegmentIds {
    SegmentIds {
        user_id: user.map(Into::into),
        anonymous_id: Some(anonymous.into()),
    }
}

fn loaded(user: Option<&str>, anonymous: &str) -> Segment {
    Segment::Read(ids(user, anonymous), Context::new())
}

fn sent(next: Next) -> Request {
    match next {
        Next::Send(request) => request,
        other => panic!("expected a request, got {other:?}"),
    }
}

fn codes(first: &mut FirstFlag) -> Vec<&'static str> {
    first
        .take_warnings()
        .into_iter()
        .map(|(code, _)| code)
        .collect()
}

#[test]
fn issue_21_the_first_request_is_the_one_the_engine_builds_for_segments_identity() {
    let text = options(json!({"context": {"plan": "pro"}, "traits": ["tier"]}));
    let mut first = FirstFlag::new(&text).unwrap();
    let mut traits = Context::new();
    traits.insert(
        "tier".into(),
        crate::context::ContextValue::String("gold".into()),
    );
    let request = sent(first.decide(
        T0,
        Segment::Read(ids(Some("u-1"), "a-1"), traits.clone()),
        Stored::default(),
    ));
    let config = crate::options::read_options(&text, crate::options::Reader::Browser)
        .unwrap()
        .config;
    let identity = crate::identity::resolve(&ids(Some("u-1"), "a-1"), config.id_policy).unwrap();
    let mut context = config.context.clone();
    context.insert(
        "tier".into(),
        crate::context::ContextValue::String("gold".into()),
    );
    assert_eq!(
        request,
        campaigns_request(&config, &identity, &context, true)
    );
    let body: J = serde_json::from_str(&request.body).unwrap();
    assert_eq!(
        (&body["visitor_id"], &body["anonymous_id"]),
        (&json!("u-1"), &json!("a-1"))
    );
    assert_eq!(body["context"]["tier"], "gold");
}

#[test]
fn issue_21_an_answer_gives_typed_reads_metadata_and_the_exposures_to_hand_over() {
    let mut first = FirstFlag::new(&options(json!({}))).unwrap();
    sent(first.decide(T0, loaded(None, "a-1"), Stored::default()));
    first.answer(
        T0,
        Answer::Http(200, &echo_body("a-1"), None),
        Some(ids(None, "a-1")),
    );
    assert_eq!(first.status(), Status::Ready);
    assert_eq!(
        first.read("btnColor", ValueKind::String),
        (Some(&Value::from("blue")), true)
    );
    assert_eq!(
        first.read("btnColor", ValueKind::Number),
        (None, false),
        "another type"
    );
    assert_eq!(codes(&mut first), ["FLAG_TYPE_MISMATCH"]);
    assert_eq!(first.read("nope", ValueKind::Any), (None, false));
    assert_eq!(first.metadata("banner").unwrap().variation_id, "v2");
    let initial: J = serde_json::from_str(&first.initial_decision().unwrap()).unwrap();
    assert_eq!(initial["visitorId"], "a-1");
    assert_eq!(initial["decision"]["campaigns"][0]["id"], "c1");
    assert!(first.is_fresh());
}

#[test]
fn issue_21_an_answer_for_an_identity_segment_no_longer_reports_is_not_applied() {
    let mut first = FirstFlag::new(&options(json!({}))).unwrap();
    sent(first.decide(T0, loaded(None, "a-1"), Stored::default()));
    // reset() while the request was out.
    first.answer(
        T0,
        Answer::Http(200, &echo_body("a-1"), None),
        Some(ids(None, "a-2")),
    );
    assert_eq!(first.status(), Status::Refreshing);
    assert_eq!(first.read("btnColor", ValueKind::String), (None, false));
    assert!(
        first.initial_decision().is_none(),
        "the full module decides for a-2"
    );
    // An answer about someone else than asked is refused as the engine refuses it.
    let mut first = FirstFlag::new(&options(json!({}))).unwrap();
    sent(first.decide(T0, loaded(None, "a-1"), Stored::default()));
    first.answer(
        T0,
        Answer::Http(200, &echo_body("a-9"), None),
        Some(ids(None, "a-1")),
    );
    assert_eq!(
        first.last_error().map(Error::code),
        Some("VISITOR_MISMATCH")
    );
    assert_eq!(first.status(), Status::FetchFailed);
}

#[test]
fn issue_21_failures_leave_defaults_with_their_codes() {
    let cases: [(Segment, Stored, &str, &str); 4] = [
        (
            Segment::Absent,
            Stored::default(),
            "SEGMENT_UNAVAILABLE",
            "SEGMENT_UNAVAILABLE",
        ),
        (
            Segment::TimedOut,
            Stored::default(),
            "SEGMENT_TIMEOUT",
            "SEGMENT_UNAVAILABLE",
        ),
        (
            loaded(None, ""),
            Stored::default(),
            "INVALID_VISITOR_ID",
            "INVALID_VISITOR_ID",
        ),
        (
            loaded(None, "a b\n"),
            Stored::default(),
            "INVALID_VISITOR_ID",
            "INVALID_VISITOR_ID",
        ),
    ];
    for (segment, stored, code, status) in cases {
        let mut first = FirstFlag::new(&options(json!({}))).unwrap();
        assert_eq!(
            first.decide(T0, segment.clone(), stored),
            Next::Done,
            "{segment:?}"
        );
        assert_eq!(first.last_error().map(Error::code), Some(code));
        assert_eq!(first.status().as_str(), status);
        assert!(first.initial_decision().is_none());
    }
    for (answer, code) in [
        (Answer::TimedOut, "DECISION_TIMEOUT"),
        (Answer::Network("Failed to fetch"), "DECISION_NETWORK"),
        (Answer::Http(500, "{}", None), "DECISION_HTTP"),
        (
            Answer::Http(200, "{\"campaigns\":", None),
            "DECISION_MALFORMED",
        ),
    ] {
        let mut first = FirstFlag::new(&options(json!({}))).unwrap();
        sent(first.decide(T0, loaded(None, "a-1"), Stored::default()));
        first.answer(T0, answer, Some(ids(None, "a-1")));
        assert_eq!(first.last_error().map(Error::code), Some(code));
        assert_eq!(first.status(), Status::FetchFailed);
    }
}

#[test]
fn issue_21_segments_stored_ids_are_used_only_under_fallback_storage() {
    let stored = Stored {
        segment_ids: ids(None, "stored-1"),
        ..Stored::default()
    };
    let mut strict = FirstFlag::new(&options(json!({}))).unwrap();
    assert_eq!(
        strict.decide(T0, Segment::Absent, stored.clone()),
        Next::Done
    );
    assert_eq!(strict.status(), Status::SegmentUnavailable);
    let mut fallback = FirstFlag::new(&options(json!({"fallback": "storage"}))).unwrap();
    let request = sent(fallback.decide(T0, Segment::Absent, stored));
    assert!(request.body.contains("\"visitor_id\":\"stored-1\""));
}

#[test]
fn issue_21_initial_decision_is_used_for_the_same_identity_only() {
    let initial = json!({"visitorId": "a-1", "decision": serde_json::from_str::<J>(&echo_body("a-1")).unwrap()});
    let mut first = FirstFlag::new(&options(json!({"initialDecision": initial}))).unwrap();
    assert_eq!(
        first.decide(T0, loaded(None, "a-1"), Stored::default()),
        Next::Done
    );
    assert_eq!(first.status(), Status::Ready);
    assert!(codes(&mut first).is_empty());
    let mut stale = FirstFlag::new(&options(json!({"initialDecision": initial}))).unwrap();
    sent(stale.decide(T0, loaded(None, "a-2"), Stored::default()));
    assert_eq!(codes(&mut stale), ["STALE_IDENTITY"]);
}

/// The stored decisions of a page that decided for `a-1` with `context` at `at`.
fn stored_decision(at: f64) -> String {
    let identity = crate::identity::resolve(&ids(None, "a-1"), Default::default()).unwrap();
    let mut cache = DecisionCache::default();
    cache.store(&identity, "{}", &echo_body("a-1"), at);
    cache.encode()
}

#[test]
fn issue_21_a_young_stored_decision_is_reused_and_handed_over_as_not_fresh() {
    let stored = Stored {
        decisions: Some(stored_decision(T0 - 1_000.0)),
        ..Stored::default()
    };
    let mut first = FirstFlag::new(&options(json!({"decisionMaxAgeMs": 60_000}))).unwrap();
    assert_eq!(
        first.decide(T0, loaded(None, "a-1"), stored.clone()),
        Next::Done
    );
    assert_eq!(first.status(), Status::Ready);
    assert!(!first.is_fresh(), "its age is kept");
    let mut old = FirstFlag::new(&options(json!({"decisionMaxAgeMs": 500}))).unwrap();
    sent(old.decide(T0, loaded(None, "a-1"), stored.clone()));
    let mut off = FirstFlag::new(&options(json!({}))).unwrap();
    sent(off.decide(T0, loaded(None, "a-1"), stored));
}

#[test]
fn issue_21_a_failed_request_serves_the_visitors_cached_decision_as_the_full_module_does() {
    let stored = Stored {
        decisions: Some(stored_decision(T0 - 60_000.0)),
        ..Stored::default()
    };
    for failure in [
        Answer::TimedOut,
        Answer::Network("offline"),
        Answer::Http(503, "", None),
    ] {
        let mut first = FirstFlag::new(&options(json!({}))).unwrap();
        sent(first.decide(T0, loaded(None, "a-1"), stored.clone()));
        first.answer(T0, failure, Some(ids(None, "a-1")));
        assert_eq!(first.status(), Status::Cached, "{:?}", first.last_error());
        assert!(
            first.flags().campaign_of("btnColor").is_some(),
            "the cached flags"
        );
        assert!(!first.is_fresh());
    }
    // Another visitor's stored decision is not theirs: defaults.
    let mut other = FirstFlag::new(&options(json!({}))).unwrap();
    sent(other.decide(T0, loaded(None, "a-2"), stored));
    other.answer(T0, Answer::TimedOut, Some(ids(None, "a-2")));
    assert_eq!(other.status(), Status::FetchFailed);
}

#[test]
fn issue_21_a_stored_rate_limit_sends_nothing_and_a_429_is_stored() {
    let limited = Stored {
        decisions: Some(stored_decision(T0 - 60_000.0)),
        not_before: Some(crate::decision::rate_limit::encode(T0 + 5_000.0)),
        ..Stored::default()
    };
    let mut first = FirstFlag::new(&options(json!({}))).unwrap();
    assert_eq!(first.decide(T0, loaded(None, "a-1"), limited), Next::Done);
    assert_eq!(
        first.status(),
        Status::Cached,
        "the visitor's last good decision"
    );
    assert_eq!(
        first.last_error().map(Error::code),
        Some("DECISION_RATE_LIMITED")
    );
    assert!(
        first.initial_decision().is_none(),
        "the full module finds it again"
    );

    let mut first = FirstFlag::new(&options(json!({}))).unwrap();
    sent(first.decide(T0, loaded(None, "a-1"), Stored::default()));
    first.answer(
        T0,
        Answer::Http(429, "", Some("30")),
        Some(ids(None, "a-1")),
    );
    assert_eq!(first.take_rate_limit(), Some(T0 + 30_000.0));
    assert_eq!(first.take_rate_limit(), None, "once");
}

#[test]
fn issue_21_bucketing_mode_asks_the_engine_with_the_full_context() {
    let mut first = FirstFlag::new(&options(
        json!({"mode": "bucketing", "context": {"plan": "pro"}}),
    ))
    .unwrap();
    let Next::Bucketing {
        file,
        file_request,
        visitor_id,
        context,
    } = first.decide(T0, loaded(None, "a-1"), Stored::default())
    else {
        panic!("expected the bucketing engine");
    };
    assert_eq!(file, None);
    assert_eq!(file_request.url, "https://cdn.test/env_test/bucketing.json");
    assert_eq!(visitor_id, "a-1");
    let context: J = serde_json::from_str(&context).unwrap();
    assert_eq!(
        (&context["plan"], &context["fs_users"]),
        (&json!("pro"), &json!("a-1"))
    );
    first.answer(T0, Answer::Local(&echo_body("a-1")), Some(ids(None, "a-1")));
    assert_eq!(first.status(), Status::Ready);
    let mut refused = FirstFlag::new(&options(json!({"mode": "bucketing"}))).unwrap();
    refused.decide(T0, loaded(None, "a-1"), Stored::default());
    refused.answer(T0, Answer::BucketingMalformed("no campaigns"), None);
    assert_eq!(
        refused.last_error().map(Error::code),
        Some("BUCKETING_MALFORMED")
    );
}

#[test]
fn issue_21_options_are_refused_as_start_refuses_them() {
    let error = FirstFlag::new(&options(json!({"visitorId": "me"}))).unwrap_err();
    assert_eq!(error.code(), "INVALID_OPTIONS");
    let first = FirstFlag::new(&options(json!({"typo": 1}))).unwrap();
    assert_eq!(first.option_warnings(), ["unknown option `typo` ignored"]);
    assert_eq!(first.storage_prefix(), "flagship-segment:env_test:");
}

#[test]
fn issue_21_hit_calls_are_checked_as_the_full_module_checks_them() {
    let mut first = FirstFlag::new(&options(json!({}))).unwrap();
    let call = |text: &str| -> Vec<Value> {
        match crate::json::parse(text).unwrap() {
            Value::Array(items) => items,
            _ => unreachable!(),
        }
    };
    assert_eq!(
        first.check_hit(&call(r#"["track","buy"]"#), true, None),
        Ok(None),
        "no identity yet"
    );
    sent(first.decide(T0, loaded(Some("u-1"), "a-1"), Stored::default()));
    let decided = first.identity().cloned();
    assert_eq!(
        first.check_hit(&call(r#"["track","buy",{"value":3}]"#), true, None),
        Ok(decided.clone())
    );
    assert_eq!(
        first.check_hit(
            &call(r#"["track","buy"]"#),
            true,
            Some(ids(Some("u-1"), "a-1"))
        ),
        Ok(decided),
        "Segment unchanged"
    );
    // Segment identified someone else since: the hit is theirs, as the full module would send it.
    let now = first
        .check_hit(
            &call(r#"["track","buy"]"#),
            true,
            Some(ids(Some("u-2"), "a-1")),
        )
        .unwrap()
        .unwrap();
    assert_eq!((now.visitor_id(), now.anonymous_id()), ("u-2", Some("a-1")));
    // IDs it would not use: the identity decided for.
    let kept = first
        .check_hit(&call(r#"["track","buy"]"#), true, Some(ids(None, "")))
        .unwrap()
        .unwrap();
    assert_eq!(kept.visitor_id(), "u-1");
    assert_eq!(
        first.check_hit(&call(r#"["track","buy"]"#), false, None),
        Ok(None),
        "no consent"
    );
    assert_eq!(
        first.check_hit(&call(r#"["track",""]"#), true, None),
        Err(Error::InvalidHit("ea is required"))
    );
    assert_eq!(
        first.check_hit(
            &call(r#"["item",{"transactionId":"T","name":"n"}]"#),
            true,
            None
        ),
        Err(Error::InvalidHit("ic is required"))
    );
    assert_eq!(
        first.check_hit(&call(r#"["track",{"value":"3"}]"#), true, None),
        Err(Error::InvalidHit("action must be a string"))
    );
}
