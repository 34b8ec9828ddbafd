//! `initialDecision`: a decision made on the server for the identity in Segment's cookies, used
//! with no request only when it is the identity the module reads from Segment.

use super::*;
use crate::identity::ChangeReason;

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
/// `visitor` (a fresh answer).
fn taken_over(world: &mut World, visitor: (&str, Option<&str>), decision: Option<String>) {
    taken_over_after(world, visitor, decision, false);
}

/// [`taken_over`]; `reset`: whether Segment fired `reset` while only the first stage was up.
fn taken_over_after(
    world: &mut World,
    visitor: (&str, Option<&str>),
    decision: Option<String>,
    reset: bool,
) {
    world.route_all_ok();
    world.start_preloaded(Preloaded {
        decision,
        takeover: Some(Takeover {
            visitor_id: Some(visitor.0.into()),
            anonymous_id: visitor.1.map(Into::into),
            fresh: true,
            dispatched: false,
            reset,
        }),
        ..Preloaded::default()
    });
}

/// The first stage hands over the page's calls (engine::early's form), once the module started.
fn stage_calls(world: &mut World, consent: bool, calls: J) {
    let text = json!({"consent": consent, "calls": calls}).to_string();
    world.run(|engine, now, _| engine.handle_stage_calls(now, &text));
}

#[test]
fn issue_21_the_module_takes_over_the_first_stages_decision_and_the_pages_calls() {
    let mut world = World::new(config());
    world.segment.ids = ids(Some("user-1"), "anon-1");
    let decision = initial("user-1", Some("anon-1"));
    taken_over(&mut world, ("user-1", Some("anon-1")), Some(decision));
    assert_eq!(world.status(), "READY", "with no request");
    assert!(
        world.events.is_empty(),
        "the page reads these flags already: no change, no flags event: {:?}",
        world.events
    );
    stage_calls(
        &mut world,
        true,
        json!([
            ["expose", T0 - 500.0, "user-1", "anon-1", "vg1", "v1"],
            ["expose", T0 - 400.0, "user-1", "anon-1", "vg2", "v2"],
            ["hit", T0 - 300.0, "user-1", "anon-1", "track", "buy", {"value": 3}],
        ]),
    );
    world.advance(1000.0);
    assert!(world.sent_to("/campaigns").is_empty());
    let exposures = world.activations_sent();
    let variations: Vec<_> = exposures.iter().map(|a| a["vaid"].clone()).collect();
    assert_eq!(variations, [json!("v1"), json!("v2")], "the two flags read");
    for exposure in &exposures {
        assert_eq!(
            (&exposure["vid"], &exposure["aid"]),
            (&json!("user-1"), &json!("anon-1"))
        );
    }
    let hits = world.hits_sent();
    assert_eq!(hits.len(), 1);
    assert_eq!(
        (&hits[0]["vid"], &hits[0]["cuid"], &hits[0]["ea"]),
        (&json!("anon-1"), &json!("user-1"), &json!("buy"))
    );
    // Read again through the module: nothing more.
    world.who();
    world.advance(1000.0);
    assert_eq!(world.activations_sent().len(), 2);
    assert!(warnings(&world).is_empty());
}

