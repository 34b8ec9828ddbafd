//! Flag reads, typing, metadata and exposure.

use super::*;
use crate::decision::ValueKind;

fn standard(user: Option<&str>) -> World {
    let mut world = World::new(config());
    if let Some(user) = user {
        world.segment.ids = ids(Some(user), "anon-1");
    }
    let visitor = user.unwrap_or("anon-1");
    world.route(
        "/campaigns",
        &[(Reply::Status(200, decision_for(visitor)), 0.0)],
    );
    world.route("/activate", &[(Reply::Status(204, String::new()), 0.0)]);
    world.start();
    world.advance(0.0);
    assert_eq!(world.status(), "READY");
    world
}

#[test]
fn typed_reads_return_values_of_the_default_type() {
    let mut world = standard(None);
    assert_eq!(
        world.read("btnColor", ValueKind::String, true),
        Some(json!("blue"))
    );
    assert_eq!(world.read("size", ValueKind::Number, true), Some(json!(3)));
    assert_eq!(
        world.read("newCheckout", ValueKind::Bool, true),
        Some(json!(true))
    );
    assert_eq!(
        world.read("tiers", ValueKind::Array, true),
        Some(json!([1, 2]))
    );
    assert_eq!(
        world.read("copy", ValueKind::Object, true),
        Some(json!({"title": "Hi"}))
    );
    assert_eq!(
        world.read("banner", ValueKind::Any, true),
        Some(json!("sale"))
    );
}

#[test]
fn defaults_for_missing_null_and_other_types() {
    let mut world = standard(None);
    assert_eq!(world.read("missing", ValueKind::String, true), None);
    assert_eq!(world.read("discount", ValueKind::Number, true), None);
    assert_eq!(world.read("btnColor", ValueKind::Number, true), None);
    assert_eq!(world.read("tiers", ValueKind::Object, true), None);
    assert!(world
        .log_lines()
        .iter()
        .any(|l| l.contains("flag `btnColor` has another type than its default")));
}

#[test]
fn first_read_sends_one_exposure_with_the_segment_ids() {
    let mut world = standard(Some("user-1"));
    for _ in 0..50 {
        world.read("btnColor", ValueKind::String, true);
    }
    world.advance(150.0);
    let activations = world.sent_to("/activate");
    assert_eq!(
        activations.len(),
        1,
        "deduplicated per visitor and variation"
    );
    let call = &activations[0];
    assert_eq!(call.request.url, "https://decision.test/v2/activate");
    assert!(call
        .request
        .headers
        .contains(&("x-api-key", "key_test_123456".into())));
    assert!(call.request.keepalive);
    let body = call.body();
    let item = &body["batch"][0];
    assert_eq!(body["cid"], "env_test");
    assert_eq!(
        (&item["vid"], &item["aid"]),
        (&json!("user-1"), &json!("anon-1"))
    );
    assert_eq!(
        (&item["caid"], &item["vaid"]),
        (&json!("vg1"), &json!("v1"))
    );
    assert!(item["qt"].as_u64().unwrap() < 1000);
}

#[test]
fn each_variation_is_exposed_once_and_one_render_is_one_batch() {
    let mut world = standard(None);
    world.read("btnColor", ValueKind::String, true);
    world.read("size", ValueKind::Number, true);
    world.read("banner", ValueKind::String, true);
    assert!(
        world.sent_to("/activate").is_empty(),
        "waits for the end of the render's task"
    );
    world.advance(0.0);
    let calls = world.sent_to("/activate");
    assert_eq!(calls.len(), 1, "reads of one render go out as one batch");
    let items = calls[0].body()["batch"].as_array().unwrap().clone();
    let exposed: Vec<_> = items.iter().map(|item| item["vaid"].clone()).collect();
    assert_eq!(exposed, [json!("v1"), json!("v9")]);
    for item in items {
        assert_eq!(
            (&item["vid"], &item["aid"]),
            (&json!("anon-1"), &json!(null))
        );
    }
}

#[test]
fn null_value_exposes_missing_and_mismatch_do_not() {
    let mut world = standard(None);
    world.read("missing", ValueKind::String, true);
    world.read("btnColor", ValueKind::Number, true);
    world.advance(150.0);
    assert!(world.sent_to("/activate").is_empty());
    world.read("discount", ValueKind::Number, true);
    world.advance(150.0);
    assert_eq!(world.sent_to("/activate").len(), 1);
}

#[test]
fn reading_without_exposure_then_exposing() {
    let mut world = standard(None);
    assert_eq!(
        world.read("btnColor", ValueKind::String, false),
        Some(json!("blue"))
    );
    world.advance(150.0);
    assert!(world.sent_to("/activate").is_empty());
    assert!(world.run(|e, now, s| e.expose_flag(now, "btnColor", s)));
    assert!(!world.run(|e, now, s| e.expose_flag(now, "missing", s)));
    world.advance(150.0);
    assert_eq!(world.sent_to("/activate").len(), 1);
}

