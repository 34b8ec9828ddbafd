//! How long an exposure or a conversion waits in the queue before its first send, and so how
//! much a page going away right after an event leaves to its unload (issue 20, part 4). The
//! queue's own rules (`tracking::queue`) are driven with a fake clock, with the earlier defaults
//! (hits wait up to `flushIntervalMs` 5000 for company, activations 50 ms) and today's (no wait
//! when no request is out; what arrives while one is out goes when it returns), against a
//! collector that answers in 400 ms, as over a phone's network.
//!
//! Run with `cargo run --release --example bench_queue_wait [visitors]` (default 2000).

use flagship_segment::tracking::queue::{Outcome, Queue, QueuePolicy, MAX_AGE_MS};

/// The collector's answer time.
const ROUND_TRIP_MS: f64 = 400.0;

/// One kind of event and how a visitor produces it.
struct Workload {
    name: &'static str,
    /// Events per burst (the reads of one render share a task; a conversion is alone).
    per_burst: usize,
    /// Time between the events of a burst, in ms (0: one task).
    spacing_ms: f64,
    /// Mean time between bursts, in ms (exponential).
    mean_gap_ms: f64,
    bursts: usize,
    batch_size: usize,
}

const WORKLOADS: [Workload; 3] = [
    Workload {
        name: "conversions, one every 2 s on average (hits)",
        per_burst: 1,
        spacing_ms: 0.0,
        mean_gap_ms: 2_000.0,
        bursts: 30,
        batch_size: 10,
    },
    Workload {
        name: "a cart: 6 item hits 50 ms apart, every 10 s (hits)",
        per_burst: 6,
        spacing_ms: 50.0,
        mean_gap_ms: 10_000.0,
        bursts: 6,
        batch_size: 10,
    },
    Workload {
        name: "renders reading 3 flags, every 5 s (activations)",
        per_burst: 3,
        spacing_ms: 0.0,
        mean_gap_ms: 5_000.0,
        bursts: 12,
        batch_size: 100,
    },
];

/// What one policy gave over every visitor.
#[derive(Default)]
struct Figures {
    waits: Vec<f64>,
    requests: usize,
}

fn main() {
    let visitors: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    println!(
        "queue wait before the first send ({visitors} visitors, collector answering in {ROUND_TRIP_MS} ms)"
    );
    println!("| events | defaults | wait p50 | p90 | max | still queued 100 ms / 500 ms / 1 s after | requests per 100 events |");
    println!("|---|---|---|---|---|---|---|");
    for workload in &WORKLOADS {
        let earlier_wait = match workload.batch_size {
            10 => 5_000.0,
            _ => 50.0,
        };
        for (label, wait) in [("earlier", earlier_wait), ("now", 0.0)] {
            let figures = run(workload, wait, visitors);
            print_row(workload.name, label, wait, &figures);
        }
    }
}

/// Every visitor's session under a policy that waits `flush_interval_ms` for company.
fn run(workload: &Workload, flush_interval_ms: f64, visitors: usize) -> Figures {
    let policy = QueuePolicy {
        batch_size: workload.batch_size,
        flush_interval_ms,
        max_age_ms: MAX_AGE_MS,
        max_entries: 10_000,
    };
    let mut figures = Figures::default();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..visitors {
        let mut arrivals = Vec::new();
        let mut at = 0.0;
        for _ in 0..workload.bursts {
            at += exponential(&mut rng, workload.mean_gap_ms);
            for i in 0..workload.per_burst {
                arrivals.push(at + i as f64 * workload.spacing_ms);
            }
            at += workload.per_burst as f64 * workload.spacing_ms;
        }
        session(policy, &arrivals, &mut figures);
    }
    figures
}

/// One page: events queued at `arrivals` (sorted); the queue sends as its rules say, one request
/// at a time, each answered 2xx after the round trip.
fn session(policy: QueuePolicy, arrivals: &[f64], figures: &mut Figures) {
    let mut queue: Queue<f64> = Queue::new(policy);
    let mut next = 0;
    let mut answer_at: Option<f64> = None;
    let mut now = 0.0;
    loop {
        let due = queue.next_flush_at(now);
        let candidates = [arrivals.get(next).copied(), answer_at, due];
        let Some(at) = candidates.into_iter().flatten().reduce(f64::min) else {
            break;
        };
        now = at;
        while arrivals.get(next).is_some_and(|a| *a <= now) {
            queue.push(arrivals[next], arrivals[next]);
            next += 1;
        }
        if answer_at.is_some_and(|a| a <= now) {
            answer_at = None;
            queue.complete(Outcome::Delivered, now, 0.0);
        }
        if queue.next_flush_at(now).is_some_and(|due| due <= now) {
            if let Some(batch) = queue.take_batch(now) {
                figures.requests += 1;
                figures
                    .waits
                    .extend(batch.iter().map(|entry| now - entry.item));
                answer_at = Some(now + ROUND_TRIP_MS);
            }
        }
    }
}

fn print_row(name: &str, label: &str, wait: f64, figures: &Figures) {
    let mut waits = figures.waits.clone();
    waits.sort_by(f64::total_cmp);
    let at = |q: f64| waits[((waits.len() - 1) as f64 * q).round() as usize];
    let still =
        |ms: f64| 100.0 * waits.iter().filter(|w| **w > ms).count() as f64 / waits.len() as f64;
    println!(
        "| {name} | {label} ({wait} ms) | {:.0} ms | {:.0} ms | {:.0} ms | {:.1}% / {:.1}% / {:.1}% | {:.1} |",
        at(0.5),
        at(0.9),
        waits[waits.len() - 1],
        still(100.0),
        still(500.0),
        still(1_000.0),
        100.0 * figures.requests as f64 / waits.len() as f64,
    );
}

/// An exponential wait of mean `mean` (xorshift64*, fixed seed: the same figures every run).
fn exponential(state: &mut u64, mean: f64) -> f64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    let bits = state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
    let uniform = (bits as f64 + 0.5) / (1u64 << 53) as f64;
    -mean * uniform.ln()
}
