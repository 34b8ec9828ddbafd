//! Benchmark, not a test: local decisions per second in headless Chromium, 3 campaigns per
//! visitor, on the same inputs as `examples/bench_bucketing.rs`. Prints the figure; asserts only
//! that the work was done. Run with `./run bench`.
#![cfg(target_arch = "wasm32")]

#[path = "support/bench.rs"]
mod bench;

use std::hint::black_box;

use flagship_segment::bucketing::{decide, parse_bucketing};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const VISITORS: usize = 200_000;

#[wasm_bindgen_test]
fn bucketing_decisions_per_second_in_the_browser() {
    let file = parse_bucketing(bench::FILE).expect("benchmark file is valid");
    let context = bench::context();
    let visitor_ids = bench::visitor_ids(VISITORS);
    let started = js_sys::Date::now();
    let mut campaigns = 0usize;
    for visitor_id in &visitor_ids {
        campaigns += black_box(decide(&file, black_box(visitor_id), &context))
            .campaigns
            .len();
    }
    let seconds = (js_sys::Date::now() - started) / 1000.0;
    web_sys::console::log_1(
        &format!(
            "bucketing in the browser: {VISITORS} visitors x 3 campaigns in {seconds:.3} s = {:.0} visitor decisions/s ({:.2} campaigns per visitor)",
            VISITORS as f64 / seconds,
            campaigns as f64 / VISITORS as f64
        )
        .into(),
    );
    assert!(
        campaigns >= VISITORS,
        "every visitor got at least one campaign"
    );
}
