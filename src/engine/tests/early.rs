//! Issue 21: what a page did before its full module took over, when it went away first, is
//! taken in by the next page, once, each call with the identity of its moment.

use super::*;

fn record(extra: J) -> String {
    let made = T0 - 2_500.0;
    let mut record = json!({"v": 2, "at": T0 - 2_000.0, "consent": true, "calls": [
        ["expose", made, "anon-1", null, "vg1", "v1"],
        ["hit", made, "anon-1", null, "track", "purchase", {"value": 42}],
        ["hit", made, "anon-1", null, "page", "https://shop.test/thanks"],
        ["hit", made, "anon-1", null, "track", "", {}]]});
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
    let text =
        record(json!({"calls": [["hit", T0 - 2_500.0, "user-1", "anon-1", "track", "buy"]]}));
    let world = next_page(&[("early:tab-1:p1", text)]);
    let hits = world.hits_sent();
    assert_eq!(
        (&hits[0]["vid"], &hits[0]["cuid"]),
        (&json!("anon-1"), &json!("user-1"))
    );
}

#[test]
fn issue_21_records_are_taken_in_as_queues_are() {
    // Another tab's, young: it may still take over. Without consent: nothing is kept. A
    // broken one, or one of the first form: discarded, said.
    let young = record(json!({"at": T0 - 1_000.0}));
    let refused = record(json!({"consent": false}));
    let first_form = record(json!({"v": 1}));
    let world = next_page(&[
        ("early:tab-2:p1", young),
        ("early:tab-1:p1", refused),
        ("early:tab-3:p1", "{".into()),
        ("early:tab-1:p2", first_form),
    ]);
    assert!(world.activations_sent().is_empty() && world.hits_sent().is_empty());
    assert!(world.store.map.contains_key("early:tab-2:p1"));
    for gone in ["early:tab-1:p1", "early:tab-3:p1", "early:tab-1:p2"] {
        assert!(!world.store.map.contains_key(gone), "{gone}");
    }
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

#[test]
fn issue_21_a_records_consent_calls_apply_in_order_without_changing_the_next_pages() {
    let made = T0 - 2_500.0;
    let text = record(json!({"calls": [
        ["hit", made, "anon-1", null, "track", "before"],
        ["consent", made + 1.0, "anon-1", null, false],
        ["hit", made + 2.0, "anon-1", null, "track", "refused"],
        ["consent", made + 3.0, "anon-1", null, true],
        ["hit", made + 4.0, "anon-1", null, "track", "after"]]}));
    let mut world = next_page(&[("early:tab-1:p1", text)]);
    let sent: Vec<_> = world
        .hits_sent()
        .iter()
        .map(|h| (h["t"].clone(), h["ea"].clone()))
        .collect();
    assert_eq!(
        sent,
        [
            (json!("EVENT"), json!("fs_consent")),
            (json!("EVENT"), json!("fs_consent")),
            (json!("EVENT"), json!("after"))
        ],
        "the hit before the withdrawal purged, the one made without consent left out"
    );
    // This page's consent is its own.
    world.who();
    world.advance(1_000.0);
    assert_eq!(world.activations_sent().len(), 1);
}
