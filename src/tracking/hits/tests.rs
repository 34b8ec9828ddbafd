use super::*;
use proptest::prelude::*;
use serde_json::json;

fn event(action: &str) -> Hit {
    Hit {
        visitor_id: "A".into(),
        customer_user_id: Some("U".into()),
        queue_time_ms: 12.0,
        kind: HitKind::Event(EventHit {
            category: EventCategory::ActionTracking,
            action: action.into(),
            label: Some("checkout".into()),
            value: Some(3.0),
        }),
    }
}

fn batch_text(hits: &[Hit]) -> String {
    let mut out = String::new();
    write_batch(&mut out, "env1", hits);
    out
}

fn parse_json(v: serde_json::Value) -> Result<HitBatch, HitError> {
    parse_hits_text(&v.to_string())
}

fn err(index: Option<usize>, reason: &'static str) -> Result<HitBatch, HitError> {
    Err(HitError { index, reason })
}

#[test]
fn batch_body_matches_the_contract() {
    let page = Hit {
        visitor_id: "A".into(),
        customer_user_id: None,
        queue_time_ms: 0.0,
        kind: HitKind::PageView {
            url: "https://shop.example/".into(),
        },
    };
    let body: serde_json::Value = serde_json::from_str(&batch_text(&[event("buy"), page])).unwrap();
    assert_eq!(
        body,
        json!({"ds": "APP", "cid": "env1", "t": "BATCH", "qt": 0, "h": [
            {"vid": "A", "cuid": "U", "t": "EVENT", "qt": 12, "ec": "Action Tracking",
             "ea": "buy", "el": "checkout", "ev": 3},
            {"vid": "A", "cuid": null, "t": "PAGEVIEW", "qt": 0, "dl": "https://shop.example/"}
        ]})
    );
}

#[test]
fn transaction_and_item_keys() {
    let body = json!({"ds": "APP", "cid": "env1", "t": "BATCH", "qt": 0, "h": [
        {"vid": "A", "cuid": null, "t": "TRANSACTION", "qt": 5, "tid": "T1", "ta": "Purchase",
         "tr": 42.5, "tt": 2.1, "ts": 4, "tc": "EUR", "tcc": "WELCOME", "icn": 2, "sm": "post",
         "pm": "card"},
        {"vid": "A", "t": "ITEM", "tid": "T1", "in": "Mug", "ic": "SKU-1", "ip": 9.99, "iq": 2,
         "iv": "kitchen"}
    ]});
    let batch = parse_json(body).unwrap();
    assert_eq!(batch.env_id, "env1");
    let HitKind::Transaction(t) = &batch.hits[0].kind else {
        panic!("not a transaction: {:?}", batch.hits[0]);
    };
    assert_eq!(
        (t.revenue, t.currency.as_deref(), t.item_count),
        (Some(42.5), Some("EUR"), Some(2.0))
    );
    let HitKind::Item(i) = &batch.hits[1].kind else {
        panic!("not an item: {:?}", batch.hits[1]);
    };
    assert_eq!((i.code.as_str(), i.quantity), ("SKU-1", Some(2.0)));
    // A hit without `qt` waited no time.
    assert_eq!(batch.hits[1].queue_time_ms, 0.0);
}

#[test]
fn single_form_is_one_hit() {
    let body = json!({"cid": "env1", "ds": "APP", "vid": "A", "t": "EVENT",
                      "ec": "User Engagement", "ea": "scroll"});
    let batch = parse_json(body).unwrap();
    assert_eq!(batch.hits.len(), 1);
    assert_eq!(batch.hits[0].customer_user_id, None);
}

#[test]
fn consent_hit_round_trips_and_reads_back() {
    let hit = Hit::consent("A", Some("U"), "flagship-segment", false);
    assert_eq!(hit.consent_given(), Some(false));
    let parsed = parse_hits_text(&batch_text(std::slice::from_ref(&hit))).unwrap();
    assert_eq!(parsed.hits, vec![hit]);
    assert_eq!(
        Hit::consent("A", None, "c", true).consent_given(),
        Some(true)
    );
    assert_eq!(event("buy").consent_given(), None);
}

