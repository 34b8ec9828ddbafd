//! Following Segment identity changes (identify, reset, setAnonymousId), traits, updateContext.

use super::*;
use crate::decision::ValueKind;
use crate::tracking::hits::{EventCategory, EventHit, HitKind};

fn track(world: &mut World, action: &str) -> bool {
    let hit = HitKind::Event(EventHit {
        category: EventCategory::ActionTracking,
        action: action.into(),
        label: None,
        value: None,
    });
    world.run(|e, now, s| e.track(now, hit, s)).unwrap()
}

/// Reads `who` (exposing it), sends a hit, flushes, and lets everything leave.
fn read_and_expose(world: &mut World) -> Option<String> {
    let who = world.who();
    assert!(track(world, "step"));
    world.run(|e, now, _| e.flush(now));
    world.advance(100.0);
    who
}

/// Every request since `from` carries exactly these IDs, laid out as contract §2 says.
fn all_since(world: &World, from: usize, visitor: &str, anonymous: Option<&str>) {
    let (hit_vid, hit_cuid) = match anonymous {
        Some(a) => (a, Some(visitor)),
        None => (visitor, None),
    };
    let mut hits = 0;
    for sent in &world.sent[from..] {
        let body = sent.body();
        if sent.request.url.contains("events.test") {
            for hit in body["h"].as_array().unwrap() {
                assert_eq!(hit["vid"], hit_vid, "{hit}");
                assert_eq!(hit["cuid"], json!(hit_cuid), "{hit}");
                hits += 1;
            }
        } else if sent.request.url.contains("/campaigns") {
            assert_eq!(body["visitor_id"], visitor);
            assert_eq!(body["anonymous_id"], json!(anonymous));
            assert_eq!(body["context"]["fs_users"], visitor);
        } else if sent.request.url.contains("/activate") {
            for item in body["batch"].as_array().unwrap() {
                assert_eq!(item["vid"], visitor);
                assert_eq!(item["aid"], json!(anonymous));
            }
        }
    }
    assert!(hits > 0, "a hit was sent in this step");
}

fn settle(world: &mut World) {
    for _ in 0..100 {
        if world.status() == "READY" {
            return;
        }
        world.advance(10.0);
    }
    panic!("still {} after 1 s", world.status());
}

#[test]
fn follows_identify_identify_reset_and_set_anonymous_id() {
    let mut world = ready(config());
    assert_eq!(read_and_expose(&mut world).as_deref(), Some("anon-1"));
    all_since(&world, 0, "anon-1", None);

    // identify(U): continuity, the anonymousId Segment had before identify rides along.
    let mark = world.sent.len();
    world.identify("user-U");
    world.advance(DISPATCH_MS + 20.0);
    settle(&mut world);
    assert_eq!(read_and_expose(&mut world).as_deref(), Some("user-U"));
    all_since(&world, mark, "user-U", Some("anon-1"));

    // identify(V): Segment rotates the anonymousId, and so do we.
    let mark = world.sent.len();
    world.identify("user-V");
    world.advance(DISPATCH_MS + 20.0);
    settle(&mut world);
    assert_eq!(read_and_expose(&mut world).as_deref(), Some("user-V"));
    all_since(&world, mark, "user-V", Some("anon-rotated-1"));

    // reset: the new anonymousId alone.
    let mark = world.sent.len();
    world.reset();
    settle(&mut world);
    assert_eq!(read_and_expose(&mut world).as_deref(), Some("anon-reset-2"));
    all_since(&world, mark, "anon-reset-2", None);

    // setAnonymousId fires nothing: the next exposure notices, re-decides, and only then exposes.
    let mark = world.sent.len();
    world.segment.ids = ids(None, "anon-custom");
    world.read("banner", ValueKind::String, true);
    world.advance(150.0);
    settle(&mut world);
    assert_eq!(read_and_expose(&mut world).as_deref(), Some("anon-custom"));
    all_since(&world, mark, "anon-custom", None);

    assert_eq!(
        world.change_reasons(),
        ["identify", "identify", "reset", "anonymous-id"]
    );
    let second = world
        .events
        .iter()
        .filter(|e| matches!(e, PageEvent::Change { .. }))
        .nth(1)
        .unwrap();
    assert_eq!(
        second,
        &PageEvent::Change {
            reason: crate::identity::ChangeReason::Identify,
            visitor_id: Some("user-V".into()),
            anonymous_id: Some("anon-rotated-1".into()),
        }
    );
}

