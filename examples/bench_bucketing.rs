//! Decisions per second of the local bucketing engine, 3 campaigns per visitor.
//!
//! Run with `cargo run --release --example bench_bucketing [visitors]` (default 1 000 000). Visitor
//! IDs are UUID-shaped, all distinct, and generated before the clock starts, so the figures are the
//! engine alone. Two are printed: `decide` (targeting, hashing, allocation and the whole `Decision`
//! the page gets) and `assignments` (the same decision borrowed from the file, without it).

use std::hint::black_box;
use std::time::{Duration, Instant};

use flagship_segment::bucketing::{assignments, decide, parse_bucketing};
use flagship_segment::context::{Context, ContextValue};
use serde_json::json;

/// Three campaigns shaped like real ones: a targeted group tried before an everyone group, two or
/// three variations, a few flags each.
fn bucketing_file() -> String {
    let everyone = json!({"targetingGroups": [{"targetings": [
        {"operator": "EQUALS", "key": "fs_all_users", "value": ""}]}]});
    let pro_in_europe = json!({"targetingGroups": [{"targetings": [
        {"operator": "EQUALS", "key": "plan", "value": "Pro"},
        {"operator": "EQUALS", "key": "country", "value": ["FR", "DE", "ES", "IT"]}]}]});
    let adults = json!({"targetingGroups": [
        {"targetings": [{"operator": "GREATER_THAN_OR_EQUALS", "key": "age", "value": 18}]},
        {"targetings": [{"operator": "EXISTS", "key": "beta", "value": true}]}]});
    let variation = |id: &str, allocation: u32, color: &str| {
        json!({"id": id, "name": id, "allocation": allocation, "reference": id.ends_with('a'),
               "modifications": {"type": "FLAG",
                                 "value": {"color": color, "discount": allocation, "banner": true}}})
    };
    json!({"campaigns": [
        {"id": "checkout", "name": "Checkout", "type": "ab", "slug": "checkout", "variationGroups": [
            {"id": "checkout-pro", "name": "Pro in Europe", "targeting": pro_in_europe,
             "variations": [variation("c1a", 50, "red"), variation("c1b", 50, "blue")]},
            {"id": "checkout-all", "name": "Everyone", "targeting": everyone,
             "variations": [variation("c2a", 34, "red"), variation("c2b", 33, "green"),
                            variation("c2c", 33, "blue")]}]},
        {"id": "onboarding", "name": "Onboarding", "type": "toggle", "variationGroups": [
            {"id": "onboarding-adults", "name": "Adults", "targeting": adults,
             "variations": [variation("o1a", 0, "red"), variation("o1b", 100, "teal")]}]},
        {"id": "pricing", "name": "Pricing", "type": "ab", "variationGroups": [
            {"id": "pricing-all", "name": "Everyone", "targeting": everyone,
             "variations": [variation("p1a", 45, "red"), variation("p1b", 45, "gold")]}]}
    ]})
    .to_string()
}

fn main() {
    let visitors: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let file = parse_bucketing(&bucketing_file()).expect("benchmark file is valid");
    let context = Context::from([
        ("plan".to_owned(), ContextValue::String("pro".to_owned())),
        ("country".to_owned(), ContextValue::String("FR".to_owned())),
        ("age".to_owned(), ContextValue::Number(34.0)),
    ]);
    let visitor_ids: Vec<String> = (0..visitors as u64)
        .map(|i| {
            let mixed = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            format!(
                "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                mixed >> 32,
                (mixed >> 16) & 0xffff,
                mixed & 0xfff,
                (i >> 12) & 0xfff,
                i
            )
        })
        .collect();

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
