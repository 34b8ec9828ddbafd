//! Repeat page views: a stored decision reused within `decisionMaxAgeMs` (stale while
//! revalidate beyond it), and the Decision API's 429 respected by every page view and tab.

use super::*;
use crate::decision::cache::DecisionCache;
use crate::decision::rate_limit::{DEFAULT_WAIT_MS, NOT_BEFORE_KEY};

const MINUTE: f64 = 60_000.0;

fn reusing(max_age_ms: u32) -> Config {
    let mut config = config();
    config.decision_max_age_ms = max_age_ms;
    config
}

/// A first page view that decided and stored its decision, then closed after `ms`.
fn first_view(config: Config) -> World {
    let mut world = ready(config);
    assert_eq!(world.who().as_deref(), Some("anon-1"));
    world.advance(1000.0);
    assert!(world.store.map.contains_key(CACHE_KEY));
    world
}

/// The next page view of the same visitor, `after` ms later, started.
fn next_view(earlier: &World, config: Config, after: f64) -> World {
    let mut next = World::with_store(config, earlier.store.clone());
    next.now = earlier.now + after;
    next.route_all_ok();
    next.start();
    next
}

fn flags_events(world: &World) -> usize {
    world
        .events
        .iter()
        .filter(|e| matches!(e, PageEvent::Flags))
        .count()
}

fn campaigns(visitor: &str, color: &str) -> String {
    json!({"visitorId": visitor, "campaigns": [
        {"id": "c1", "variationGroupId": "vg1", "variation": {"id": color,
            "modifications": {"type": "FLAG", "value": {"who": visitor, "btnColor": color}}}}
    ]})
    .to_string()
}

fn color(world: &mut World) -> Option<String> {
    world
        .read("btnColor", crate::decision::ValueKind::String, true)
        .and_then(|v| v.as_str().map(String::from))
}

#[test]
fn off_by_default_every_page_view_asks() {
    let first = first_view(config());
    let mut next = next_view(&first, config(), 10_000.0);
    assert_eq!(next.status(), "STARTING");
    next.advance(0.0);
    assert_eq!(next.sent_to("/campaigns").len(), 1);
}

#[test]
fn a_young_stored_decision_is_used_at_once_with_no_request() {
    let first = first_view(reusing(5 * 60_000));
    let mut next = next_view(&first, reusing(5 * 60_000), 2.0 * MINUTE);
    assert_eq!(next.status(), "READY", "before any timer or answer");
    assert!(!next.engine.is_deciding(), "start() resolves at once");
    assert!(next.settled > 0);
    assert_eq!(next.who().as_deref(), Some("anon-1"));
    next.advance(60_000.0);
    assert!(next.sent_to("/campaigns").is_empty(), "no request at all");
    let exposure = next.activations_sent();
    assert_eq!(
        exposure.len(),
        0,
        "already exposed by the first view (dedupe)"
    );
    assert_eq!(flags_events(&next), 1);
}

#[test]
fn a_reused_decision_still_exposes_with_the_segment_ids_of_the_moment() {
    let mut config = reusing(5 * 60_000);
    config.activation_dedupe_ms = 0;
    let first = first_view(config.clone());
    let mut next = next_view(&first, config, MINUTE);
    assert_eq!(next.who().as_deref(), Some("anon-1"));
    next.advance(1000.0);
    let sent = next.activations_sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["vid"], "anon-1");
}

#[test]
fn an_older_one_is_served_while_asking_again_and_an_equal_answer_changes_nothing() {
    let first = first_view(reusing(5 * 60_000));
    let mut next = next_view(&first, reusing(5 * 60_000), 6.0 * MINUTE);
    assert_eq!(next.status(), "REFRESHING");
    assert!(!next.engine.is_deciding(), "start() does not wait for it");
    assert_eq!(next.who().as_deref(), Some("anon-1"), "readable at once");
    assert_eq!(next.sent_to("/campaigns").len(), 1, "asked again");
    next.advance(0.0);
    assert_eq!(next.status(), "READY");
    assert_eq!(
        flags_events(&next),
        1,
        "the same decision: no second flags event"
    );
    next.advance(1000.0);
    let kept = DecisionCache::decode(&next.store.map[CACHE_KEY]).unwrap();
    let context = "{}";
    let identity = next.engine.identity().unwrap().clone();
    assert_eq!(
        kept.lookup_same(&identity, context, next.now)
            .map(|k| k.age_ms),
        Some(1000.0),
        "the answer is stored again, young"
    );
}

