//! Where the visitor ID comes from, in every state Segment can be in.

use super::*;
use crate::config::{Fallback, IdPolicy};
use crate::engine::Probe;

fn decided_for(world: &World, visitor: &str, anonymous: Option<&str>) {
    let calls = world.sent_to("/campaigns");
    assert_eq!(calls.len(), 1, "one decision request");
    let body = calls[0].body();
    assert_eq!(body["visitor_id"], visitor);
    assert_eq!(body["anonymous_id"], json!(anonymous));
    assert_eq!(body["context"]["fs_users"], visitor);
}

#[test]
fn loaded_analytics_anonymous_visitor() {
    let world = ready(config());
    assert_eq!(world.visitor().as_deref(), Some("anon-1"));
    assert_eq!(world.engine.identity().unwrap().anonymous_id(), None);
    decided_for(&world, "anon-1", None);
    assert!(world.subscribed, "identify and reset are followed");
    assert!(world.settled > 0, "start() resolves");
}

#[test]
fn identified_visitor_uses_continuity() {
    let mut world = World::new(config());
    world.segment.ids = ids(Some("user-7"), "anon-1");
    world.route_all_ok();
    world.start();
    world.advance(0.0);
    assert_eq!(world.status(), "READY");
    assert_eq!(
        world.engine.identity().unwrap().anonymous_id(),
        Some("anon-1")
    );
    decided_for(&world, "user-7", Some("anon-1"));
}

#[test]
fn snippet_stub_then_loaded_instance() {
    let mut world = World::new(config());
    world.route_all_ok();
    world.segment_loads_after(120.0);
    world.start();
    assert!(world.engine.is_deciding(), "start() waits for analytics.js");
    assert!(world.sent_to("/campaigns").is_empty());
    world.advance(200.0);
    assert_eq!(world.status(), "READY");
    decided_for(&world, "anon-1", None);
    let request = &world.sent_to("/campaigns")[0];
    assert!(
        request.at >= T0 + 120.0 && request.at <= T0 + 145.0,
        "found within one 25 ms probe of loading"
    );
}

#[test]
fn a_stub_that_never_loads_times_out_without_request() {
    let mut world = World::new(config());
    world.segment.probe = Some(Probe::Loading);
    world.start();
    world.advance(299.0);
    assert!(world.engine.is_deciding());
    world.advance(1.0);
    assert_eq!(world.status(), "SEGMENT_UNAVAILABLE");
    assert_eq!(world.error_code(), Some("SEGMENT_TIMEOUT"));
    assert!(
        world.sent.is_empty(),
        "no request without a Segment identity"
    );
    assert!(
        !world.engine.is_deciding(),
        "start() resolves with defaults"
    );
}

#[test]
fn absent_segment_is_strict_by_default() {
    let mut world = World::new(config());
    world.segment.probe = Some(Probe::Absent);
    world.segment.stored = ids(None, "stored-anon");
    world.start();
    world.advance(300.0);
    assert_eq!(world.status(), "SEGMENT_UNAVAILABLE");
    assert_eq!(world.error_code(), Some("SEGMENT_UNAVAILABLE"));
    assert_eq!(world.visitor(), None);
    assert!(world.sent.is_empty());
    assert_eq!(
        world.read("btnColor", crate::decision::ValueKind::String, true),
        None
    );
}

#[test]
fn storage_fallback_uses_what_segment_stored() {
    let mut config = config();
    config.fallback = Fallback::Storage;
    let mut world = World::new(config);
    world.segment.probe = Some(Probe::Absent);
    world.segment.stored = ids(Some("user-9"), "anon-9");
    world.route_all_ok();
    world.start();
    world.advance(300.0);
    assert_eq!(world.status(), "READY");
    decided_for(&world, "user-9", Some("anon-9"));
    assert_eq!(world.engine.id_source(), IdSource::Storage);
}

#[test]
fn storage_fallback_asks_nothing_of_the_segment_that_is_not_there() {
    let mut config = config();
    config.fallback = Fallback::Storage;
    config.segment_experiment_viewed = true;
    config.ensure_segment_knows = EnsureSegmentKnows::Track;
    config.segment_knows_timeout_ms = 100;
    let mut world = World::new(config);
    world.segment.probe = Some(Probe::Absent);
    world.segment.stored = ids(None, "anon-9");
    world.route_all_ok();
    world.start();
    world.advance(300.0);
    world.who();
    world.advance(5_000.0);
    assert!(
        world.tracked.is_empty(),
        "no Experiment Viewed, no Flagship Visitor Seen"
    );
    assert_eq!(world.activations_sent().len(), 1, "sent all the same");
}

#[test]
fn storage_fallback_never_mints_an_id() {
    let mut config = config();
    config.fallback = Fallback::Storage;
    let mut world = World::new(config);
    world.segment.probe = Some(Probe::Absent);
    world.start();
    world.advance(300.0);
    assert_eq!(world.status(), "SEGMENT_UNAVAILABLE");
    assert_eq!(world.visitor(), None);
    assert!(world.sent.is_empty());
}

#[test]
fn anonymous_id_policy_pins_the_anonymous_id() {
    let mut config = config();
    config.id_policy = IdPolicy::Anonymous;
    let mut world = World::new(config);
    world.segment.ids = ids(Some("user-7"), "anon-1");
    world.route_all_ok();
    world.start();
    world.advance(0.0);
    decided_for(&world, "anon-1", None);
}

#[test]
fn refused_segment_id_sends_nothing_and_says_why() {
    let mut world = World::new(config());
    world.segment.ids = ids(Some("bad\nid"), "anon-1");
    world.start();
    assert_eq!(world.status(), "INVALID_VISITOR_ID");
    let error = world.engine.last_error().unwrap();
    assert_eq!(error.code(), "INVALID_VISITOR_ID");
    assert!(error.message().contains("control character"));
    assert!(world.sent.is_empty());
    assert!(
        world.events.iter().any(|e| matches!(
            e,
            PageEvent::Warning {
                code: "INVALID_VISITOR_ID",
                ..
            }
        )),
        "the page hears of it"
    );
}

#[test]
fn ids_and_keys_are_not_logged_in_full() {
    let mut world = World::new(config());
    world.segment.ids = ids(Some("user-secret-identifier"), "anon-secret-identifier");
    world.route(
        "/campaigns",
        &[(Reply::Status(500, r#"{"message":"boom"}"#.into()), 0.0)],
    );
    world.start();
    world.advance(0.0);
    assert_eq!(world.status(), "FETCH_FAILED");
    let lines = world.log_lines();
    assert!(!lines.is_empty(), "debug level logs something");
    for line in lines {
        assert!(!line.contains("user-secret-identifier"), "{line}");
        assert!(!line.contains("anon-secret-identifier"), "{line}");
        assert!(!line.contains("key_test_123456"), "{line}");
    }
}

#[test]
fn a_reading_that_fails_sends_nothing() {
    let mut world = World::new(config());
    world.segment.broken = true;
    world.start();
    assert!(world.sent.is_empty());
    assert_eq!(world.visitor(), None);
}

#[test]
fn the_gate_watches_segment_calls_only_when_on() {
    let world = ready(config());
    assert!(!world.watching, "ensureSegmentKnows: off");
    let mut config = config();
    config.ensure_segment_knows = EnsureSegmentKnows::Wait;
    config.segment_knows_timeout_ms = 1000;
    let mut world = ready(config);
    assert!(world.watching);
    world.advance(1000.0);
    assert!(!world.watching, "for as long as the gate would wait");
}
