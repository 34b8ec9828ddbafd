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
    let left = q.hand_over(&plan[0]);
    assert_eq!(left.len(), 1);
    assert_eq!(
        q.len(),
        1,
        "in memory until its answer, should the page live on"
    );
    assert_eq!(q.stored().count(), 0, "out of storage at once");
    q.complete_handed_over(&plan[0], Outcome::Delivered, 2.0, 0.0);
    assert!(q.is_empty());
    assert_eq!(q.delivered, 1);
}

#[test]
fn restored_ids_do_not_collide() {
    let entries = vec![Entry {
        id: 41,
        created_at_ms: 0.0,
        attempts: 2,
        not_before_ms: 0.0,
        item: "x",
    }];
    let mut q = Queue::restore(policy(), entries, 1.0);
    q.push("y", 1.0);
    assert_eq!(q.entries()[1].id, 42);
}

#[derive(Debug, Clone)]
enum Op {
    Enqueue,
    /// The regular batch goes out, in a keepalive request or not.
    Flush {
        keepalive: bool,
    },
    SendOk,
    /// No answer, and the server never had it (offline, refused).
    SendFail,
    /// An answer with a retryable status (503).
    SendStatusFail,
    SendRejected,
    /// Chromium rejects the keepalive batch as a navigation starts, sends it all the same, and
    /// `pagehide` follows within a few ms.
    CutOffByNavigation,
    /// The page is hidden (`page_hide` false) or unloaded (true); what leaves goes in keepalive
    /// requests, which answer later (or never).
    Unload {
        page_hide: bool,
    },
    /// An unload request's answer, while the page lives on: 2xx, 503, or none.
    UnloadAnswer(u8),
    /// The page dies; the browser completes its keepalive requests (`false`: the network fails
    /// during them) and the next page restores what was stored.
    Reload {
        network_ok: bool,
    },
    Tick(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Enqueue),
        3 => any::<bool>().prop_map(|keepalive| Op::Flush { keepalive }),
        2 => Just(Op::SendOk),
        2 => Just(Op::SendFail),
        1 => Just(Op::SendStatusFail),
        1 => Just(Op::SendRejected),
        1 => Just(Op::CutOffByNavigation),
        2 => any::<bool>().prop_map(|page_hide| Op::Unload { page_hide }),
        1 => (0u8..3).prop_map(Op::UnloadAnswer),
        2 => any::<bool>().prop_map(|network_ok| Op::Reload { network_ok }),
        2 => (0u16..20_000).prop_map(Op::Tick),
    ]
}

/// A request out, as the model knows it: what it carries, whether the browser completes it
/// when the page dies, which entry IDs it settles, and whether it was handed over at an unload.
#[derive(Debug, Clone)]
struct Out {
    items: Vec<u32>,
    ids: Vec<u64>,
    keepalive: bool,
    handed_over: bool,
}