#[test]
fn a_different_answer_replaces_the_stale_flags_and_says_so() {
    let mut first = World::new(reusing(MINUTE as u32));
    first.route(
        "/campaigns",
        &[(Reply::Status(200, campaigns("anon-1", "blue")), 0.0)],
    );
    first.start();
    first.advance(1000.0);
    let mut next = World::with_store(reusing(MINUTE as u32), first.store.clone());
    next.now = first.now + 2.0 * MINUTE;
    next.route(
        "/campaigns",
        &[(Reply::Status(200, campaigns("anon-1", "red")), 50.0)],
    );
    next.start();
    assert_eq!(color(&mut next).as_deref(), Some("blue"));
    next.advance(100.0);
    assert_eq!(next.status(), "READY");
    assert_eq!(color(&mut next).as_deref(), Some("red"));
    assert_eq!(flags_events(&next), 2);
}

#[test]
fn a_failed_refresh_keeps_the_stored_flags_as_cached() {
    let first = first_view(reusing(MINUTE as u32));
    let mut next = World::with_store(reusing(MINUTE as u32), first.store.clone());
    next.now = first.now + 3.0 * MINUTE;
    next.route("/campaigns", &[(Reply::Network, 0.0)]);
    next.start();
    next.advance(0.0);
    assert_eq!(next.status(), "CACHED");
    assert_eq!(next.error_code(), Some("DECISION_NETWORK"));
    assert_eq!(next.who().as_deref(), Some("anon-1"));
    assert_eq!(flags_events(&next), 1);
}

#[test]
fn never_for_another_identity_or_context() {
    let config = reusing(10 * 60_000);
    let first = first_view(config.clone());
    // Another anonymous visitor on the same browser profile.
    let mut other = World::with_store(config.clone(), first.store.clone());
    other.now = first.now + MINUTE;
    other.segment.ids = ids(None, "anon-2");
    other.route_all_ok();
    other.start();
    assert_eq!(other.status(), "STARTING");
    other.advance(0.0);
    assert_eq!(other.sent_to("/campaigns").len(), 1);
    assert_eq!(other.who().as_deref(), Some("anon-2"));
    // The same visitor with another context.
    let mut config = config.clone();
    config
        .context
        .insert("plan".into(), ContextValue::String("pro".into()));
    let mut retargeted = next_view(&first, config, MINUTE);
    assert_eq!(retargeted.status(), "STARTING");
    retargeted.advance(0.0);
    assert_eq!(retargeted.sent_to("/campaigns").len(), 1);
}

#[test]
fn identify_and_reset_after_a_reuse_ask_for_the_new_identity() {
    let config = reusing(10 * 60_000);
    let first = first_view(config.clone());
    let mut next = next_view(&first, config, MINUTE);
    assert_eq!(next.status(), "READY");
    next.identify("user-7");
    next.advance(100.0);
    let asked = next.sent_to("/campaigns");
    assert_eq!(asked.len(), 1, "the identified visitor was never decided");
    assert_eq!(asked[0].body()["visitor_id"], "user-7");
    assert_eq!(next.who().as_deref(), Some("user-7"));
    next.reset();
    next.advance(100.0);
    let asked = next.sent_to("/campaigns");
    assert_eq!(asked.len(), 2);
    assert_ne!(asked[1].body()["visitor_id"], "user-7");
    assert_ne!(asked[1].body()["visitor_id"], "anon-1");
}

