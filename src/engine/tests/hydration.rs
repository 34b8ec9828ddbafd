//! `initialDecision`: a decision made on the server for the identity in Segment's cookies, used
//! with no request only when it is the identity the module reads from Segment.

use super::*;

fn initial(visitor: &str, anonymous: Option<&str>) -> String {
    json!({"visitorId": visitor, "anonymousId": anonymous, "flags": {},
        "decision": echo(visitor)})
    .to_string()
}

fn hydrated(world: &mut World, decision: String) {
    world.route_all_ok();
    world.start_preloaded(Preloaded {
        decision: Some(decision),
        ..Preloaded::default()
    });
}

/// Starts as the module taking over from the first stage, which decided `decision` for
/// `visitor` (a fresh answer) and saw the page read (exposing) `exposed`.
fn taken_over(
    world: &mut World,
    visitor: (&str, Option<&str>),
    decision: Option<String>,
    exposed: &[&str],
) {
    world.route_all_ok();
    world.start_preloaded(Preloaded {
        decision,
        takeover: Some(Takeover {
            visitor_id: Some(visitor.0.into()),
            anonymous_id: visitor.1.map(Into::into),
            fresh: true,
            dispatched: false,
            exposed: exposed.iter().map(|k| String::from(*k)).collect(),
        }),
        ..Preloaded::default()
    });
}

#[test]
fn issue_21_the_module_takes_over_the_first_stages_decision_and_exposures() {
    let mut world = World::new(config());
    world.segment.ids = ids(Some("user-1"), "anon-1");
    let decision = initial("user-1", Some("anon-1"));
    taken_over(
        &mut world,
        ("user-1", Some("anon-1")),
        Some(decision),
        &["who", "banner", "missing"],
    );
    assert_eq!(world.status(), "READY", "with no request");
    world.advance(1000.0);
    assert!(world.sent_to("/campaigns").is_empty());
    let exposures = world.activations_sent();
    let variations: Vec<_> = exposures.iter().map(|a| a["vaid"].clone()).collect();
    assert_eq!(
        variations,
        [json!("v1"), json!("v2")],
        "the two flags read, once each"
    );
    for exposure in &exposures {
        assert_eq!(
            (&exposure["vid"], &exposure["aid"]),
            (&json!("user-1"), &json!("anon-1"))
        );
    }
    // Read again through the module: nothing more.
    world.who();
    world.advance(1000.0);
    assert_eq!(world.activations_sent().len(), 2);
    assert!(warnings(&world).is_empty());
}

#[test]
fn issue_21_a_takeover_after_an_identity_change_decides_again_and_drops_the_early_exposures() {
    let mut world = World::new(config());
    // The first stage decided for anon-1; Segment has been reset since.
    world.segment.ids = ids(None, "anon-2");
    taken_over(
        &mut world,
        ("anon-1", None),
        Some(initial("anon-1", None)),
        &["who"],
    );
    world.advance(1000.0);
    let asked = world.sent_to("/campaigns");
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].body()["visitor_id"], "anon-2");
    assert_eq!(world.who().as_deref(), Some("anon-2"));
    world.advance(1000.0);
    let exposures = world.activations_sent();
    assert_eq!(exposures.len(), 1, "only the read made for anon-2");
    assert_eq!(exposures[0]["vid"], "anon-2");
    assert!(warnings(&world).is_empty(), "not the page's STALE_IDENTITY");
}

fn warnings(world: &World) -> Vec<&'static str> {
    world
        .events
        .iter()
        .filter_map(|e| match e {
            PageEvent::Warning { code, .. } => Some(*code),
            _ => None,
        })
        .collect()
}

#[test]
fn the_same_identity_is_ready_at_once_with_no_request() {
    let mut world = World::new(config());
    world.segment.ids = ids(Some("user-1"), "anon-1");
    hydrated(&mut world, initial("user-1", Some("anon-1")));
    assert_eq!(world.status(), "READY", "before any answer or timer");
    assert!(!world.engine.is_deciding());
    assert_eq!(world.who().as_deref(), Some("user-1"));
    world.advance(1000.0);
    assert!(world.sent_to("/campaigns").is_empty());
    let exposures = world.activations_sent();
    assert_eq!(exposures.len(), 1);
    assert_eq!(
        (&exposures[0]["vid"], &exposures[0]["aid"]),
        (&json!("user-1"), &json!("anon-1")),
        "the exposure carries Segment's IDs"
    );
    assert!(warnings(&world).is_empty());
}

