//! Hits, the delivery queues, persistence across reloads, consent and unload.

use super::*;
use crate::decision::ValueKind;
use crate::tracking::hits::{EventCategory, EventHit, HitKind, ItemHit, TransactionHit};
use crate::tracking::queue::{MAX_AGE_MS, UNLOAD_RACE_MS};

fn track(world: &mut World, kind: HitKind) -> Result<bool, crate::Error> {
    world.run(|e, now, s| e.track(now, kind, s))
}

fn opts() -> Config {
    let mut config = config();
    config.flush_interval_ms = 60_000;
    config
}

fn started(config: Config) -> World {
    let mut world = World::new(config);
    world.route_all_ok();
    world.start();
    world.advance(0.0);
    world
}

/// Asks for a flush without waiting for it (its requests may never be answered).
fn flush_now(world: &mut World) {
    world.run(|e, now, _| e.flush(now));
}

fn flush(world: &mut World) {
    let id = world.run(|e, now, _| e.flush(now));
    for _ in 0..100 {
        if world.flushed.contains(&id) {
            return;
        }
        world.advance(10.0);
    }
    panic!("flush {id} not done");
}

/// The page goes away: `pagehide`, or only hidden.
fn unload(world: &mut World, departure: Departure) {
    world.run(|e, now, _| e.handle_unload(now, departure));
}

/// The next page of the site in this tab, `after` ms later, with every route answering.
fn next_page(world: &World, config: Config, after: f64) -> World {
    let mut next = World::with_store(config, world.store.clone());
    next.now = world.now + after;
    next.route_all_ok();
    next.start();
    next
}

/// Collector hits with action `action`.
fn count(world: &World, action: &str) -> usize {
    world
        .hits_sent()
        .iter()
        .filter(|h| h["ea"] == action)
        .count()
}