#[test]
fn envelope_errors_have_reasons() {
    assert_eq!(parse_hits_text("{"), err(None, "body is not JSON"));
    assert_eq!(
        parse_hits_text("[]"),
        err(None, "body is not a JSON object")
    );
    assert_eq!(
        parse_json(json!({"t": "BATCH", "h": []})),
        err(None, "cid is missing or not a non-empty string")
    );
    assert_eq!(
        parse_json(json!({"cid": "e", "t": "BATCH", "h": {}})),
        err(None, "h is missing or not an array")
    );
    let huge = " ".repeat(MAX_BODY_BYTES + 1);
    assert_eq!(parse_hits_text(&huge), err(None, "body larger than 1 MiB"));
}

#[test]
fn each_rule_of_the_contract_is_enforced() {
    let base = json!({"vid": "A", "cuid": null, "t": "EVENT", "qt": 0,
                      "ec": "Action Tracking", "ea": "buy"});
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (json!({"vid": ""}), "vid is required"),
        (json!({"vid": 7}), "vid is required"),
        (json!({"cuid": 7}), "cuid is not a string"),
        (json!({"cuid": ""}), "cuid is empty"),
        (json!({"qt": -1}), "qt is not a number >= 0"),
        (
            json!({"t": "NOPE"}),
            "t is not EVENT, TRANSACTION, ITEM or PAGEVIEW",
        ),
        (json!({"t": 1}), "t is missing or not a string"),
        (json!({"t": "BATCH"}), "a BATCH cannot be nested in a batch"),
        (
            json!({"ec": "Clicks"}),
            "ec is not \"Action Tracking\" or \"User Engagement\"",
        ),
        (json!({"ec": null}), "ec is required"),
        (json!({"ea": ""}), "ea is required"),
        (json!({"el": 3}), "el is not a string"),
        (json!({"ev": -1}), "ev is not an integer >= 0"),
        (json!({"ev": 1.5}), "ev is not an integer >= 0"),
        (json!({"ev": "3"}), "ev is not an integer >= 0"),
        (json!({"ev": 1e300}), "ev is not an integer >= 0"),
        (json!({"t": "TRANSACTION", "ta": "goal"}), "tid is required"),
        (json!({"t": "TRANSACTION", "tid": "T"}), "ta is required"),
        (
            json!({"t": "TRANSACTION", "tid": "T", "ta": "g", "tc": "EURO"}),
            "tc is not a 3-letter currency code",
        ),
        (
            json!({"t": "TRANSACTION", "tid": "T", "ta": "g", "tc": "E1R"}),
            "tc is not a 3-letter currency code",
        ),
        (
            json!({"t": "TRANSACTION", "tid": "T", "ta": "g", "icn": 0.5}),
            "icn is not an integer >= 0",
        ),
        (
            json!({"t": "TRANSACTION", "tid": "T", "ta": "g", "tr": "12"}),
            "tr is not a number",
        ),
        (
            json!({"t": "ITEM", "tid": "T", "in": "Mug"}),
            "ic is required",
        ),
        (
            json!({"t": "ITEM", "tid": "T", "ic": "S"}),
            "in is required",
        ),
        (
            json!({"t": "ITEM", "tid": "T", "in": "M", "ic": "S", "iq": -2}),
            "iq is not an integer >= 0",
        ),
        (json!({"t": "PAGEVIEW"}), "dl is required"),
    ];
    for (patch, reason) in cases {
        let mut hit = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            hit[k] = v.clone();
        }
        let body = json!({"ds": "APP", "cid": "e", "t": "BATCH", "qt": 0, "h": [base, hit]});
        assert_eq!(parse_json(body), err(Some(1), reason), "{patch}");
    }
}

#[test]
fn extra_keys_are_ignored() {
    let body = json!({"cid": "e", "vid": "A", "t": "PAGEVIEW", "dl": "/", "sn": "1x1", "uip": "x"});
    assert!(parse_json(body).is_ok());
}

