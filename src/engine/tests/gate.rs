//! The seen-by-Segment gate (`ensureSegmentKnows`) and diagnose().

use super::*;
use crate::tracking::hits::{EventCategory, EventHit, HitKind};

fn gate(mode: EnsureSegmentKnows, timeout_ms: u32) -> World {
    let mut config = config();
    config.ensure_segment_knows = mode;
    config.segment_knows_timeout_ms = timeout_ms;
    config.flush_interval_ms = 5000;
    let mut world = World::new(config);
    world.segment.ids = ids(None, "anon-fresh");
    world.route_all_ok();
    world.start();
    world.advance(0.0);
    world
}

fn track(world: &mut World, action: &str) -> bool {
    let hit = HitKind::Event(EventHit {
        category: EventCategory::ActionTracking,
        action: action.into(),
        label: None,
        value: None,
    });
    world.run(|e, now, s| e.track(now, hit, s)).unwrap()
}

#[test]
fn no_activation_leaves_before_segment_dispatched_a_call() {
    let mut world = gate(EnsureSegmentKnows::Wait, 3000);
    world.who();
    world.advance(150.0);
    assert!(
        world.sent_to("/activate").is_empty(),
        "held: Segment has not seen this visitor"
    );
    assert_eq!(world.diagnose().seen_by_segment, Some(false));
    assert!(world.events.iter().any(|e| matches!(
        e,
        PageEvent::Warning {
            code: "HITS_HELD",
            ..
        }
    )));
    world.segment_dispatches();
    world.advance(DISPATCH_MS / 2.0);
    assert!(
        world.sent_to("/activate").is_empty(),
        "the page call is not delivered yet"
    );
    world.advance(DISPATCH_MS / 2.0 + 150.0);
    assert_eq!(
        world.sent_to("/activate").len(),
        1,
        "sent once Segment dispatched its call"
    );
    let d = world.diagnose();
    assert_eq!(
        (d.seen_by_segment, d.sent_before_segment_knew),
        (Some(true), 0)
    );
}

#[test]
fn a_call_segment_sent_before_start_opens_the_gate() {
    let mut world = gate(EnsureSegmentKnows::Wait, 3000);
    assert!(world.watching);
    world.run(|e, now, _| e.handle_segment_call_seen(now));
    assert!(!world.watching, "once is enough");
    world.who();
    world.advance(150.0);
    assert_eq!(
        world.sent_to("/activate").len(),
        1,
        "Segment's earlier request is evidence enough"
    );
    assert_eq!(world.diagnose().sent_before_segment_knew, 0);
}

#[test]
fn off_sends_at_once() {
    let mut world = gate(EnsureSegmentKnows::Off, 3000);
    world.who();
    world.advance(150.0);
    assert_eq!(world.sent_to("/activate").len(), 1);
}

#[test]
fn wait_gives_up_after_the_timeout_and_counts_it() {
    let mut world = gate(EnsureSegmentKnows::Wait, 200);
    world.who();
    world.advance(150.0);
    assert!(world.sent_to("/activate").is_empty());
    world.advance(250.0);
    assert_eq!(world.sent_to("/activate").len(), 1);
    assert_eq!(world.diagnose().sent_before_segment_knew, 1);
}

#[test]
fn track_mode_makes_segment_see_the_visitor_first() {
    let mut world = gate(EnsureSegmentKnows::Track, 200);
    assert!(track(&mut world, "signup"));
    world.who();
    world.advance(150.0);
    assert!(world.tracked.is_empty() && world.sent_to("/activate").is_empty());
    world.advance(60.0);
    assert_eq!(
        world.tracked[0].event, "Flagship Visitor Seen",
        "the module's own call"
    );
    assert!(
        world.sent_to("/activate").is_empty(),
        "still waiting for that call to be dispatched"
    );
    world.advance(DISPATCH_MS + 150.0);
    assert_eq!(world.sent_to("/activate").len(), 1);
    assert_eq!(world.diagnose().sent_before_segment_knew, 0);
}

#[test]
fn the_stored_marker_skips_the_wait_on_the_next_page() {
    let mut world = gate(EnsureSegmentKnows::Wait, 3000);
    world.segment_dispatches();
    world.advance(DISPATCH_MS + 30.0);
    let mut config = config();
    config.ensure_segment_knows = EnsureSegmentKnows::Wait;
    config.segment_knows_timeout_ms = 3000;
    let mut next = World::with_store(config, world.store.clone());
    next.segment.ids = ids(None, "anon-fresh");
    next.route_all_ok();
    next.start();
    next.advance(0.0);
    next.who();
    next.advance(150.0);
    assert_eq!(
        next.sent_to("/activate").len(),
        1,
        "no wait: Segment already knew this visitor"
    );
    assert!(
        !world.store.map["seen"].contains("anon-fresh"),
        "the marker is a hash, not the ID"
    );
}

#[test]
fn a_new_identity_after_reset_waits_again() {
    let mut world = gate(EnsureSegmentKnows::Wait, 3000);
    world.segment_dispatches();
    world.advance(DISPATCH_MS + 30.0);
    world.reset();
    world.advance(150.0);
    world.who();
    world.advance(150.0);
    assert!(
        world.sent_to("/activate").is_empty(),
        "the new anonymousId is unknown to Segment"
    );
    world.segment_dispatches();
    world.advance(DISPATCH_MS + 150.0);
    let sent = world.activations_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["vid"], "anon-reset-1");
}

#[test]
fn decisions_are_never_held() {
    let world = gate(EnsureSegmentKnows::Wait, 3000);
    assert_eq!(world.status(), "READY");
    assert_eq!(world.sent_to("/campaigns").len(), 1);
}

#[test]
fn a_flush_asked_while_held_goes_as_soon_as_segment_knows() {
    let mut world = gate(EnsureSegmentKnows::Wait, 3000);
    assert!(track(&mut world, "held"));
    let id = world.run(|e, now, _| e.flush(now));
    assert!(
        world.flushed.contains(&id),
        "nothing can leave now: the flush is done"
    );
    world.advance(150.0);
    assert!(world.sent_to("events.test").is_empty(), "held");
    world.segment_dispatches();
    world.advance(DISPATCH_MS + 150.0);
    let hits = world.hits_sent();
    assert_eq!(hits.len(), 1, "sent on release, not at the next 5 s tick");
    assert!(hits[0]["qt"].as_f64().unwrap() < 2000.0, "{}", hits[0]);
}

#[test]
fn diagnose_hides_ids_and_the_key() {
    let world = ready(config());
    let d = world.diagnose();
    assert_eq!(d.api_key, "key_…(15)");
    assert_eq!(d.visitor_id.as_deref(), Some("anon…(6)"));
    assert_eq!(d.id_source, IdSource::Segment);
    assert_eq!(
        d.seen_by_segment,
        Some(true),
        "the gate is off: everyone is seen"
    );
}

#[test]
fn a_stored_queue_at_its_limit_is_said_once_not_at_every_write() {
    let mut world = gate(EnsureSegmentKnows::Wait, 60_000);
    let long = "x".repeat(200);
    for i in 0..900 {
        assert!(
            track(&mut world, &format!("{long}-{i}")),
            "held, not refused"
        );
        world.advance(0.0);
    }
    let full = world
        .log_lines()
        .iter()
        .filter(|l| l.contains("STORED_QUEUE_FULL"))
        .count();
    assert_eq!(full, 1);
}
