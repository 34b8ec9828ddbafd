//! Decisions per second of the local bucketing engine, 3 campaigns per visitor.
//!
//! Run with `cargo run --release --example bench_bucketing [visitors]` (default 1 000 000). Visitor
//! IDs are UUID-shaped, all distinct, and generated before the clock starts, so the figures are the
//! engine alone. Two are printed: `decide` (targeting, hashing, allocation and the whole `Decision`
//! the page gets) and `assignments` (the same decision borrowed from the file, without it).

use std::hint::black_box;
use std::time::{Duration, Instant};

use flagship_segment::bucketing::{assignments, decide, parse_bucketing};
#[path = "../tests/support/bench.rs"]
mod bench;

fn main() {
    let visitors: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let file = parse_bucketing(bench::FILE).expect("benchmark file is valid");
    let context = bench::context();
    let visitor_ids = bench::visitor_ids(visitors);

    let started = Instant::now();
    let mut campaigns_returned = 0usize;
    for visitor_id in &visitor_ids {
        let decision = decide(&file, black_box(visitor_id), black_box(&context));
        campaigns_returned += black_box(decision).campaigns.len();
    }
    report("decide", visitors, started.elapsed(), campaigns_returned);

    let started = Instant::now();
    let mut campaigns_returned = 0usize;
    for visitor_id in &visitor_ids {
        for assignment in assignments(&file, black_box(visitor_id), black_box(&context)) {
            black_box(assignment.variation_group_id());
            campaigns_returned += 1;
        }
    }
    report(
        "assignments",
        visitors,
        started.elapsed(),
        campaigns_returned,
    );
}

fn report(what: &str, visitors: usize, elapsed: Duration, campaigns_returned: usize) {
    println!(
        "{what:>11}: {visitors} visitors x 3 campaigns in {:.3} s = {:.0} visitor decisions/s \
         ({:.0} ns each, {:.2} campaigns returned per visitor)",
        elapsed.as_secs_f64(),
        visitors as f64 / elapsed.as_secs_f64(),
        elapsed.as_nanos() as f64 / visitors as f64,
        campaigns_returned as f64 / visitors as f64
    );
}