#[test]
fn start_resolves_with_the_flags_of_who_segment_reports_when_it_ends() {
    let mut world = World::new(config());
    world.route("/campaigns", &[(Reply::Echo, 100.0)]);
    world.start();
    // identify() while start()'s request for anon-1 is out: that answer is stale, and start()
    // waits for the decision of user-U instead of resolving with no flags.
    world.advance(30.0);
    world.identify("user-U");
    world.advance(20.0);
    assert!(world.engine.is_deciding());
    world.advance(200.0);
    assert!(!world.engine.is_deciding());
    assert_eq!(world.status(), "READY");
    assert_eq!(world.visitor().as_deref(), Some("user-U"));
    assert_eq!(world.who().as_deref(), Some("user-U"));
}

#[test]
fn identity_changed_with_no_event_during_the_request_decides_again() {
    let mut world = World::new(config());
    world.route("/campaigns", &[(Reply::Echo, 100.0)]);
    world.start();
    world.advance(50.0);
    world.segment.ids = ids(None, "anon-set");
    world.advance(300.0);
    assert_eq!(world.status(), "READY");
    assert_eq!(world.who().as_deref(), Some("anon-set"));
    let asked: Vec<_> = world
        .sent_to("/campaigns")
        .iter()
        .map(|s| s.body()["visitor_id"].clone())
        .collect();
    assert_eq!(asked, [json!("anon-1"), json!("anon-set")]);
}

#[test]
fn out_of_order_answers_never_show_a_stale_identity() {
    let mut world = ready(config());
    // identify(U)'s answer is slow, identify(V)'s is fast: U's must never be applied.
    world.route("/campaigns", &[(Reply::Echo, 250.0), (Reply::Echo, 10.0)]);
    world.identify("user-U");
    world.advance(DISPATCH_MS + 10.0);
    world.identify("user-V");
    let mut seen = Vec::new();
    for _ in 0..40 {
        let who = world.read("who", ValueKind::String, false).unwrap();
        seen.push(who.as_str().unwrap().to_owned());
        world.advance(10.0);
    }
    assert_eq!(seen.last().map(String::as_str), Some("user-V"));
    assert!(
        !seen.iter().any(|w| w == "user-U"),
        "stale flags shown: {seen:?}"
    );
    let for_u: Vec<_> = world
        .sent_to("/campaigns")
        .into_iter()
        .filter(|c| c.body()["visitor_id"] == "user-U")
        .collect();
    assert!(
        for_u.iter().all(|c| c.aborted),
        "the request for U was aborted"
    );
    world.advance(300.0);
    assert_eq!(
        world.read("who", ValueKind::String, false),
        Some(json!("user-V"))
    );
}

#[test]
fn previous_flags_or_defaults_during_refresh_and_never_an_exposure() {
    for keep in [true, false] {
        let mut config = config();
        config.keep_flags_during_refresh = keep;
        let mut world = ready(config);
        assert_eq!(world.who().as_deref(), Some("anon-1"));
        world.advance(100.0);
        world.route("/campaigns", &[(Reply::Echo, 100.0)]);
        world.reset();
        assert_eq!(world.status(), "REFRESHING");
        let during = world.who();
        match keep {
            true => assert_eq!(during.as_deref(), Some("anon-1")),
            false => assert_eq!(during, None),
        }
        world.advance(50.0);
        let exposed: Vec<_> = world
            .activations_sent()
            .iter()
            .map(|a| a["vid"].clone())
            .collect();
        assert_eq!(
            exposed,
            [json!("anon-1")],
            "nothing exposed while refreshing"
        );
        settle(&mut world);
        assert_eq!(world.who().as_deref(), Some("anon-reset-1"));
        world.advance(100.0);
        let exposed: Vec<_> = world
            .activations_sent()
            .iter()
            .map(|a| a["vid"].clone())
            .collect();
        assert_eq!(
            exposed,
            [json!("anon-1"), json!("anon-reset-1")],
            "keep: {keep}"
        );
    }
}