fn actions(hits: &[J]) -> Vec<String> {
    hits.iter()
        .map(|h| h["ea"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn hits_carry_the_segment_ids_of_the_moment() {
    let mut world = started(opts());
    let signup = HitKind::Event(EventHit {
        category: EventCategory::ActionTracking,
        action: "signup".into(),
        label: Some("hero".into()),
        value: Some(3.0),
    });
    assert_eq!(track(&mut world, signup), Ok(true));
    flush(&mut world);
    // identify() changes user().id() at once; its event comes later.
    world.segment.ids = ids(Some("user-U"), "anon-1");
    assert_eq!(track(&mut world, event("buy")), Ok(true));
    let transaction = HitKind::Transaction(TransactionHit {
        id: "T1".into(),
        affiliation: "checkout".into(),
        revenue: Some(12.5),
        currency: Some("EUR".into()),
        ..TransactionHit::default()
    });
    assert_eq!(track(&mut world, transaction), Ok(true));
    let item = HitKind::Item(ItemHit {
        transaction_id: "T1".into(),
        name: "Mug".into(),
        code: "SKU-1".into(),
        quantity: Some(2.0),
        ..ItemHit::default()
    });
    assert_eq!(track(&mut world, item), Ok(true));
    let page = HitKind::PageView {
        url: "https://shop.test/cart".into(),
    };
    assert_eq!(track(&mut world, page), Ok(true));
    flush(&mut world);
    let calls = world.sent_to("events.test");
    assert_eq!(calls[0].request.url, "https://events.test");
    let body = calls[0].body();
    assert_eq!(
        (&body["ds"], &body["cid"], &body["t"]),
        (&json!("APP"), &json!("env_test"), &json!("BATCH"))
    );
    let hits = world.hits_sent();
    assert_eq!(hits.len(), 5);
    assert_eq!(
        (&hits[0]["vid"], &hits[0]["cuid"]),
        (&json!("anon-1"), &J::Null)
    );
    assert_eq!(
        (&hits[0]["ec"], &hits[0]["el"], &hits[0]["ev"]),
        (&json!("Action Tracking"), &json!("hero"), &json!(3))
    );
    for hit in &hits[1..] {
        assert_eq!(
            (&hit["vid"], &hit["cuid"]),
            (&json!("anon-1"), &json!("user-U")),
            "{hit}"
        );
    }
    assert_eq!(hits[2]["t"], "TRANSACTION");
    assert_eq!(
        (&hits[2]["tr"], &hits[2]["tc"]),
        (&json!(12.5), &json!("EUR"))
    );
    assert_eq!((&hits[3]["t"], &hits[3]["iq"]), (&json!("ITEM"), &json!(2)));
    assert_eq!(
        (&hits[4]["t"], &hits[4]["dl"]),
        (&json!("PAGEVIEW"), &json!("https://shop.test/cart"))
    );
}

#[test]
fn invalid_hits_are_refused_and_nothing_is_sent() {
    let mut world = started(opts());
    assert_eq!(
        track(&mut world, event("")),
        Err(crate::Error::InvalidHit("ea is required"))
    );
    let fractional = HitKind::Event(EventHit {
        category: EventCategory::ActionTracking,
        action: "x".into(),
        label: None,
        value: Some(1.5),
    });
    assert!(track(&mut world, fractional).is_err(), "ev is an integer");
    let currency = HitKind::Transaction(TransactionHit {
        id: "T1".into(),
        affiliation: "a".into(),
        currency: Some("EURO".into()),
        ..TransactionHit::default()
    });
    assert!(track(&mut world, currency).is_err());
    let no_code = HitKind::Item(ItemHit {
        transaction_id: "T1".into(),
        name: "Mug".into(),
        ..ItemHit::default()
    });
    assert_eq!(
        track(&mut world, no_code),
        Err(crate::Error::InvalidHit("ic is required"))
    );
    flush(&mut world);
    assert!(world.sent_to("events.test").is_empty());
}

#[test]
fn batches_at_batch_size_or_after_the_interval() {
    let mut config = opts();
    config.batch_size = 3;
    config.flush_interval_ms = 300;
    let mut world = started(config);
    for action in ["a", "b", "c"] {
        track(&mut world, event(action)).unwrap();
    }
    world.advance(0.0);
    assert_eq!(world.sent_to("events.test").len(), 1, "flushed at 3 hits");
    track(&mut world, event("d")).unwrap();
    world.advance(299.0);
    assert_eq!(
        world.sent_to("events.test").len(),
        1,
        "not before the interval"
    );
    world.advance(1.0);
    assert_eq!(world.sent_to("events.test").len(), 2);
    assert_eq!(actions(&world.hits_sent()), ["a", "b", "c", "d"]);
    assert!(world
        .sent_to("events.test")
        .iter()
        .all(|c| c.request.keepalive));
}

#[test]
fn offline_then_online_delivers_every_hit_once() {
    let mut config = opts();
    config.batch_size = 3;
    let mut world = started(config);
    world.route(
        "events.test",
        &[
            (Reply::Network, 0.0),
            (Reply::Network, 0.0),
            (Reply::Status(200, String::new()), 0.0),
        ],
    );
    for action in ["a", "b", "c"] {
        track(&mut world, event(action)).unwrap();
    }
    world.advance(8000.0);
    let calls = world.sent_to("events.test");
    assert_eq!(calls.len(), 3, "two failures, then delivered");
    assert_eq!(
        actions(calls[2].body()["h"].as_array().unwrap()),
        ["a", "b", "c"]
    );
    world.advance(60_000.0);
    assert_eq!(world.sent_to("events.test").len(), 3, "nothing sent twice");
    let hits = world.diagnose().hits;
    assert_eq!((hits.queued, hits.sent, hits.dropped), (0, 3, 0));
    assert!(world
        .log_lines()
        .iter()
        .any(|l| l.contains("DELIVERY_FAILED: hits no answer; will retry")));
}

#[test]
fn online_retries_at_once() {
    let mut world = started(opts());
    world.route(
        "events.test",
        &[
            (Reply::Network, 0.0),
            (Reply::Status(200, String::new()), 0.0),
        ],
    );
    track(&mut world, event("a")).unwrap();
    flush(&mut world);
    assert_eq!(world.sent_to("events.test").len(), 1);
    world.run(|e, now, _| e.handle_online(now));
    world.advance(0.0);
    assert_eq!(
        world.sent_to("events.test").len(),
        2,
        "no wait for the backoff"
    );
}

#[test]
fn a_reload_in_the_middle_loses_nothing() {
    let mut world = started(opts());
    world.route("events.test", &[(Reply::Network, 0.0)]);
    track(&mut world, event("before-reload")).unwrap();
    world.who();
    world.advance(0.0);
    assert!(
        world.store.map.keys().any(|k| k.starts_with("queue:")),
        "{:?}",
        world.store.map.keys()
    );
    // The page dies: no pagehide, no flush.
    let mut next = World::with_store(opts(), world.store.clone());
    next.route_all_ok();
    next.start();
    next.advance(0.0);
    flush(&mut next);
    let delivered: Vec<_> = next
        .hits_sent()
        .into_iter()
        .filter(|h| h["ea"] == "before-reload")
        .collect();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    // The exposure of the first page is remembered: reading again sends nothing new.
    let before = next.sent_to("/activate").len();
    next.who();
    next.advance(150.0);
    assert_eq!(
        next.sent_to("/activate").len(),
        before,
        "dedupe survived the reload"
    );
    assert!(
        !next.store.map.keys().any(|k| k.starts_with("queue:")),
        "queue emptied from storage"
    );
}

#[test]
fn what_a_previous_page_left_leaves_without_any_call_on_this_one() {
    let mut config = opts();
    config.flush_interval_ms = 100;
    let mut world = started(config.clone());
    world.route("events.test", &[(Reply::Network, 0.0)]);
    track(&mut world, event("left-behind")).unwrap();
    world.advance(0.0);
    let mut next = World::with_store(config, world.store.clone());
    next.route_all_ok();
    next.start();
    next.advance(400.0);
    let delivered: Vec<_> = next
        .hits_sent()
        .into_iter()
        .filter(|h| h["ea"] == "left-behind")
        .collect();
    assert_eq!(delivered.len(), 1);
}

#[test]
fn a_closed_tabs_queue_is_taken_over_after_five_minutes_only() {
    let mut other = started(opts());
    other.route("events.test", &[(Reply::Network, 0.0)]);
    track(&mut other, event("other-tab")).unwrap();
    other.advance(0.0);
    let mut store = other.store.clone();
    store.tab = "tab-2".into();
    let mut soon = World::with_store(opts(), store.clone());
    soon.route_all_ok();
    soon.start();
    flush(&mut soon);
    assert!(
        soon.hits_sent().is_empty(),
        "the other tab may still be open"
    );
    let mut later = World::with_store(opts(), store);
    later.now += ORPHAN_AFTER_MS;
    later.route_all_ok();
    later.start();
    flush(&mut later);
    assert_eq!(actions(&later.hits_sent()), ["other-tab"]);
    assert!(
        !later.store.map.contains_key("queue:tab-1"),
        "taken over, so no one sends it twice"
    );
}

#[test]
fn withdrawn_consent_purges_and_stops_sending() {
    let mut world = started(opts());
    track(&mut world, event("queued")).unwrap();
    world.run(|e, now, _| e.set_consent(now, false));
    world.advance(150.0);
    let hits = world.hits_sent();
    assert_eq!(actions(&hits), ["fs_consent"], "only the consent hit left");
    assert_eq!(
        (&hits[0]["ec"], &hits[0]["el"]),
        (&json!("User Engagement"), &json!("flagship-segment:false"))
    );
    assert!(world.sent_to("events.test")[0].request.keepalive);
    assert!(
        !world.store.map.contains_key("queue:tab-1"),
        "nothing stored"
    );
    assert_eq!(track(&mut world, event("after")), Ok(false));
    world.who();
    world.advance(150.0);
    assert!(
        world.sent_to("/activate").is_empty(),
        "no exposure without consent"
    );
    world.reset();
    world.advance(150.0);
    assert_eq!(
        world.sent_to("/campaigns").last().unwrap().body()["visitor_consent"],
        false,
        "decisions go on"
    );
    world.run(|e, now, _| e.set_consent(now, true));
    flush(&mut world);
    assert_eq!(
        world.hits_sent().last().unwrap()["el"],
        "flagship-segment:true"
    );
}

#[test]
fn no_consent_at_start_sends_and_stores_nothing() {
    let mut config = opts();
    config.consent = false;
    let mut world = started(config);
    assert_eq!(
        world.sent_to("/campaigns")[0].body()["visitor_consent"],
        false
    );
    world.who();
    assert_eq!(track(&mut world, event("x")), Ok(false));
    world.advance(150.0);
    flush(&mut world);
    assert!(world.sent_to("/activate").is_empty() && world.sent_to("events.test").is_empty());
    assert!(!world.store.map.keys().any(|k| k.starts_with("queue:")));
}

#[test]
fn hits_older_than_four_hours_are_dropped_and_counted() {
    let mut world = started(opts());
    world.route(
        "events.test",
        &[
            (Reply::Network, 0.0),
            (Reply::Status(200, String::new()), 0.0),
        ],
    );
    track(&mut world, event("stale")).unwrap();
    flush(&mut world);
    // The clock jumps (a laptop asleep), as the browser suite's clock shift did.
    world.now += MAX_AGE_MS + 1000.0;
    track(&mut world, event("fresh")).unwrap();
    flush(&mut world);
    assert_eq!(
        actions(&world.hits_sent()),
        ["stale", "fresh"],
        "the stale one only in the failed send"
    );
    assert_eq!(
        world.sent_to("events.test").last().unwrap().body()["h"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(world.diagnose().hits.dropped, 1);
}

fn warnings(world: &World, wanted: &str) -> Vec<String> {
    world
        .events
        .iter()
        .filter_map(|e| match e {
            PageEvent::Warning { code, message } if *code == wanted => Some(message.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_full_storage_is_survived_and_said_once() {
    let mut world = World::new(opts());
    world.store.refuses = true;
    world.route_all_ok();
    world.start();
    assert_eq!(track(&mut world, event("still-sent")), Ok(true));
    assert_eq!(track(&mut world, event("and-this")), Ok(true));
    flush(&mut world);
    assert_eq!(actions(&world.hits_sent()), ["still-sent", "and-this"]);
    assert_eq!(
        warnings(&world, "STORAGE_REFUSED").len(),
        1,
        "one warning, not one per write"
    );
    assert!(world.diagnose().storage_refused);
}

#[test]
fn a_429_waits_as_long_as_retry_after_asks() {
    let mut world = started(opts());
    world.route(
        "events.test",
        &[
            (Reply::RetryAfter(429, "120".into()), 0.0),
            (Reply::Status(200, String::new()), 0.0),
        ],
    );
    track(&mut world, event("a")).unwrap();
    flush(&mut world);
    let first = world.sent_to("events.test")[0].at;
    world.advance(119_000.0);
    assert_eq!(
        world.sent_to("events.test").len(),
        1,
        "not before two minutes"
    );
    world.advance(3_000.0);
    let calls = world.sent_to("events.test");
    assert_eq!(calls.len(), 2);
    assert!(calls[1].at - first >= 120_000.0);
    assert_eq!(
        actions(&world.hits_sent()),
        ["a", "a"],
        "the same hit, sent once more"
    );
    assert_eq!(world.diagnose().hits.sent, 1);
}

#[test]
fn a_refused_batch_is_dropped_counted_and_told_to_the_page() {
    let mut world = started(opts());
    world.route(
        "events.test",
        &[
            (Reply::Status(413, String::new()), 0.0),
            (Reply::Status(200, String::new()), 0.0),
        ],
    );
    track(&mut world, event("too-big")).unwrap();
    flush(&mut world);
    assert_eq!(
        warnings(&world, "DELIVERY_REJECTED"),
        ["hits refused with http 413; dropped"]
    );
    world.advance(600_000.0);
    assert_eq!(world.sent_to("events.test").len(), 1, "never retried");
    let hits = world.diagnose().hits;
    assert_eq!((hits.queued, hits.sent, hits.dropped), (0, 0, 1));
    track(&mut world, event("next")).unwrap();
    flush(&mut world);
    assert_eq!(
        actions(&world.hits_sent()),
        ["too-big", "next"],
        "what follows still goes"
    );
}

#[test]
fn corrupt_stored_data_is_discarded_not_thrown() {
    let mut store = FakeStore::default();
    store.map.insert(
        "queue:tab-1".into(),
        r#"{"v":1,"at":0,"hits":{"v":1,"items":[{"id":"x"}]}"#.into(),
    );
    store.map.insert("exposures".into(), "not json".into());
    let mut world = World::with_store(opts(), store);
    world.route_all_ok();
    world.start();
    world.advance(0.0);
    assert_eq!(world.status(), "READY");
    let lines = world.log_lines();
    assert!(lines.iter().any(|l| l.contains("unreadable")), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("stored exposures discarded")),
        "{lines:?}"
    );
}

#[test]
fn pagehide_hands_everything_to_keepalive_and_out_of_storage() {
    let mut world = started(opts());
    world.route("events.test", &[(Reply::Status(200, String::new()), 20.0)]);
    track(&mut world, event("leaving")).unwrap();
    unload(&mut world, Departure::Hidden);
    let calls = world.sent_to("events.test");
    assert_eq!(calls.len(), 1);
    assert!(calls[0].request.keepalive);
    assert_eq!(actions(&world.hits_sent()), ["leaving"]);
    assert!(
        !world.store.map.contains_key("queue:tab-1"),
        "handed to the browser: out of storage at once"
    );
    // visibilitychange to hidden, then pagehide: the second sends nothing twice.
    unload(&mut world, Departure::PageHide);
    assert_eq!(world.sent_to("events.test").len(), 1);
    // The page survived (back-forward cache): the answer settles it.
    world.advance(30.0);
    assert_eq!(world.diagnose().hits.sent, 1);
}

#[test]
fn issue_20_what_left_at_unload_is_never_sent_by_the_next_page() {
    let mut world = started(opts());
    world.route("events.test", &[(Reply::Hang, 0.0)]);
    track(&mut world, event("purchase")).unwrap();
    unload(&mut world, Departure::PageHide);
    assert_eq!(count(&world, "purchase"), 1);
    // The page dies with the answer; the next page stays open well past any resend window.
    let mut next = next_page(&world, opts(), 500.0);
    flush(&mut next);
    next.advance(120_000.0);
    assert_eq!(
        count(&next, "purchase"),
        0,
        "received once, by the keepalive request"
    );
}

#[test]
fn issue_20_an_exposure_then_a_navigation_is_activated_once() {
    let mut world = ready(config());
    world.route("/activate", &[(Reply::Hang, 0.0)]);
    world.who();
    unload(&mut world, Departure::PageHide);
    assert_eq!(world.activations_sent().len(), 1);
    let mut next = next_page(&world, config(), 400.0);
    next.advance(120_000.0);
    assert!(next.activations_sent().is_empty(), "not activated twice");
    // The next page reads the same flag: the exposure log says it was sent.
    next.who();
    next.advance(1_000.0);
    assert!(
        next.activations_sent().is_empty(),
        "deduplicated across the navigation"
    );
}

#[test]
fn issue_20_the_regular_batch_out_at_pagehide_is_never_sent_again() {
    let mut world = started(opts());
    world.route("events.test", &[(Reply::Hang, 0.0)]);
    track(&mut world, event("purchase")).unwrap();
    flush_now(&mut world);
    assert!(world.sent_to("events.test")[0].request.keepalive);
    unload(&mut world, Departure::PageHide);
    assert_eq!(
        world.sent_to("events.test").len(),
        1,
        "already out: nothing more"
    );
    assert!(!world.store.map.contains_key("queue:tab-1"));
    // Its deadline passes while the page lingers: a request handed over is never aborted.
    world.advance(f64::from(DELIVERY_TIMEOUT_MS) + 1.0);
    assert!(!world.sent_to("events.test")[0].aborted);
    let mut next = next_page(&world, opts(), 500.0);
    next.advance(120_000.0);
    assert_eq!(count(&next, "purchase"), 0);
}

#[test]
fn issue_20_a_request_too_large_for_keepalive_stays_stored_for_the_next_page() {
    let mut config = opts();
    config.batch_size = 100;
    config.flush_interval_ms = 0;
    let mut world = started(config.clone());
    world.route("events.test", &[(Reply::Hang, 0.0)]);
    let label = "x".repeat(1000);
    for i in 0..70 {
        let hit = HitKind::Event(EventHit {
            category: EventCategory::ActionTracking,
            action: format!("big{i}"),
            label: Some(label.clone()),
            value: None,
        });
        track(&mut world, hit).unwrap();
    }
    flush_now(&mut world);
    let batch = &world.sent_to("events.test")[0];
    assert!(batch.request.body.len() > KEEPALIVE_BUDGET_BYTES);
    assert!(!batch.request.keepalive);
    unload(&mut world, Departure::PageHide);
    assert_eq!(world.sent_to("events.test").len(), 1, "everything is out");
    let stored = world.store.map.get("queue:tab-1").cloned().unwrap();
    assert!(
        stored.contains("big0") && stored.contains("big69"),
        "cancelled with the page"
    );
    let mut next = next_page(&world, config, 500.0);
    next.advance(10_000.0);
    assert_eq!(count(&next, "big0"), 1);
    next.advance(120_000.0);
    assert_eq!(count(&next, "big0"), 1, "once");
}

#[test]
fn issue_20_a_batch_too_large_for_keepalive_is_still_abandoned_at_its_deadline_after_the_page_was_hidden(
) {
    let mut config = opts();
    config.batch_size = 100;
    let mut world = started(config);
    world.route(
        "events.test",
        &[(Reply::Hang, 0.0), (Reply::Status(200, String::new()), 0.0)],
    );
    let label = "x".repeat(1000);
    for i in 0..70 {
        let hit = HitKind::Event(EventHit {
            category: EventCategory::ActionTracking,
            action: format!("big{i}"),
            label: Some(label.clone()),
            value: None,
        });
        track(&mut world, hit).unwrap();
    }
    flush_now(&mut world);
    assert!(!world.sent_to("events.test")[0].request.keepalive);
    // Hidden, then back: the request was not handed to the browser, so it keeps its deadline.
    unload(&mut world, Departure::Hidden);
    world.advance(f64::from(DELIVERY_TIMEOUT_MS) + 1.0);
    assert!(world.sent_to("events.test")[0].aborted, "abandoned");
    world.advance(120_000.0);
    let sends = world.sent_to("events.test");
    assert_eq!(sends.len(), 2, "sent again after the abandoned one");
    assert!(!sends[1].aborted && sends[1].request.body.contains("big0"));
    assert_eq!(
        count(&world, "big0"),
        2,
        "the abandoned request and its retry"
    );
}

#[test]
fn issue_20_handed_over_while_hidden_then_refused_with_503_is_retried_once_by_the_same_page() {
    let mut world = started(opts());
    world.route(
        "events.test",
        &[
            (Reply::Status(503, String::new()), 200.0),
            (Reply::Status(200, String::new()), 0.0),
        ],
    );
    track(&mut world, event("tab-switch")).unwrap();
    unload(&mut world, Departure::Hidden);
    assert!(!world.store.map.contains_key("queue:tab-1"));
    // The visitor comes back: the 503 proves it was not delivered.
    world.advance(200.0);
    assert!(
        world
            .store
            .map
            .get("queue:tab-1")
            .is_some_and(|q| q.contains("tab-switch")),
        "stored again"
    );
    world.advance(10_000.0);
    let calls = world.sent_to("events.test");
    assert_eq!(calls.len(), 2);
    assert_eq!(world.diagnose().hits.sent, 1);
    world.advance(120_000.0);
    assert_eq!(world.sent_to("events.test").len(), 2);
}

#[test]
fn unload_keeps_what_failed_before_and_what_is_held() {
    let mut config = opts();
    config.ensure_segment_knows = EnsureSegmentKnows::Wait;
    config.segment_knows_timeout_ms = 60_000;
    let mut world = started(config.clone());
    world.route("events.test", &[(Reply::Status(503, String::new()), 0.0)]);
    // Segment knows anon-1: its hit goes out and fails once.
    world.segment_dispatches();
    world.advance(DISPATCH_MS);
    track(&mut world, event("failed-once")).unwrap();
    flush(&mut world);
    // A new visitor Segment has not seen yet: held.
    world.reset();
    world.advance(0.0);
    track(&mut world, event("held")).unwrap();
    world.route("events.test", &[(Reply::Status(200, String::new()), 0.0)]);
    let before = world.sent_to("events.test").len();
    unload(&mut world, Departure::PageHide);
    assert_eq!(
        world.sent_to("events.test").len(),
        before,
        "neither leaves at unload"
    );
    let stored = world.store.map.get("queue:tab-1").cloned().unwrap();
    assert!(
        stored.contains("failed-once") && stored.contains("held"),
        "both stay stored: {stored}"
    );
    let next = World::with_store(config, world.store.clone());
    assert!(next.store.map.contains_key("queue:tab-1"));
}

#[test]
fn unload_stays_within_the_keepalive_budget() {
    let mut config = opts();
    config.batch_size = 100;
    let mut world = started(config);
    world.route("events.test", &[(Reply::Hang, 0.0)]);
    let label = "x".repeat(900);
    for i in 0..100 {
        let hit = HitKind::Event(EventHit {
            category: EventCategory::ActionTracking,
            action: format!("a{i}"),
            label: Some(label.clone()),
            value: None,
        });
        track(&mut world, hit).unwrap();
    }
    unload(&mut world, Departure::PageHide);
    let bytes: usize = world
        .sent_to("events.test")
        .iter()
        .map(|s| s.request.body.len())
        .sum();
    assert!(bytes <= KEEPALIVE_BUDGET_BYTES, "{bytes}");
    let left = world.hits_sent().len();
    assert!(left > 0 && left < 100, "{left} left, the rest stays stored");
    let stored = world.store.map.get("queue:tab-1").cloned().unwrap();
    assert!(
        stored.contains("\"a99\""),
        "the newest stay for the next page"
    );
}

#[test]
fn withdrawn_consent_hit_and_exposures_share_the_one_identity() {
    let mut world = ready(config());
    world.who();
    world.advance(150.0);
    world.run(|e, now, _| e.set_consent(now, false));
    let activation = world.activations_sent()[0].clone();
    let consent = world.hits_sent()[0].clone();
    assert_eq!(activation["vid"], consent["vid"]);
    let _ = world.read("btnColor", ValueKind::String, true);
}

#[test]
fn issue_20_a_keepalive_batch_rejected_just_before_pagehide_is_not_sent_again() {
    // Chromium rejects a keepalive fetch as the page goes away, before `pagehide`, and sends it
    // all the same.
    let mut world = started(opts());
    world.route("events.test", &[(Reply::Network, 0.0)]);
    track(&mut world, event("in-flight")).unwrap();
    flush(&mut world);
    assert!(world.sent_to("events.test")[0].request.keepalive);
    world.advance(UNLOAD_RACE_MS / 2.0);
    unload(&mut world, Departure::PageHide);
    assert!(!world.store.map.contains_key("queue:tab-1"));
    let mut next = next_page(&world, opts(), 2000.0);
    next.advance(120_000.0);
    assert_eq!(count(&next, "in-flight"), 0);
}

#[test]
fn a_keepalive_batch_that_failed_before_a_tab_switch_is_retried() {
    let mut world = started(opts());
    world.route(
        "events.test",
        &[
            (Reply::Network, 0.0),
            (Reply::Status(200, String::new()), 0.0),
        ],
    );
    track(&mut world, event("offline")).unwrap();
    flush(&mut world);
    unload(&mut world, Departure::Hidden);
    assert!(
        world.store.map.contains_key("queue:tab-1"),
        "a failure, kept"
    );
    world.advance(5_000.0);
    assert_eq!(
        count(&world, "offline"),
        2,
        "tried, then delivered after its backoff"
    );
    assert_eq!(world.diagnose().hits.sent, 1);
}

#[test]
fn a_batch_the_server_answered_with_a_failure_is_retried_by_the_next_page() {
    let mut world = started(opts());
    world.route("events.test", &[(Reply::Status(503, String::new()), 0.0)]);
    track(&mut world, event("failed")).unwrap();
    flush(&mut world);
    unload(&mut world, Departure::PageHide);
    let mut next = World::with_store(opts(), world.store.clone());
    next.now = world.now + 2000.0;
    next.route_all_ok();
    next.start();
    next.advance(1000.0);
    assert_eq!(
        actions(&next.hits_sent()),
        ["failed"],
        "its backoff is over"
    );
}

#[test]
fn issue_20_an_idle_queue_sends_at_the_end_of_the_task_and_batches_what_arrives_meanwhile() {
    // The defaults: no wait for company.
    let mut world = started(config());
    world.route("events.test", &[(Reply::Status(200, String::new()), 400.0)]);
    track(&mut world, event("a")).unwrap();
    track(&mut world, event("b")).unwrap();
    assert!(
        world.sent_to("events.test").is_empty(),
        "not inside the task"
    );
    world.advance(0.0);
    let calls = world.sent_to("events.test");
    assert_eq!(calls.len(), 1, "one task, one request");
    assert_eq!(
        actions(calls[0].body()["h"].as_array().unwrap()),
        ["a", "b"]
    );
    world.advance(100.0);
    track(&mut world, event("c")).unwrap();
    world.advance(100.0);
    track(&mut world, event("d")).unwrap();
    world.advance(199.0);
    assert_eq!(
        world.sent_to("events.test").len(),
        1,
        "one request out at a time"
    );
    world.advance(1.0);
    let calls = world.sent_to("events.test");
    assert_eq!(calls.len(), 2, "what arrived meanwhile goes together");
    assert_eq!(
        actions(calls[1].body()["h"].as_array().unwrap()),
        ["c", "d"]
    );
    assert_eq!(
        calls[1].at - calls[0].at,
        400.0,
        "as soon as the first returned"
    );
}

#[test]
fn a_flush_interval_still_waits_for_company_when_asked_to() {
    let mut config = config();
    config.flush_interval_ms = 5000;
    let mut world = started(config);
    track(&mut world, event("a")).unwrap();
    world.advance(4_999.0);
    assert!(world.sent_to("events.test").is_empty());
    world.advance(1.0);
    assert_eq!(world.sent_to("events.test").len(), 1);
}
