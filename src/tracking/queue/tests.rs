use super::*;
use proptest::prelude::*;

fn policy() -> QueuePolicy {
    QueuePolicy {
        batch_size: 3,
        flush_interval_ms: 5000.0,
        max_age_ms: MAX_AGE_MS,
        max_entries: 100,
    }
}

#[test]
fn flushes_at_batch_size_or_after_the_interval() {
    let mut q = Queue::new(policy());
    assert_eq!(q.next_flush_at(0.0), None);
    q.push("a", 0.0);
    assert_eq!(q.next_flush_at(10.0), Some(5000.0));
    q.push("b", 100.0);
    q.push("c", 200.0);
    assert_eq!(q.next_flush_at(300.0), Some(300.0), "batch size reached");
    let batch = q.take_batch(300.0).unwrap();
    assert_eq!(
        batch.iter().map(|e| e.item).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert_eq!(q.next_flush_at(300.0), None, "one send in flight at a time");
    assert!(q.take_batch(300.0).is_none());
    q.complete(Outcome::Delivered, 400.0, 0.0);
    assert!(q.is_empty());
    assert_eq!(q.delivered, 3);
}

#[test]
fn failures_back_off_and_rejections_are_counted() {
    let mut q = Queue::new(policy());
    q.push("a", 0.0);
    q.take_batch(5000.0).unwrap();
    q.complete(Outcome::Retry, 5000.0, 0.5);
    assert_eq!(q.entries()[0].attempts, 1);
    assert_eq!(q.entries()[0].not_before_ms, 5000.0 + 1500.0);
    assert!(q.take_batch(6000.0).is_none(), "not before the backoff");
    assert_eq!(q.next_flush_at(6000.0), Some(6500.0));
    q.retry_now(6000.0);
    q.take_batch(6000.0).unwrap();
    q.complete(Outcome::Rejected, 6000.0, 0.0);
    assert!(q.is_empty());
    assert_eq!(q.dropped.rejected, 1);
}

#[test]
fn a_failed_entry_goes_again_when_its_backoff_ends_not_after_the_interval() {
    let mut q = Queue::new(QueuePolicy {
        flush_interval_ms: 60_000.0,
        ..policy()
    });
    for item in ["a", "b", "c"] {
        q.push(item, 0.0);
    }
    q.take_batch(0.0).unwrap();
    q.complete(Outcome::Retry, 0.0, 0.0);
    assert_eq!(q.next_flush_at(10.0), Some(1000.0));
}

#[test]
fn held_entries_neither_flush_nor_drain() {
    let mut q = Queue::new(QueuePolicy {
        batch_size: 1,
        ..policy()
    });
    q.push("held", 0.0);
    assert_eq!(q.next_flush_at_where(0.0, |i| *i != "held"), None);
    assert!(q.take_batch_where(0.0, |i| *i != "held").is_none());
    let plan = q.plan_unload(|i| *i != "held", |_| 10, 1000, 10, 10);
    assert!(plan.is_empty(), "held entries stay for the next page");
    assert_eq!(q.len(), 1);
    assert_eq!(q.next_flush_at(0.0), Some(0.0), "released, it goes at once");
}

#[test]
fn an_asked_for_flush_ignores_the_interval_but_not_the_backoff() {
    let mut q = Queue::new(policy());
    q.push("a", 0.0);
    assert_eq!(q.next_flush_at(10.0), Some(5000.0));
    assert_eq!(q.next_ready_at_where(10.0, |_| true), Some(10.0));
    q.take_batch(10.0).unwrap();
    assert_eq!(q.next_ready_at_where(10.0, |_| true), None, "in flight");
    q.complete(Outcome::Retry, 10.0, 0.0);
    assert_eq!(q.next_ready_at_where(20.0, |_| true), Some(1010.0));
    assert_eq!(q.next_ready_at_where(20.0, |_| false), None);
}

#[test]
fn backoff_doubles_with_jitter_and_is_capped() {
    assert_eq!(backoff_ms(0, 0.0), 1000.0);
    assert_eq!(backoff_ms(3, 0.0), 8000.0);
    assert_eq!(backoff_ms(3, 1.0), 16000.0);
    assert_eq!(backoff_ms(30, 0.0), 300_000.0);
    assert_eq!(backoff_ms(2, 7.0), 8000.0, "jitter is clamped");
}

#[test]
fn statuses_map_to_outcomes() {
    assert_eq!(Outcome::of(Some(200)), Outcome::Delivered);
    assert_eq!(Outcome::of(Some(204)), Outcome::Delivered);
    assert_eq!(Outcome::of(None), Outcome::Retry);
    assert_eq!(Outcome::of(Some(503)), Outcome::Retry);
    assert_eq!(Outcome::of(Some(429)), Outcome::Retry);
    assert_eq!(Outcome::of(Some(400)), Outcome::Rejected);
}

#[test]
fn old_entries_expire_and_are_counted() {
    let mut q = Queue::new(policy());
    q.push("old", 0.0);
    q.push("new", MAX_AGE_MS);
    let batch = q.take_batch(MAX_AGE_MS + 1.0).unwrap();
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].item, "new");
    assert_eq!(q.dropped.expired, 1);
    let restored = Queue::restore(
        policy(),
        vec![Entry {
            id: 9,
            created_at_ms: 0.0,
            attempts: 0,
            not_before_ms: 0.0,
            left_at_ms: None,
            item: "x",
        }],
        MAX_AGE_MS + 1.0,
    );
    assert!(restored.is_empty());
    assert_eq!(restored.dropped.expired, 1);
}

