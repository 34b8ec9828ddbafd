//! Issue 20, part 6: in-page deadlines run on the monotonic clock the engine is given; the wall
//! clock, read beside it, dates only what is stored for other pages. A system clock set an hour
//! back or forward mid-page neither freezes delivery nor fires every wait at once, and what is
//! stored stays right for the next page, whose clock is the new wall clock.

use super::*;

const HOUR: f64 = 3_600_000.0;

fn started() -> World {
    let mut world = World::new(config());
    world.route_all_ok();
    world.start();
    world.advance(0.0);
    world
}

/// Tracks `action` and lets its first send fail (no answer): it waits 1–2 s of backoff.
fn failing_once(world: &mut World, action: &str) -> f64 {
    world.route(
        "events.test",
        &[
            (Reply::Network, 0.0),
            (Reply::Status(200, String::new()), 0.0),
        ],
    );
    world
        .run(|e, now, s| e.track(now, event(action), s))
        .unwrap();
    world.advance(0.0);
    assert_eq!(world.sent_to("events.test").len(), 1);
    world.sent_to("events.test")[0].at
}

#[test]
fn issue_20_a_clock_set_back_an_hour_does_not_freeze_a_backoff() {
    let mut world = started();
    let failed_at = failing_once(&mut world, "a");
    world.wall_shift = -HOUR;
    world.advance(2_100.0);
    let calls = world.sent_to("events.test");
    assert_eq!(
        calls.len(),
        2,
        "retried after its backoff, not an hour later"
    );
    assert!(calls[1].at - failed_at <= 2_000.0);
    assert_eq!(world.diagnose().hits.sent, 1);
}

#[test]
fn issue_20_a_clock_set_forward_an_hour_does_not_fire_a_backoff_at_once() {
    let mut world = started();
    let failed_at = failing_once(&mut world, "a");
    world.wall_shift = HOUR;
    world.advance(900.0);
    assert_eq!(
        world.sent_to("events.test").len(),
        1,
        "still within its backoff"
    );
    world.advance(1_200.0);
    let calls = world.sent_to("events.test");
    assert_eq!(calls.len(), 2);
    assert!(calls[1].at - failed_at >= 1_000.0);
}

#[test]
fn issue_20_what_is_stored_is_dated_by_the_wall_clock_of_the_moment() {
    let mut world = started();
    world.route("events.test", &[(Reply::Network, 0.0)]);
    world
        .run(|e, now, s| e.track(now, event("late"), s))
        .unwrap();
    world.advance(0.0);
    let queued_at = world.sent_to("events.test")[0].at;
    // The system clock is corrected an hour forward, then the queue is stored again.
    world.wall_shift = HOUR;
    world.advance(3_000.0);
    let stored: J = serde_json::from_str(&world.store.map["queue:tab-1"]).unwrap();
    let entry = &stored["hits"]["items"][0];
    assert_eq!(entry["at"].as_f64(), Some(queued_at + HOUR), "{stored}");
    let written = stored["at"].as_f64().unwrap();
    assert!(
        (queued_at + HOUR..=world.now + HOUR).contains(&written),
        "the time of the last write, by the corrected clock: {written}"
    );
    // The next page runs on the corrected clock: the hit is 5 s old to it, not an hour.
    let mut next = World::with_store(config(), world.store.clone());
    next.now = world.now + HOUR + 2_000.0;
    next.route_all_ok();
    next.start();
    next.advance(10_000.0);
    let hits = next.hits_sent();
    assert_eq!(hits.len(), 1);
    let qt = hits[0]["qt"].as_f64().unwrap();
    assert!((5_000.0..15_000.0).contains(&qt), "qt {qt}");
}

#[test]
fn issue_20_exposures_and_a_rate_limit_are_stored_as_times_of_day() {
    let mut world = ready(config());
    world.wall_shift = HOUR;
    world.who();
    world.advance(0.0);
    let stored: J = serde_json::from_str(&world.store.map["exposures"]).unwrap();
    let at = stored["seen"][0][3].as_f64().unwrap();
    assert!((at - (world.now + HOUR)).abs() < 100.0, "{stored}");

    let mut limited = World::new(config());
    limited.wall_shift = -HOUR;
    limited.route("/campaigns", &[(Reply::RetryAfter(429, "30".into()), 0.0)]);
    limited.start();
    limited.advance(0.0);
    let until: f64 = limited.store.map[crate::decision::rate_limit::NOT_BEFORE_KEY]
        .parse()
        .unwrap();
    assert_eq!(until, limited.now - HOUR + 30_000.0);
    assert_eq!(
        limited.diagnose().rate_limited_until,
        Some(limited.now - HOUR + 30_000.0),
        "diagnose() shows the time of day"
    );
    // Read back by a page on the same (set back) clock: 30 s from now there, too.
    let mut next = World::with_store(config(), limited.store.clone());
    next.now = limited.now - HOUR + 10_000.0;
    next.route_all_ok();
    next.start();
    next.advance(0.0);
    assert!(next.sent_to("/campaigns").is_empty(), "still limited");
    next.advance(20_000.0);
    assert_eq!(
        next.sent_to("/campaigns").len(),
        1,
        "asked once the limit passed"
    );
}
