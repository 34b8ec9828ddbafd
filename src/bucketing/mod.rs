//! Local decisions (mode "bucketing"): Flagship's allocation and targeting, evaluated in Rust.

mod murmur;

pub use murmur::{bucket, murmur3_x86_32, Murmur3};
