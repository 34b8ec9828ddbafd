//! The bucketing benchmark's inputs, shared by the native example and the browser benchmark so
//! that both figures measure the same work: three campaigns shaped like real ones (a targeted
//! group tried before an everyone group, two or three variations, a few flags each).

#![allow(dead_code)]

use flagship_segment::context::{Context, ContextValue};

/// The bucketing file.
pub const FILE: &str = include_str!("../fixtures/bench_bucketing.json");

/// A context that matches the targeted groups.
pub fn context() -> Context {
    Context::from([
        ("plan".to_owned(), ContextValue::String("pro".to_owned())),
        ("country".to_owned(), ContextValue::String("FR".to_owned())),
        ("age".to_owned(), ContextValue::Number(34.0)),
    ])
}

/// `count` distinct UUID-shaped visitor IDs, generated before any clock starts.
pub fn visitor_ids(count: usize) -> Vec<String> {
    (0..count as u64)
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
        .collect()
}