#[test]
fn size_bound_drops_the_oldest() {
    let mut q = Queue::new(QueuePolicy {
        max_entries: 2,
        ..policy()
    });
    for (i, item) in ["a", "b", "c"].into_iter().enumerate() {
        q.push(item, i as f64);
    }
    assert_eq!(
        q.entries().iter().map(|e| e.item).collect::<Vec<_>>(),
        ["b", "c"]
    );
    assert_eq!(q.dropped.overflow, 1);
}

#[test]
fn purge_and_unload() {
    let mut q = Queue::new(policy());
    q.push("keep", 0.0);
    q.push("drop", 0.0);
    assert_eq!(q.purge(|item| *item != "drop"), 1);
    let plan = q.plan_unload(|_| true, |_| 10, 1000, 10, 10);
    assert_eq!(plan.len(), 1);
    let left = q.leave(&plan[0], 1.0);
    assert_eq!(left.len(), 1);
    assert_eq!(q.len(), 1, "what left stays stored until its answer");
    q.complete_left(&plan[0], Outcome::Delivered, 2.0, 0.0);
    assert!(q.is_empty());
}

#[test]
fn restored_ids_do_not_collide() {
    let entries = vec![Entry {
        id: 41,
        created_at_ms: 0.0,
        attempts: 2,
        not_before_ms: 0.0,
        left_at_ms: None,
        item: "x",
    }];
    let mut q = Queue::restore(policy(), entries, 1.0);
    q.push("y", 1.0);
    assert_eq!(q.entries()[1].id, 42);
}

#[derive(Debug, Clone)]
enum Op {
    Enqueue,
    Flush,
    SendOk,
    SendFail,
    SendRejected,
    Reload,
    Tick(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Enqueue),
        3 => Just(Op::Flush),
        2 => Just(Op::SendOk),
        2 => Just(Op::SendFail),
        1 => Just(Op::SendRejected),
        1 => Just(Op::Reload),
        2 => (0u16..20_000).prop_map(Op::Tick),
    ]
}

proptest! {
    /// Whatever happens, every item enqueued is delivered once or counted as rejected, never
    /// lost and never delivered twice. A reload keeps what was stored; a send in flight when the
    /// page died never reached the server in this model, so it is sent again.
    #[test]
    fn nothing_lost_nothing_duplicated(ops in prop::collection::vec(op(), 0..200)) {
        let policy = QueuePolicy { batch_size: 4, flush_interval_ms: 5000.0, max_age_ms: MAX_AGE_MS, max_entries: 10_000 };
        let mut q: Queue<u32> = Queue::new(policy);
        let mut now = 0.0;
        let mut next = 0u32;
        let mut in_flight: Option<Vec<u32>> = None;
        let mut delivered: Vec<u32> = Vec::new();
        let mut rejected: Vec<u32> = Vec::new();
        for op in ops {
            match op {
                Op::Enqueue => { q.push(next, now); next += 1; }
                Op::Flush => {
                    if in_flight.is_none() {
                        in_flight = q.take_batch(now).map(|b| b.into_iter().map(|e| e.item).collect());
                    }
                }
                Op::SendOk | Op::SendFail | Op::SendRejected => {
                    if let Some(batch) = in_flight.take() {
                        let outcome = match op { Op::SendOk => Outcome::Delivered, Op::SendFail => Outcome::Retry, _ => Outcome::Rejected };
                        match outcome {
                            Outcome::Delivered => delivered.extend(&batch),
                            Outcome::Rejected => rejected.extend(&batch),
                            Outcome::Retry => {}
                        }
                        q.complete(outcome, now, 0.3);
                    }
                }
                Op::Reload => {
                    in_flight = None;
                    q = Queue::restore(policy, q.entries().to_vec(), now);
                }
                Op::Tick(ms) => now += f64::from(ms),
            }
        }
        // Drain: the network comes back for good.
        in_flight = None;
        q = Queue::restore(policy, q.entries().to_vec(), now);
        for _ in 0..10_000 {
            q.retry_now(now);
            match q.take_batch(now) {
                Some(batch) => { delivered.extend(batch.iter().map(|e| e.item)); q.complete(Outcome::Delivered, now, 0.0); }
                None => break,
            }
        }
        let _ = in_flight;
        let mut all: Vec<u32> = delivered.iter().chain(&rejected).copied().collect();
        all.sort_unstable();
        let expected: Vec<u32> = (0..next).collect();
        prop_assert_eq!(all, expected);
    }
}