#[test]
fn failed_exposure_is_retried_with_backoff_and_a_rejected_one_is_not() {
    let mut world = World::new(config());
    world.route_all_ok();
    world.route(
        "/activate",
        &[
            (Reply::Network, 0.0),
            (Reply::Status(204, String::new()), 0.0),
        ],
    );
    world.start();
    world.advance(0.0);
    world.read("btnColor", ValueKind::String, true);
    world.advance(150.0);
    assert_eq!(world.sent_to("/activate").len(), 1);
    // No read needed: the queue retries after its backoff (1 to 2 s for the first retry).
    world.advance(999.0);
    assert_eq!(
        world.sent_to("/activate").len(),
        1,
        "not before the backoff"
    );
    world.advance(1100.0);
    let sent = world.sent_to("/activate");
    assert_eq!(sent.len(), 2, "retried once");
    let strip_qt = |v: J| {
        let mut v = v;
        v["batch"][0]["qt"] = json!(0);
        v
    };
    assert_eq!(
        strip_qt(sent[0].body()),
        strip_qt(sent[1].body()),
        "the same exposure"
    );
    world.read("btnColor", ValueKind::String, true);
    world.advance(150.0);
    assert_eq!(
        world.sent_to("/activate").len(),
        2,
        "delivered, so not sent again"
    );

    // A 400 is final: later reads do not send the exposure again.
    let mut world = World::new(config());
    world.segment.ids = ids(None, "anon-2");
    world.route_all_ok();
    world.route("/activate", &[(Reply::Status(400, "{}".into()), 0.0)]);
    world.start();
    world.advance(0.0);
    for _ in 0..3 {
        world.read("btnColor", ValueKind::String, true);
        world.advance(150.0);
    }
    assert_eq!(world.sent_to("/activate").len(), 1);
    assert_eq!(world.diagnose().activations.dropped, 1);
}

#[test]
fn metadata_and_snapshot_do_not_expose() {
    let mut world = standard(None);
    let metadata = world.engine.flag_metadata("btnColor").unwrap();
    assert_eq!(
        (
            metadata.campaign_id,
            metadata.campaign_name,
            metadata.slug,
            metadata.campaign_type
        ),
        ("c1", Some("Checkout"), Some("checkout"), Some("ab"))
    );
    assert_eq!(
        (
            metadata.variation_group_id,
            metadata.variation_group_name,
            metadata.variation_id
        ),
        ("vg1", Some("Everyone"), "v1")
    );
    assert_eq!(
        (metadata.variation_name, metadata.is_reference),
        (Some("Blue"), false)
    );
    assert!(world.engine.flag_metadata("missing").is_none());
    let keys: std::collections::BTreeSet<_> =
        world.engine.flags().values().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        ["banner", "btnColor", "copy", "newCheckout", "size", "tiers"]
            .into_iter()
            .collect()
    );
    world.advance(150.0);
    assert!(
        world.sent_to("/activate").is_empty(),
        "metadata and snapshot do not expose"
    );
}

#[test]
fn repeatable_reads_are_only_settled_primitive_answers() {
    let mut world = standard(None);
    let read = world.engine.read("btnColor", ValueKind::String, true);
    assert_eq!(
        (read.repeatable, read.expose),
        (None, true),
        "the first read exposes"
    );
    world.run(|e, now, s| e.expose_flag(now, "btnColor", s));
    let read = world.engine.read("btnColor", ValueKind::String, true);
    assert_eq!(
        (read.repeatable, read.expose),
        (Some(true), false),
        "settled, exposed"
    );
    let read = world.engine.read("size", ValueKind::Number, true);
    assert_eq!(
        read.repeatable,
        Some(true),
        "the variation of btnColor is exposed already"
    );
    let read = world.engine.read("banner", ValueKind::String, false);
    assert_eq!(
        read.repeatable,
        Some(false),
        "settled without exposure, for expose=false only"
    );
    let read = world.engine.read("tiers", ValueKind::Array, false);
    assert_eq!(
        read.repeatable, None,
        "arrays are copied afresh for each read"
    );
    let read = world.engine.read("missing", ValueKind::String, false);
    assert_eq!((read.value, read.repeatable), (None, None));
}

#[test]
fn no_exposure_without_consent_or_after_close() {
    let mut config = config();
    config.consent = false;
    let mut world = World::new(config);
    world.route_all_ok();
    world.start();
    world.read("who", ValueKind::String, true);
    world.advance(150.0);
    assert!(
        world.sent_to("/activate").is_empty(),
        "no exposure without consent"
    );
    let mut world = standard(None);
    world.run(|e, now, _| e.close(now));
    assert_eq!(world.read("btnColor", ValueKind::String, true), None);
    world.advance(150.0);
    assert!(world.sent_to("/activate").is_empty());
}

#[test]
fn experiment_viewed_goes_to_segment_when_asked() {
    let mut config = config();
    config.segment_experiment_viewed = true;
    let mut world = ready(config);
    world.who();
    world.who();
    world.advance(150.0);
    assert_eq!(world.tracked.len(), 1);
    assert_eq!(world.tracked[0].event, "Experiment Viewed");
    assert_eq!(
        world.tracked[0].properties,
        [
            ("experiment_id", Some("c1".into())),
            ("experiment_name", None),
            ("variation_id", Some("v1".into())),
            ("variation_name", None)
        ]
    );
    let mut world = ready(super::config());
    world.who();
    world.advance(150.0);
    assert!(world.tracked.is_empty(), "off by default");
}
