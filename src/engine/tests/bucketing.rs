//! `mode: "bucketing"`: local decisions from the environment's file, by the bucketing engine.

use super::*;
use crate::config::Mode;
use crate::decision::ValueKind;

const DATE: &str = "Sun, 29 Nov 2026 08:00:00 GMT";

/// Everyone gets `color`; `plan = pro` also gets `banner` (case-insensitively).
fn file(color: &str) -> String {
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
    .to_string()
}

fn bucketing(polling_ms: u32) -> Config {
    let mut config = config();
    config.mode = Mode::Bucketing;
    config.polling_interval_ms = polling_ms;
    config
}

fn color(world: &mut World) -> Option<String> {
    world
        .read("color", ValueKind::String, false)
        .and_then(|v| v.as_str().map(String::from))
}

#[test]
fn fetches_the_file_and_decides_locally() {
    let mut world = World::new(bucketing(0));
    world.route(
        "bucketing.json",
        &[(Reply::Modified(file("blue"), DATE.into()), 0.0)],
    );
    world.route("/activate", &[(Reply::Status(204, String::new()), 0.0)]);
    world.start();
    world.advance(0.0);
    assert_eq!(world.status(), "READY");
    assert_eq!(color(&mut world).as_deref(), Some("blue"));
    assert_eq!(world.read("banner", ValueKind::String, false), None);
    assert_eq!(world.sent.len(), 1, "one GET, no /campaigns");
    let get = &world.sent[0].request;
    assert_eq!(
        (get.method, get.url.as_str()),
        (
            crate::wire::Method::Get,
            "https://cdn.test/env_test/bucketing.json"
        )
    );
    // Exposure is the same as in API mode.
    world.read("color", ValueKind::String, true);
    world.advance(150.0);
    let activation = world.activations_sent()[0].clone();
    assert_eq!(
        activation,
        json!({"vid": "anon-1", "aid": null, "caid": "vg1", "vaid": "v1", "qt": activation["qt"]})
    );
}

#[test]
fn initial_bucketing_needs_no_request_and_changes_need_none_either() {
    let mut world = World::new(bucketing(0));
    world.route_all_ok();
    world.start_with(Some(file("green")));
    assert_eq!(world.status(), "READY");
    assert_eq!(color(&mut world).as_deref(), Some("green"));
    assert!(
        world.sent.is_empty(),
        "zero requests before the first decision"
    );
    world.identify("user-U");
    world.advance(DISPATCH_MS);
    assert_eq!(world.status(), "READY");
    assert_eq!(world.visitor().as_deref(), Some("user-U"));
    let mut context = Context::new();
    context.insert("plan".into(), ContextValue::String("pro".into()));
    world.run(|e, now, _| e.update_context(now, context));
    assert_eq!(
        world.read("banner", ValueKind::String, false),
        Some(json!("pro"))
    );
    assert!(
        world.sent.is_empty(),
        "identity and context changes decided without a request"
    );
}

#[test]
fn polling_honours_last_modified_and_keeps_the_last_good_file() {
    let mut world = World::new(bucketing(60));
    world.route(
        "bucketing.json",
        &[
            (Reply::Modified(file("blue"), DATE.into()), 0.0),
            (Reply::Status(304, String::new()), 0.0),
            (
                Reply::Status(200, r#"{"campaigns": [{"id": 7}]}"#.into()),
                0.0,
            ),
            (Reply::Modified(file("red"), DATE.into()), 0.0),
        ],
    );
    world.start();
    world.advance(0.0);
    assert_eq!(color(&mut world).as_deref(), Some("blue"));
    world.advance(60.0);
    let gets = world.sent_to("bucketing.json");
    assert_eq!(gets.len(), 2);
    assert!(gets[1]
        .request
        .headers
        .contains(&("if-modified-since", DATE.into())));
    assert_eq!(
        color(&mut world).as_deref(),
        Some("blue"),
        "304 keeps the file"
    );
    world.advance(60.0);
    assert_eq!(world.status(), "READY");
    assert_eq!(world.error_code(), Some("BUCKETING_MALFORMED"));
    assert_eq!(
        color(&mut world).as_deref(),
        Some("blue"),
        "a malformed file keeps the last good one"
    );
    world.advance(60.0);
    assert_eq!(color(&mut world).as_deref(), Some("red"));
    assert!(
        world
            .events
            .iter()
            .filter(|e| **e == PageEvent::Flags)
            .count()
            >= 2
    );
    world.run(|e, now, _| e.close(now));
    let polls = world.sent_to("bucketing.json").len();
    world.advance(150.0);
    assert_eq!(
        world.sent_to("bucketing.json").len(),
        polls,
        "close stops polling"
    );
}

#[test]
fn unavailable_file_serves_defaults_with_a_reason() {
    let mut world = World::new(bucketing(0));
    world.route(
        "bucketing.json",
        &[(Reply::Status(404, String::new()), 0.0)],
    );
    world.start();
    world.advance(0.0);
    assert_eq!(world.status(), "FETCH_FAILED");
    assert_eq!(world.error_code(), Some("BUCKETING_FETCH"));
    assert_eq!(color(&mut world), None);
    assert!(!world.engine.is_deciding(), "start() resolves");
}

#[test]
fn the_engine_failing_to_load_serves_defaults_with_a_reason() {
    let mut world = World::new(bucketing(0));
    world.engine_fails = true;
    world.start_with(Some(file("blue")));
    assert_eq!(world.status(), "FETCH_FAILED");
    assert_eq!(world.error_code(), Some("BUCKETING_FETCH"));
    assert!(!world.engine.is_deciding());
}

#[test]
fn panic_file_serves_defaults() {
    let mut world = World::new(bucketing(0));
    let mut panicked: J = serde_json::from_str(&file("blue")).unwrap();
    panicked["panic"] = json!(true);
    world.start_with(Some(panicked.to_string()));
    assert_eq!(world.status(), "PANIC");
    assert_eq!(color(&mut world), None);
}

#[test]
fn a_refused_initial_file_is_fetched_instead() {
    let mut world = World::new(bucketing(0));
    world.route(
        "bucketing.json",
        &[(Reply::Modified(file("teal"), DATE.into()), 0.0)],
    );
    world.start_with(Some("{not json".into()));
    world.advance(0.0);
    assert_eq!(color(&mut world).as_deref(), Some("teal"));
    assert!(world
        .log_lines()
        .iter()
        .any(|l| l.contains("initialBucketing refused")));
}

#[test]
fn issue_22_a_decision_the_bucketing_engine_refuses_fails_with_its_own_reason() {
    let mut world = World::new(bucketing(0));
    world.route_all_ok();
    world.route("bucketing.json", &[(Reply::Status(200, file("red")), 0.0)]);
    world.decide_fails = true;
    world.start();
    world.advance(100.0);
    assert_eq!(world.status(), "FETCH_FAILED");
    assert_eq!(
        world.error_code(),
        Some("BUCKETING_MALFORMED"),
        "not DECISION_MALFORMED"
    );
    assert_eq!(color(&mut world), None, "defaults");
}