proptest! {
    #[test]
    fn merging_two_sorted_lists_is_a_stable_sort_of_both(
        left in prop::collection::vec(prop_oneof![Just(-0.0), Just(0.0), (0u8..6).prop_map(f64::from)], 0..12),
        right in prop::collection::vec(prop_oneof![Just(-0.0), Just(0.0), (0u8..6).prop_map(f64::from)], 0..12),
    ) {
        let entries = |ages: &[f64], from: usize| -> Vec<Entry<usize>> {
            let mut ages = ages.to_vec();
            ages.sort_by(f64::total_cmp);
            ages.iter()
                .enumerate()
                .map(|(i, &age)| Entry { id: (from + i) as u64, created_at_ms: age, attempts: 0, not_before_ms: 0.0, left_at_ms: None, item: i })
                .collect()
        };
        let (a, b) = (entries(&left, 0), entries(&right, 100));
        let mut expected: Vec<Entry<usize>> = a.iter().chain(&b).cloned().collect();
        expected.sort_by(|x, y| x.created_at_ms.total_cmp(&y.created_at_ms));
        let ids = |v: &[Entry<usize>]| v.iter().map(|e| e.id).collect::<Vec<_>>();
        prop_assert_eq!(ids(&merge_by_age(a, b)), ids(&expected));
    }
}

#[test]
fn restored_entries_go_before_what_was_queued_since_with_their_own_ids() {
    let mut q = Queue::new(policy());
    q.push("queued after start", 50.0);
    let restored = vec![
        Entry {
            id: 1,
            created_at_ms: 10.0,
            attempts: 2,
            not_before_ms: 0.0,
            left_at_ms: None,
            item: "left a",
        },
        Entry {
            id: 2,
            created_at_ms: 20.0,
            attempts: 0,
            not_before_ms: 0.0,
            left_at_ms: None,
            item: "left b",
        },
    ];
    q.restore_front(restored, 60.0);
    let items: Vec<_> = q.entries().iter().map(|e| e.item).collect();
    assert_eq!(items, ["left a", "left b", "queued after start"]);
    let mut ids: Vec<_> = q.entries().iter().map(|e| e.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3, "every entry has its own ID");
    assert_eq!(q.entries()[0].attempts, 2, "bookkeeping survives");
}

#[test]
fn unload_takes_only_what_never_failed_is_allowed_and_not_out() {
    let mut q = Queue::new(policy());
    for item in ["failed", "held", "out", "a", "b", "c", "d"] {
        q.push(item, 0.0);
    }
    // "failed" was sent once and backs off; "out" is in the regular batch in flight.
    let failed = q.entries()[0].id;
    q.entries[0].attempts = 1;
    q.in_flight = vec![q.entries()[2].id];
    let plan = q.plan_unload(|i| *i != "held", |_| 10, 10_000, 20, 2);
    let names = |ids: &[u64]| -> Vec<&str> {
        ids.iter()
            .map(|id| q.entries().iter().find(|e| e.id == *id).unwrap().item)
            .collect()
    };
    assert_eq!(plan.len(), 2, "batches of two");
    assert_eq!(names(&plan[0]), ["a", "b"]);
    assert_eq!(names(&plan[1]), ["c", "d"]);
    assert!(!plan.concat().contains(&failed));
}

#[test]
fn unload_stops_at_the_first_entry_over_the_budget() {
    let mut q = Queue::new(policy());
    for item in ["small", "big", "small again"] {
        q.push(item, 0.0);
    }
    let size = |i: &&str| if *i == "big" { 500 } else { 10 };
    // envelope 20 + (10 + 1) = 31 for the first; the big one does not fit in what is left.
    let plan = q.plan_unload(|_| true, size, 100, 20, 10);
    assert_eq!(plan.len(), 1);
    assert_eq!(
        plan[0],
        vec![q.entries()[0].id],
        "in queue order, nothing after the refusal"
    );
    assert!(
        q.plan_unload(|_| true, size, 30, 20, 10).is_empty(),
        "nothing fits"
    );
}