#[test]
fn a_429_holds_every_page_view_of_the_environment_until_retry_after() {
    let mut first = World::new(config());
    first.route("/campaigns", &[(Reply::RetryAfter(429, "30".into()), 0.0)]);
    first.start();
    first.advance(0.0);
    assert_eq!(first.status(), "FETCH_FAILED");
    assert_eq!(first.diagnose().rate_limited_until, Some(T0 + 30_000.0));
    assert!(first.store.map.contains_key(NOT_BEFORE_KEY));
    // A second page view 10 s later: nothing asked, defaults, the reason says why.
    let mut next = next_view(&first, config(), 10_000.0);
    next.advance(0.0);
    assert!(next.sent_to("/campaigns").is_empty());
    assert_eq!(next.status(), "FETCH_FAILED");
    assert_eq!(next.error_code(), Some("DECISION_RATE_LIMITED"));
    assert_eq!(
        next.engine.last_error().unwrap().message(),
        "decision api rate limit (429): no request for 20 s more"
    );
    assert!(!next.engine.is_deciding(), "start() resolves with defaults");
    // An identity change meanwhile asks nothing either.
    next.identify("user-1");
    next.advance(5000.0);
    assert!(next.sent_to("/campaigns").is_empty());
    // Once the time has come, the page asks for the visitor of that moment.
    next.advance(15_000.0);
    let asked = next.sent_to("/campaigns");
    assert_eq!(asked.len(), 1);
    assert!(asked[0].at >= T0 + 30_000.0);
    assert_eq!(asked[0].body()["visitor_id"], "user-1");
    assert_eq!(next.status(), "READY");
}

#[test]
fn while_limited_the_visitors_stored_decision_is_served() {
    let first = first_view(config());
    let mut limited = World::with_store(config(), first.store.clone());
    limited.now = first.now + 1000.0;
    limited.store.map.insert(
        NOT_BEFORE_KEY.into(),
        crate::decision::rate_limit::encode(limited.now + 5000.0),
    );
    limited.route_all_ok();
    limited.start();
    assert_eq!(limited.status(), "CACHED");
    assert_eq!(limited.error_code(), Some("DECISION_RATE_LIMITED"));
    assert_eq!(limited.who().as_deref(), Some("anon-1"));
    limited.advance(6000.0);
    assert_eq!(limited.sent_to("/campaigns").len(), 1, "asked once allowed");
    assert_eq!(limited.status(), "READY");
    assert_eq!(flags_events(&limited), 1, "the same flags: no second event");
}

#[test]
fn a_429_without_retry_after_waits_the_default() {
    let mut world = World::new(config());
    world.route(
        "/campaigns",
        &[(Reply::Status(429, String::new()), 0.0), (Reply::Echo, 0.0)],
    );
    world.start();
    world.advance(DEFAULT_WAIT_MS - 1.0);
    assert_eq!(world.sent_to("/campaigns").len(), 1);
    world.advance(1.0);
    assert_eq!(world.sent_to("/campaigns").len(), 2);
    assert_eq!(world.status(), "READY");
}

#[test]
fn a_limit_another_tab_was_given_holds_here() {
    let mut world = ready(config());
    let until = crate::decision::rate_limit::encode(world.now + 8000.0);
    // Other keys of the site, and another environment's limit, change nothing.
    world.run(|e, now, _| {
        e.handle_storage_changed(now, Some("ajs_user_id"), Some(&until));
        e.handle_storage_changed(
            now,
            Some("flagship-segment:other_env:decisions-not-before"),
            Some(&until),
        );
        e.handle_storage_changed(now, None, None);
    });
    world.identify("user-0");
    world.advance(1000.0);
    assert_eq!(world.sent_to("/campaigns").len(), 2, "not limited by those");
    world.run(|e, now, _| {
        let key = "flagship-segment:env_test:decisions-not-before";
        e.handle_storage_changed(now, Some(key), Some(&until))
    });
    world.identify("user-9");
    world.advance(1000.0);
    assert_eq!(
        world.sent_to("/campaigns").len(),
        2,
        "none for user-9 within the limit"
    );
    world.advance(8000.0);
    assert_eq!(world.sent_to("/campaigns").len(), 3);
    assert_eq!(world.who().as_deref(), Some("user-9"));
}

#[test]
fn a_stale_or_garbled_limit_is_ignored() {
    for stored in [
        String::from("soon"),
        crate::decision::rate_limit::encode(T0 - 1.0),
    ] {
        let mut store = FakeStore::default();
        store.map.insert(NOT_BEFORE_KEY.into(), stored);
        let mut world = World::with_store(config(), store);
        world.route_all_ok();
        world.start();
        world.advance(0.0);
        assert_eq!(world.sent_to("/campaigns").len(), 1);
        assert_eq!(world.status(), "READY");
    }
}
