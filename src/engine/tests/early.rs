//! Issue 21: what a page did before its full module took over, when it went away first, is
//! taken in by the next page, once, with the identity it was made for.

use super::*;

fn record(extra: J) -> String {
    let mut record = json!({"v": 1, "at": T0 - 2_000.0, "visitorId": "anon-1", "anonymousId": null,
        "consent": true, "exposed": [{"caid": "vg1", "vaid": "v1"}],
        "hits": [["track", "purchase", {"value": 42}], ["page", "https://shop.test/thanks"],
                 ["track", "", {}]]});
    for (key, value) in extra.as_object().unwrap() {
        record[key] = value.clone();
    }
    record.to_string()
}

/// The next page, with `records` stored under their names.
fn next_page(records: &[(&str, String)]) -> World {
    let mut store = FakeStore::default();
    for (name, text) in records {
        store.map.insert((*name).into(), text.clone());
    }
    let mut world = World::with_store(config(), store);
    world.route_all_ok();
    world.start();
    world.advance(1_000.0);
    world
}

#[test]
fn issue_21_a_record_of_this_tab_is_sent_once_with_its_identity_and_removed() {
    let mut world = next_page(&[("early:tab-1:p1", record(json!({})))]);
    let activations = world.activations_sent();
    assert_eq!(activations.len(), 1);
    assert_eq!(
        (&activations[0]["vid"], &activations[0]["vaid"]),
        (&json!("anon-1"), &json!("v1"))
    );
    let hits = world.hits_sent();
    let kinds: Vec<_> = hits
        .iter()
        .map(|h| (h["t"].clone(), h["vid"].clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            (json!("EVENT"), json!("anon-1")),
            (json!("PAGEVIEW"), json!("anon-1"))
        ],
        "the invalid call (no action) is left out"
    );
    assert!(
        hits[0]["qt"].as_f64().unwrap() >= 2_000.0,
        "dated when it was made"
    );
    assert!(!world.store.map.contains_key("early:tab-1:p1"));
    world.advance(120_000.0);
    assert_eq!(world.activations_sent().len(), 1);
    assert_eq!(world.hits_sent().len(), 2);
    // The exposure is in the log: reading the flag sends nothing more.
    world.who();
    world.advance(1_000.0);
    assert_eq!(world.activations_sent().len(), 1);
}

#[test]
fn issue_21_an_identified_visitors_record_keeps_both_ids() {
    let text = record(
        json!({"visitorId": "user-1", "anonymousId": "anon-1", "exposed": [], "hits": [["track", "buy"]]}),
    );
    let world = next_page(&[("early:tab-1:p1", text)]);
    let hits = world.hits_sent();
    assert_eq!(
        (&hits[0]["vid"], &hits[0]["cuid"]),
        (&json!("anon-1"), &json!("user-1"))
    );
}

#[test]
fn issue_21_records_are_taken_in_as_queues_are() {
    // Another tab's, young: it may still take over. Withdrawn consent: nothing is kept. A
    // broken one: discarded, said.
    let young = record(json!({"at": T0 - 1_000.0}));
    let refused = record(json!({"consent": false}));
    let world = next_page(&[
        ("early:tab-2:p1", young),
        ("early:tab-1:p1", refused),
        ("early:tab-3:p1", "{".into()),
    ]);
    assert!(world.activations_sent().is_empty() && world.hits_sent().is_empty());
    assert!(world.store.map.contains_key("early:tab-2:p1"));
    assert!(
        !world.store.map.contains_key("early:tab-1:p1")
            && !world.store.map.contains_key("early:tab-3:p1")
    );
    assert!(world
        .log_lines()
        .iter()
        .any(|l| l.contains("STORED_DATA_DISCARDED")));
    let orphan = record(json!({"at": T0 - ORPHAN_AFTER_MS - 1.0}));
    let world = next_page(&[("early:tab-2:p1", orphan)]);
    assert_eq!(
        world.activations_sent().len(),
        1,
        "a closed tab's, taken over"
    );
}

#[test]
fn issue_21_the_gate_holds_a_records_items_until_segment_knows_the_visitor() {
    let mut config = config();
    config.ensure_segment_knows = EnsureSegmentKnows::Wait;
    config.segment_knows_timeout_ms = 60_000;
    let mut store = FakeStore::default();
    store.map.insert("early:tab-1:p1".into(), record(json!({})));
    let mut world = World::with_store(config, store);
    world.route_all_ok();
    world.start();
    world.advance(1_000.0);
    assert!(world.activations_sent().is_empty() && world.hits_sent().is_empty());
    world.segment_dispatches();
    world.advance(1_000.0);
    assert_eq!(world.activations_sent().len(), 1);
    assert_eq!(world.hits_sent().len(), 2);
}