#[test]
fn what_left_at_unload_waits_out_the_grace_on_the_next_page() {
    let mut q = Queue::new(policy());
    q.push("left", 0.0);
    q.push("stayed", 0.0);
    let ids = vec![q.entries()[0].id];
    q.leave(&ids, 1000.0);
    assert_eq!(q.entries()[0].left_at_ms, Some(1000.0));
    assert!(
        q.plan_unload(|_| true, |_| 1, 10_000, 1, 10).concat() == vec![q.entries()[1].id],
        "firing twice sends nothing twice"
    );
    // The page died: the next one restores what was stored.
    let next = Queue::restore(policy(), q.entries().to_vec(), 2000.0);
    assert_eq!(next.entries()[0].not_before_ms, 1000.0 + UNLOAD_GRACE_MS);
    assert_eq!(
        next.next_ready_at_where(2000.0, |i| *i == "left"),
        Some(1000.0 + UNLOAD_GRACE_MS)
    );
    assert!(
        next.plan_unload(|_| true, |_| 1, 10_000, 1, 10).concat() == vec![next.entries()[1].id]
    );
}

#[test]
fn a_refused_keepalive_request_leaves_its_entries_for_a_retry() {
    let mut q = Queue::new(policy());
    q.push("a", 0.0);
    let ids = vec![q.entries()[0].id];
    q.leave(&ids, 10.0);
    q.complete_left(&ids, Outcome::Retry, 20.0, 0.0);
    let entry = &q.entries()[0];
    assert_eq!((entry.attempts, entry.left_at_ms), (1, None));
    assert_eq!(entry.not_before_ms, 1020.0);
}

#[test]
fn the_regular_batch_out_at_unload_is_marked_as_left() {
    let mut q = Queue::new(policy());
    q.push("a", 0.0);
    q.push("b", 0.0);
    q.take_batch(6000.0).unwrap();
    q.batch_left(7000.0);
    assert!(q.entries().iter().all(|e| e.left_at_ms == Some(7000.0)));
    let next = Queue::restore(policy(), q.entries().to_vec(), 8000.0);
    assert_eq!(next.next_flush_at(8000.0), Some(7000.0 + UNLOAD_GRACE_MS));
}

fn retry_after(ms: f64) -> Settlement {
    Settlement {
        retry_after_ms: Some(ms),
        ..Settlement::from(Outcome::Retry)
    }
}

#[test]
fn a_retry_after_longer_than_the_backoff_is_honoured() {
    let mut q = Queue::new(policy());
    q.push("a", 0.0);
    q.take_batch(5000.0).unwrap();
    q.complete(retry_after(120_000.0), 5000.0, 0.0);
    assert_eq!(q.entries()[0].not_before_ms, 125_000.0);
    q.retry_now(6000.0);
    q.take_batch(6000.0).unwrap();
    q.complete(retry_after(10.0), 6000.0, 0.0);
    assert_eq!(
        q.entries()[0].not_before_ms,
        6000.0 + 2000.0,
        "the backoff when it is longer"
    );
}

#[test]
fn an_unanswered_keepalive_batch_just_before_unload_is_waited_out_by_a_next_page() {
    let unanswered = Settlement {
        maybe_delivered: true,
        ..Settlement::from(Outcome::Retry)
    };
    let mut q = Queue::new(policy());
    q.push("a", 0.0);
    q.take_batch(5000.0).unwrap();
    q.complete(unanswered, 5000.0, 0.0);
    assert_eq!(
        q.entries()[0].not_before_ms,
        6000.0,
        "this page retries after the backoff"
    );
    assert_eq!(q.entries()[0].left_at_ms, None);
    q.unanswered_left(5000.0 + UNLOAD_RACE_MS);
    assert_eq!(
        q.entries()[0].left_at_ms,
        Some(5000.0),
        "cut off by the navigation"
    );
    let next = Queue::restore(policy(), q.entries().to_vec(), 5500.0);
    assert_eq!(next.next_flush_at(5500.0), Some(5000.0 + UNLOAD_GRACE_MS));

    // Longer before the unload, or answered with a failure: a failure, retried with no grace.
    let mut earlier = Queue::new(policy());
    earlier.push("b", 0.0);
    earlier.take_batch(5000.0).unwrap();
    earlier.complete(unanswered, 5000.0, 0.0);
    earlier.unanswered_left(5000.0 + UNLOAD_RACE_MS + 1.0);
    assert_eq!(earlier.entries()[0].left_at_ms, None);
    let mut answered = Queue::new(policy());
    answered.push("c", 0.0);
    answered.take_batch(5000.0).unwrap();
    answered.complete(Outcome::Retry, 5000.0, 0.0);
    answered.unanswered_left(5001.0);
    assert_eq!(
        answered.entries()[0].left_at_ms,
        None,
        "a 503 is known not delivered"
    );
}