#[test]
fn another_identity_is_refused_and_the_module_decides_for_segments() {
    let cases = [
        (ids(Some("user-1"), "anon-1"), initial("anon-1", None)),
        (ids(None, "anon-2"), initial("anon-1", None)),
        (
            ids(Some("user-1"), "anon-1"),
            initial("user-1", Some("anon-9")),
        ),
        (ids(None, "anon-1"), initial("user-1", Some("anon-1"))),
    ];
    for (segment, decision) in cases {
        let mut world = World::new(config());
        world.segment.ids = segment.clone();
        hydrated(&mut world, decision);
        world.advance(0.0);
        assert_eq!(warnings(&world), ["STALE_IDENTITY"], "{segment:?}");
        let asked = world.sent_to("/campaigns");
        assert_eq!(asked.len(), 1);
        let expected = segment
            .user_id
            .clone()
            .or(segment.anonymous_id.clone())
            .unwrap();
        assert_eq!(asked[0].body()["visitor_id"], json!(expected));
        assert_eq!(world.who(), Some(expected));
    }
}

#[test]
fn a_garbled_one_is_refused_with_its_reason() {
    for decision in [
        String::from("not json"),
        json!({"visitorId": "anon-1", "decision": {"visitorId": "anon-2", "campaigns": []}})
            .to_string(),
    ] {
        let mut world = World::new(config());
        hydrated(&mut world, decision);
        world.advance(0.0);
        let got = warnings(&world);
        assert!(
            got == ["DECISION_MALFORMED"] || got == ["VISITOR_MISMATCH"],
            "{got:?}"
        );
        assert_eq!(world.sent_to("/campaigns").len(), 1);
        assert_eq!(world.status(), "READY");
    }
}

#[test]
fn it_is_used_once_identity_changes_afterwards_decide_as_usual() {
    let mut world = World::new(config());
    hydrated(&mut world, initial("anon-1", None));
    assert_eq!(world.status(), "READY");
    world.identify("user-5");
    world.advance(100.0);
    let asked = world.sent_to("/campaigns");
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].body()["visitor_id"], "user-5");
    world.reset();
    world.advance(100.0);
    assert_eq!(
        world.sent_to("/campaigns").len(),
        2,
        "never the initial one again"
    );
}

#[test]
fn it_waits_for_segment_and_is_checked_against_what_segment_then_says() {
    let mut world = World::new(config());
    world.segment_loads_after(200.0);
    world.segment.ids = ids(Some("user-1"), "anon-1");
    hydrated(&mut world, initial("user-1", Some("anon-1")));
    assert_eq!(
        world.status(),
        "STARTING",
        "no identity yet: nothing applied"
    );
    world.advance(300.0);
    assert_eq!(world.status(), "READY");
    assert!(world.sent_to("/campaigns").is_empty());
}

#[test]
fn it_is_kept_as_the_visitors_last_good_decision() {
    let mut world = World::new(config());
    hydrated(&mut world, initial("anon-1", None));
    world.advance(1000.0);
    assert!(world.store.map.contains_key(CACHE_KEY));
}

#[test]
fn issue_21_early_exposures_of_cached_flags_wait_for_the_modules_own_flags() {
    // The first stage served this identity's cached flags (the API was down): no decision to
    // hydrate with; the module asks, and exposes the early reads once its flags are current.
    let mut world = World::new(config());
    world.segment.ids = ids(None, "anon-1");
    taken_over(&mut world, ("anon-1", None), None, &["who"]);
    assert!(world.activations_sent().is_empty());
    world.advance(1000.0);
    assert_eq!(world.sent_to("/campaigns").len(), 1);
    let exposures = world.activations_sent();
    assert_eq!(exposures.len(), 1, "exposed once the module's flags are in");
    assert_eq!(exposures[0]["vid"], "anon-1");
}

#[test]
fn issue_21_a_reused_decision_keeps_its_age_when_taken_over() {
    let mut world = World::new(config());
    world.segment.ids = ids(None, "anon-1");
    world.route_all_ok();
    world.start_preloaded(Preloaded {
        decision: Some(initial("anon-1", None)),
        takeover: Some(Takeover {
            visitor_id: Some("anon-1".into()),
            fresh: false,
            ..Takeover::default()
        }),
        ..Preloaded::default()
    });
    world.advance(1000.0);
    assert_eq!(world.status(), "READY");
    assert!(
        !world.store.map.contains_key(CACHE_KEY),
        "not stored again as if it had just been decided"
    );
}

#[test]
fn issue_21_a_call_segment_dispatched_during_the_first_stage_opens_the_gate() {
    for (dispatched, visitor, held) in [
        (true, "anon-1", false),
        (false, "anon-1", true),
        (true, "anon-0", true),
    ] {
        let mut config = config();
        config.ensure_segment_knows = EnsureSegmentKnows::Wait;
        config.segment_knows_timeout_ms = 60_000;
        let mut world = World::new(config);
        world.route_all_ok();
        world.start_preloaded(Preloaded {
            decision: Some(initial(visitor, None)),
            takeover: Some(Takeover {
                visitor_id: Some(visitor.into()),
                dispatched,
                exposed: vec!["who".into()],
                ..Takeover::default()
            }),
            ..Preloaded::default()
        });
        world.who();
        world.advance(1000.0);
        assert_eq!(
            world.activations_sent().is_empty(),
            held,
            "dispatched {dispatched} for {visitor}"
        );
    }
}