#[test]
fn traits_allowlist_goes_into_the_context() {
    let mut config = config();
    config.traits = vec!["plan".into(), "age".into(), "vip".into()];
    let mut world = ready(config);
    world
        .segment
        .traits
        .insert("plan".into(), ContextValue::String("pro".into()));
    world
        .segment
        .traits
        .insert("age".into(), ContextValue::Number(41.0));
    world
        .segment
        .traits
        .insert("vip".into(), ContextValue::Bool(true));
    world.identify("user-U");
    world.advance(DISPATCH_MS + 20.0);
    settle(&mut world);
    let context = world.sent_to("/campaigns").last().unwrap().body()["context"].clone();
    assert_eq!(
        (&context["plan"], &context["age"], &context["vip"]),
        (&json!("pro"), &json!(41), &json!(true))
    );
}

#[test]
fn a_trait_change_alone_decides_again_as_a_refresh() {
    let mut config = config();
    config.traits = vec!["plan".into()];
    let mut world = ready(config);
    world
        .segment
        .traits
        .insert("plan".into(), ContextValue::String("pro".into()));
    world.segment_dispatches();
    world.advance(DISPATCH_MS + 10.0);
    assert_eq!(world.sent_to("/campaigns").len(), 2);
    assert_eq!(world.change_reasons(), ["refresh"]);
}

#[test]
fn update_context_re_decides_once() {
    let mut config = config();
    config
        .context
        .insert("page".into(), ContextValue::String("home".into()));
    let mut world = ready(config);
    let mut context = Context::new();
    context.insert("plan".into(), ContextValue::String("pro".into()));
    assert!(world.run(|e, now, _| e.update_context(now, context.clone())));
    assert!(
        world.engine.is_deciding(),
        "the promise waits for the new decision"
    );
    world.advance(0.0);
    assert_eq!(world.status(), "READY");
    let body = world.sent_to("/campaigns").last().unwrap().body();
    assert_eq!(
        (&body["context"]["plan"], &body["context"]["page"]),
        (&json!("pro"), &json!("home"))
    );
    assert_eq!(world.change_reasons(), ["refresh"]);
    // The same context again changes nothing and sends nothing.
    let before = world.sent_to("/campaigns").len();
    assert!(!world.run(|e, now, _| e.update_context(now, context)));
    assert_eq!(world.sent_to("/campaigns").len(), before);
}

#[test]
fn new_flags_are_announced() {
    let mut world = ready(config());
    let before = world
        .events
        .iter()
        .filter(|e| **e == PageEvent::Flags)
        .count();
    world.reset();
    world.advance(0.0);
    let after = world
        .events
        .iter()
        .filter(|e| **e == PageEvent::Flags)
        .count();
    assert_eq!(after, before + 1);
}

#[test]
fn close_stops_following_and_deciding() {
    let mut world = ready(config());
    assert!(world.subscribed);
    let flush = world.run(|e, now, _| e.close(now));
    assert!(!world.subscribed, "listeners removed");
    assert!(world.flushed.contains(&flush));
    // A flush or a second close() after it is over at once: nothing more leaves.
    let later = world.run(|e, now, _| e.flush(now));
    let again = world.run(|e, now, _| e.close(now));
    assert!(world.flushed.contains(&later) && world.flushed.contains(&again));
    assert_eq!(world.status(), "CLOSED");
    assert_eq!(world.read("who", ValueKind::String, true), None);
    world.reset();
    world.advance(1000.0);
    assert_eq!(
        world.sent_to("/campaigns").len(),
        1,
        "nothing decided after close"
    );
    assert!(world.sent_to("/activate").is_empty());
}