#[test]
fn oversized_batches_are_refused() {
    let hits = vec![json!({"vid": "A", "t": "PAGEVIEW", "dl": "/"}); MAX_BATCH_HITS + 1];
    let body = json!({"cid": "e", "t": "BATCH", "h": hits});
    assert_eq!(
        parse_json(body),
        err(None, "more than 1000 hits in a batch")
    );
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(".{0,8}")
}

fn opt_amount() -> impl Strategy<Value = Option<f64>> {
    prop::option::of(-1e9f64..1e9)
}

fn opt_count() -> impl Strategy<Value = Option<f64>> {
    prop::option::of((0u64..1 << 53).prop_map(|n| n as f64))
}

fn arb_kind() -> impl Strategy<Value = HitKind> {
    prop_oneof![
        (any::<bool>(), ".{1,8}", opt_text(), opt_count()).prop_map(
            |(engaged, action, label, value)| {
                HitKind::Event(EventHit {
                    category: if engaged {
                        EventCategory::UserEngagement
                    } else {
                        EventCategory::ActionTracking
                    },
                    action,
                    label,
                    value,
                })
            }
        ),
        (
            (".{1,8}", ".{1,8}", opt_amount(), opt_amount(), opt_amount()),
            (
                prop::option::of("[A-Za-z]{3}"),
                opt_text(),
                opt_count(),
                opt_text(),
                opt_text()
            ),
        )
            .prop_map(
                |(
                    (id, affiliation, revenue, tax, shipping),
                    (currency, coupon, item_count, sm, pm),
                )| {
                    HitKind::Transaction(TransactionHit {
                        id,
                        affiliation,
                        revenue,
                        tax,
                        shipping,
                        currency,
                        coupon,
                        item_count,
                        shipping_method: sm,
                        payment_method: pm,
                    })
                }
            ),
        (
            ".{1,8}",
            ".{1,8}",
            ".{1,8}",
            opt_amount(),
            opt_count(),
            opt_text()
        )
            .prop_map(|(transaction_id, name, code, price, quantity, category)| {
                HitKind::Item(ItemHit {
                    transaction_id,
                    name,
                    code,
                    price,
                    quantity,
                    category,
                })
            }),
        ".{1,16}".prop_map(|url| HitKind::PageView { url }),
    ]
}

fn arb_hit() -> impl Strategy<Value = Hit> {
    (
        ".{1,12}",
        prop::option::of(".{1,12}"),
        0u32..100_000,
        arb_kind(),
    )
        .prop_map(|(visitor_id, customer_user_id, qt, kind)| Hit {
            visitor_id,
            customer_user_id,
            queue_time_ms: f64::from(qt),
            kind,
        })
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value as J;
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        any::<i64>().prop_map(J::from),
        any::<f64>().prop_map(J::from),
        prop_oneof![
            Just("BATCH".to_owned()),
            Just("EVENT".to_owned()),
            Just("TRANSACTION".to_owned()),
            Just("ITEM".to_owned()),
            Just("PAGEVIEW".to_owned()),
            Just("Action Tracking".to_owned()),
            ".{0,6}",
        ]
        .prop_map(J::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(J::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("cid".to_owned()),
                    Just("t".to_owned()),
                    Just("h".to_owned()),
                    Just("vid".to_owned()),
                    Just("cuid".to_owned()),
                    Just("ec".to_owned()),
                    Just("ea".to_owned()),
                    Just("ev".to_owned()),
                    Just("tid".to_owned()),
                    Just("tc".to_owned()),
                    Just("dl".to_owned()),
                    ".{0,4}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| J::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn write_then_parse_round_trips(hits in prop::collection::vec(arb_hit(), 0..6)) {
        for hit in &hits {
            prop_assert_eq!(hit.validate(), Ok(()));
        }
        let parsed = parse_hits_text(&batch_text(&hits)).unwrap();
        prop_assert_eq!(parsed, HitBatch { env_id: "env1".into(), hits });
    }

    #[test]
    fn arbitrary_json_never_panics(v in arb_json()) {
        let _ = parse_hits_text(&v.to_string());
    }

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,200}") {
        let _ = parse_hits_text(&s);
    }
}