proptest! {
    /// Issue 20, as a property of the queue: whatever happens (failures, refusals, unloads,
    /// keepalive requests cut off by a navigation, reloads), no item reaches the server twice;
    /// and every item reaches it once, or is refused (counted), or was lost in one of the two
    /// ways taken against certain duplicates: the network failed during a keepalive request
    /// handed to the browser as the page went away, or a keepalive request failed less than
    /// UNLOAD_RACE_MS before `pagehide` (as Chromium reports one the navigation cut off).
    #[test]
    fn issue_20_exactly_once(ops in prop::collection::vec(op(), 0..250)) {
        let policy = QueuePolicy { batch_size: 4, flush_interval_ms: 0.0, max_age_ms: MAX_AGE_MS, max_entries: 10_000 };
        let mut q: Queue<u32> = Queue::new(policy);
        let mut now = 0.0;
        let mut next = 0u32;
        let mut batch: Option<Out> = None;
        let mut leaving: Vec<Out> = Vec::new();
        let mut received: Vec<u32> = Vec::new();
        let mut rejected: Vec<u32> = Vec::new();
        let mut lost: Vec<u32> = Vec::new();
        // The last keepalive batch that got no answer, and when: a `pagehide` within
        // UNLOAD_RACE_MS takes it as cut off by the navigation, and sent.
        let mut unanswered: Option<(f64, Vec<u32>)> = None;
        let ids = |entries: &[Entry<u32>]| -> (Vec<u32>, Vec<u64>) {
            (entries.iter().map(|e| e.item).collect(), entries.iter().map(|e| e.id).collect())
        };
        // The page goes away (hidden, or `pagehide`): what the engine does, and what the
        // model learns. A real failure just before `pagehide` cannot be told from a cut-off: it
        // is taken as sent, the second way an item can be lost.
        macro_rules! unload {
            ($page_hide:expr) => {{
                let page_hide: bool = $page_hide;
                if let Some((at, items)) = unanswered.take_if(|_| page_hide) {
                    let out: Vec<u32> = batch.iter().chain(&leaving).flat_map(|o| o.items.clone()).collect();
                    if now - at <= UNLOAD_RACE_MS {
                        lost.extend(items.iter().filter(|i| {
                            !received.contains(i) && !rejected.contains(i) && !out.contains(i)
                        }));
                    }
                }
                q.hand_over_at_unload(now, page_hide);
                if let Some(out) = batch.as_mut() {
                    out.handed_over |= out.keepalive;
                }
                leaving.extend(plan_and_hand_over(&mut q));
            }};
        }
        for op in ops {
            match op {
                Op::Enqueue => { q.push(next, now); next += 1; }
                Op::Flush { keepalive } => {
                    if batch.is_none() {
                        if let Some(taken) = q.take_batch(now) {
                            if keepalive { q.mark_batch_keepalive(); }
                            let (items, ids) = ids(&taken);
                            batch = Some(Out { items, ids, keepalive, handed_over: false });
                        }
                    }
                }
                Op::SendOk | Op::SendFail | Op::SendStatusFail | Op::SendRejected => {
                    if let Some(out) = batch.take() {
                        let settlement = match op {
                            Op::SendOk => { received.extend(&out.items); Outcome::Delivered.into() }
                            Op::SendRejected => { rejected.extend(&out.items); Outcome::Rejected.into() }
                            Op::SendStatusFail => Outcome::Retry.into(),
                            // The network failed during a request handed over at an unload.
                            _ if out.handed_over => { lost.extend(&out.items); Settlement::no_answer() }
                            _ => {
                                if out.keepalive { unanswered = Some((now, out.items.clone())); }
                                Settlement::no_answer()
                            }
                        };
                        q.complete(settlement, now, 0.3);
                    }
                }
                Op::CutOffByNavigation => {
                    if let Some(out) = batch.take_if(|out| out.keepalive) {
                        received.extend(&out.items);
                        if !out.handed_over {
                            unanswered = Some((now, out.items.clone()));
                        }
                        q.complete(Settlement::no_answer(), now, 0.3);
                        now += 5.0;
                        unload!(true);
                        reload(&mut q, policy, now, &mut leaving, &mut received, &mut lost, true);
                        unanswered = None;
                    }
                }
                Op::Unload { page_hide } => unload!(page_hide),
                Op::UnloadAnswer(kind) => {
                    if !leaving.is_empty() {
                        let out = leaving.remove(0);
                        let settlement = match kind {
                            0 => { received.extend(&out.items); Outcome::Delivered.into() }
                            1 => Outcome::Retry.into(),
                            _ => { lost.extend(&out.items); Settlement::no_answer() }
                        };
                        q.complete_handed_over(&out.ids, settlement, now, 0.3);
                    }
                }
                Op::Reload { network_ok } => {
                    // `pagehide` first. The regular batch: a keepalive one is completed by the
                    // browser; another is cancelled with the page and never reached the server
                    // in this model.
                    unload!(true);
                    if let Some(out) = batch.take().filter(|out| out.keepalive) {
                        leaving.push(out);
                    }
                    reload(&mut q, policy, now, &mut leaving, &mut received, &mut lost, network_ok);
                    unanswered = None;
                }
                Op::Tick(ms) => now += f64::from(ms),
            }
        }
        // Drain: the page goes on, and the network comes back for good.
        if let Some(out) = batch.take() {
            received.extend(&out.items);
            q.complete(Outcome::Delivered, now, 0.0);
        }
        for out in leaving.drain(..) {
            received.extend(&out.items);
            q.complete_handed_over(&out.ids, Outcome::Delivered, now, 0.0);
        }
        for _ in 0..10_000 {
            q.retry_now(now);
            match q.take_batch(now) {
                Some(taken) => { received.extend(taken.iter().map(|e| e.item)); q.complete(Outcome::Delivered, now, 0.0); }
                None => break,
            }
        }
        let mut once = received.clone();
        once.sort_unstable();
        once.dedup();
        prop_assert_eq!(once.len(), received.len(), "received twice: {:?}", received);
        let mut all: Vec<u32> = received.iter().chain(&rejected).chain(&lost).copied().collect();
        all.sort_unstable();
        let expected: Vec<u32> = (0..next).collect();
        prop_assert_eq!(all, expected);
    }
}