#[test]
fn issue_21_a_takeover_after_an_identity_change_decides_again_and_each_call_keeps_its_moments_identity(
) {
    let mut world = World::new(config());
    // The first stage decided for anon-1; Segment has been reset since.
    world.segment.ids = ids(None, "anon-2");
    taken_over(&mut world, ("anon-1", None), Some(initial("anon-1", None)));
    world.advance(1000.0);
    let asked = world.sent_to("/campaigns");
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].body()["visitor_id"], "anon-2");
    // The page, which read anon-1's flags from the first stage, hears of the change as of any
    // other, then of the new flags (no `reset` event seen: named from the IDs alone).
    assert_eq!(
        world.events,
        [
            PageEvent::Change {
                reason: ChangeReason::AnonymousId,
                visitor_id: Some("anon-2".into()),
                anonymous_id: None,
            },
            PageEvent::Flags,
        ]
    );
    // Read while Segment still said anon-1; a hit made after the reset.
    stage_calls(
        &mut world,
        true,
        json!([
            ["expose", T0 - 500.0, "anon-1", null, "vg1", "v1"],
            ["hit", T0 - 100.0, "anon-2", null, "track", "after-reset"],
        ]),
    );
    assert_eq!(world.who().as_deref(), Some("anon-2"));
    world.advance(1000.0);
    let exposures: Vec<_> = world
        .activations_sent()
        .iter()
        .map(|a| a["vid"].clone())
        .collect();
    assert_eq!(exposures, [json!("anon-1"), json!("anon-2")]);
    assert_eq!(world.hits_sent()[0]["vid"], "anon-2");
    assert!(warnings(&world).is_empty(), "not the page's STALE_IDENTITY");
}

/// Issue 21, found by the benchmark: a page listening to the first stage's handle missed the
/// identity change that happened while the full module loaded (it kept rendering the previous
/// visitor's flags). Each way Segment can have changed, named as the module names it.
#[test]
fn a_takeover_after_an_identity_change_tells_the_page_why() {
    let cases = [
        (
            ("user-1", Some("anon-1")),
            ids(None, "anon-2"),
            false,
            ChangeReason::Reset,
        ),
        (
            ("anon-1", None),
            ids(Some("user-1"), "anon-1"),
            false,
            ChangeReason::Identify,
        ),
        (
            ("user-1", Some("anon-1")),
            ids(Some("user-2"), "anon-2"),
            false,
            ChangeReason::Identify,
        ),
        (
            ("anon-1", None),
            ids(None, "custom"),
            false,
            ChangeReason::AnonymousId,
        ),
        // analytics.reset() of an anonymous visitor: only the anonymousId changes.
        (
            ("anon-1", None),
            ids(None, "anon-2"),
            true,
            ChangeReason::Reset,
        ),
    ];
    for (stage, now, reset, reason) in cases {
        let mut world = World::new(config());
        world.segment.ids = now;
        taken_over_after(&mut world, stage, Some(initial(stage.0, stage.1)), reset);
        world.advance(1000.0);
        assert_eq!(world.change_reasons(), [reason.as_str()], "{stage:?}");
        assert_eq!(world.events.last(), Some(&PageEvent::Flags), "{stage:?}");
    }
}

/// The same when the first stage served no decision of its own (defaults, or stored flags):
/// the module's decision for the new identity reaches the page with the change before it.
#[test]
fn a_takeover_without_the_stages_decision_still_tells_the_page_of_a_change() {
    let mut world = World::new(config());
    world.segment.ids = ids(None, "anon-2");
    taken_over(&mut world, ("anon-1", None), None);
    world.advance(1000.0);
    assert_eq!(world.change_reasons(), ["anonymous-id"]);
    assert_eq!(world.events.last(), Some(&PageEvent::Flags));
    // Same identity, no decision from the stage: the module's own decision is news to the
    // page (its flags event), with no change.
    let mut world = World::new(config());
    world.segment.ids = ids(None, "anon-1");
    taken_over(&mut world, ("anon-1", None), None);
    world.advance(1000.0);
    assert_eq!(world.events, [PageEvent::Flags]);
}