/// What leaves at unload, as the engine plans it: everything eligible, one request per batch.
fn plan_and_hand_over(q: &mut Queue<u32>) -> Vec<Out> {
    let plan = q.plan_unload(|_| true, |_| 10, 10_000, 10, 4);
    plan.into_iter()
        .map(|ids| {
            let items = q.hand_over(&ids).iter().map(|e| e.item).collect();
            Out {
                items,
                ids,
                keepalive: true,
                handed_over: true,
            }
        })
        .collect()
}

/// The page dies: its keepalive requests complete (or fail on the network), and the next page
/// restores what was stored.
fn reload(
    q: &mut Queue<u32>,
    policy: QueuePolicy,
    now: f64,
    leaving: &mut Vec<Out>,
    received: &mut Vec<u32>,
    lost: &mut Vec<u32>,
    network_ok: bool,
) {
    for out in leaving.drain(..) {
        match network_ok {
            true => received.extend(&out.items),
            false => lost.extend(&out.items),
        }
    }
    let stored: Vec<Entry<u32>> = q.stored().cloned().collect();
    *q = Queue::restore(policy, stored, now);
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
                .map(|(i, &age)| Entry { id: (from + i) as u64, created_at_ms: age, attempts: 0, not_before_ms: 0.0, item: i })
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
            item: "left a",
        },
        Entry {
            id: 2,
            created_at_ms: 20.0,
            attempts: 0,
            not_before_ms: 0.0,
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
fn issue_20_what_is_handed_over_at_unload_leaves_storage_and_is_never_sent_again() {
    let mut q = Queue::new(policy());
    q.push("left", 0.0);
    q.push("stayed", 0.0);
    let ids = vec![q.entries()[0].id];
    q.hand_over(&ids);
    assert!(
        q.plan_unload(|_| true, |_| 1, 10_000, 1, 10).concat() == vec![q.entries()[1].id],
        "firing twice sends nothing twice"
    );
    assert!(q
        .take_batch(0.0)
        .is_some_and(|b| b.len() == 1 && b[0].item == "stayed"));
    // The page dies: the next one restores only what was stored.
    let stored: Vec<_> = q.stored().cloned().collect();
    let next = Queue::restore(policy(), stored, 2000.0);
    let items: Vec<_> = next.entries().iter().map(|e| e.item).collect();
    assert_eq!(items, ["stayed"]);
}

#[test]
fn issue_20_a_handed_over_request_is_settled_by_its_answer_while_the_page_lives() {
    // Unanswered (the network failed, or the page is going): the browser had it; delivered.
    let mut q = Queue::new(policy());
    q.push("a", 0.0);
    let ids = vec![q.entries()[0].id];
    q.hand_over(&ids);
    q.complete_handed_over(&ids, Settlement::no_answer(), 20.0, 0.0);
    assert!(q.is_empty());
    assert_eq!(q.delivered, 1);
    // A retryable status, seen by a page that lived on: not delivered, so back in the queue,
    // stored again, after its backoff.
    let mut q = Queue::new(policy());
    q.push("a", 0.0);
    let ids = vec![q.entries()[0].id];
    q.hand_over(&ids);
    q.complete_handed_over(&ids, Outcome::Retry, 20.0, 0.0);
    let entry = &q.entries()[0];
    assert_eq!((entry.attempts, entry.not_before_ms), (1, 1020.0));
    assert_eq!(q.stored().count(), 1);
    // Refused for good: dropped and counted.
    q.retry_now(2000.0);
    let ids: Vec<u64> = q.take_batch(2000.0).unwrap().iter().map(|e| e.id).collect();
    q.complete(Outcome::Rejected, 2100.0, 0.0);
    assert!(q.is_empty() && ids.len() == 1);
    assert_eq!(q.dropped.rejected, 1);
}

#[test]
fn issue_20_the_regular_batch_out_at_unload_is_handed_over_only_if_it_is_keepalive() {
    let mut q = Queue::new(policy());
    q.push("a", 0.0);
    q.push("b", 0.0);
    q.take_batch(6000.0).unwrap();
    q.mark_batch_keepalive();
    q.hand_over_at_unload(7000.0, true);
    assert_eq!(
        q.stored().count(),
        0,
        "the browser completes it after the page"
    );
    q.complete(Settlement::no_answer(), 7100.0, 0.0);
    assert!(q.is_empty());
    assert_eq!(q.delivered, 2);

    // Too large for keepalive: cancelled with the page, so it stays stored for the next one.
    let mut q = Queue::new(policy());
    q.push("big", 0.0);
    q.take_batch(6000.0).unwrap();
    q.hand_over_at_unload(7000.0, true);
    assert_eq!(q.stored().count(), 1);
    let stored: Vec<_> = q.stored().cloned().collect();
    let next = Queue::restore(policy(), stored, 8000.0);
    assert_eq!(
        next.next_flush_at(8000.0),
        Some(8000.0),
        "sent by the next page at once"
    );
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
fn issue_20_a_keepalive_batch_unanswered_just_before_pagehide_is_handed_over() {
    // Chromium rejects a keepalive fetch as the page goes away, just before `pagehide`, and
    // sends it all the same.
    let unanswered = Settlement::no_answer();
    let mut q = Queue::new(policy());
    q.push("a", 0.0);
    q.take_batch(5000.0).unwrap();
    q.mark_batch_keepalive();
    q.complete(unanswered, 5000.0, 0.0);
    assert_eq!(
        q.entries()[0].not_before_ms,
        6000.0,
        "this page retries after the backoff"
    );
    q.hand_over_at_unload(5000.0 + UNLOAD_RACE_MS, true);
    assert!(
        q.is_empty(),
        "cut off by the navigation: the browser has it"
    );
    assert_eq!(q.stored().count(), 0);

    // Hidden only (a tab switch cuts nothing off), longer before, not keepalive, or answered
    // with a failure: a failure, retried after its backoff by this page or the next.
    let failed = |keepalive: bool, settlement: Settlement, at: f64, page_hide: bool| {
        let mut q = Queue::new(policy());
        q.push("b", 0.0);
        q.take_batch(5000.0).unwrap();
        if keepalive {
            q.mark_batch_keepalive();
        }
        q.complete(settlement, 5000.0, 0.0);
        q.hand_over_at_unload(at, page_hide);
        q.stored().count()
    };
    assert_eq!(failed(true, unanswered, 5001.0, false), 1, "hidden");
    assert_eq!(
        failed(true, unanswered, 5000.0 + UNLOAD_RACE_MS + 1.0, true),
        1,
        "earlier"
    );
    assert_eq!(failed(false, unanswered, 5001.0, true), 1, "not keepalive");
    assert_eq!(
        failed(true, Outcome::Retry.into(), 5001.0, true),
        1,
        "a 503 is known not delivered"
    );
}