#[test]
fn issue_21_the_pages_consent_calls_are_replayed_in_order_and_become_the_modules() {
    // Granted during the first stage: what was made after it is sent, and the module has it.
    let mut config = config();
    config.consent = false;
    let mut world = World::new(config.clone());
    world.segment.ids = ids(None, "anon-1");
    taken_over(&mut world, ("anon-1", None), Some(initial("anon-1", None)));
    stage_calls(
        &mut world,
        false,
        json!([
            ["consent", T0 - 500.0, "anon-1", null, true],
            ["expose", T0 - 400.0, "anon-1", null, "vg1", "v1"],
        ]),
    );
    world.advance(1000.0);
    assert_eq!(world.activations_sent().len(), 1);
    let consent_hits: Vec<_> = world.hits_sent().iter().map(|h| h["ea"].clone()).collect();
    assert_eq!(consent_hits, [json!("fs_consent")]);
    world
        .run(|engine, now, segment| engine.track(now, event("later"), segment))
        .unwrap();
    world.advance(1000.0);
    assert_eq!(
        world.hits_sent().len(),
        2,
        "the module has the page's consent"
    );

    // Withdrawn during the first stage: what was made before it is purged, the withdrawal goes
    // at once, and the module sends nothing more.
    let mut world = World::new(super::config());
    world.segment.ids = ids(None, "anon-1");
    world.route("events.test", &[(Reply::Hang, 0.0)]);
    taken_over(&mut world, ("anon-1", None), Some(initial("anon-1", None)));
    stage_calls(
        &mut world,
        true,
        json!([
            ["hit", T0 - 600.0, "anon-1", null, "track", "before"],
            ["expose", T0 - 500.0, "anon-1", null, "vg1", "v1"],
            ["consent", T0 - 400.0, "anon-1", null, false],
            ["hit", T0 - 300.0, "anon-1", null, "track", "after"],
        ]),
    );
    world.advance(1000.0);
    let sent: Vec<_> = world.hits_sent().iter().map(|h| h["ea"].clone()).collect();
    assert_eq!(sent, [json!("fs_consent")], "only the withdrawal");
    assert!(world.activations_sent().is_empty());
    assert!(
        world.sent_to("events.test")[0].request.keepalive,
        "unstored"
    );
    world.who();
    world.advance(1000.0);
    assert!(world.activations_sent().is_empty(), "no consent now");
}

#[test]
fn issue_21_unreadable_calls_are_said_and_dropped() {
    let mut world = World::new(config());
    world.segment.ids = ids(None, "anon-1");
    taken_over(&mut world, ("anon-1", None), Some(initial("anon-1", None)));
    world.run(|engine, now, _| engine.handle_stage_calls(now, "{"));
    // A call with an identity Segment would not report, or unknown, is left out alone.
    stage_calls(
        &mut world,
        true,
        json!([
            ["hit", T0, "", null, "track", "no-id"],
            ["poke", T0, "anon-1", null],
            ["hit", T0, "anon-1", null, "track", "kept"],
        ]),
    );
    world.advance(1000.0);
    assert!(world
        .log_lines()
        .iter()
        .any(|l| l.contains("STORED_DATA_DISCARDED")));
    let actions: Vec<_> = world.hits_sent().iter().map(|h| h["ea"].clone()).collect();
    assert_eq!(actions, [json!("kept")]);
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
fn issue_21_reads_of_cached_flags_are_exposed_as_they_were_read() {
    // The first stage served this identity's cached flags (the API was down): no decision to
    // hydrate with; the module asks, and the reads made meanwhile are exposed with the variation
    // the page saw.
    let mut world = World::new(config());
    world.segment.ids = ids(None, "anon-1");
    taken_over(&mut world, ("anon-1", None), None);
    stage_calls(
        &mut world,
        true,
        json!([["expose", T0, "anon-1", null, "vg1", "v1"]]),
    );
    world.advance(1000.0);
    assert_eq!(world.sent_to("/campaigns").len(), 1);
    let exposures = world.activations_sent();
    assert_eq!(exposures.len(), 1);
    assert_eq!(
        (&exposures[0]["vid"], &exposures[0]["vaid"]),
        (&json!("anon-1"), &json!("v1"))
    );
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
                ..Takeover::default()
            }),
            ..Preloaded::default()
        });
        stage_calls(
            &mut world,
            true,
            json!([["expose", T0, visitor, null, "vg1", "v1"]]),
        );
        world.advance(1000.0);
        assert_eq!(
            world.activations_sent().is_empty(),
            held,
            "dispatched {dispatched} for {visitor}"
        );
    }
}
