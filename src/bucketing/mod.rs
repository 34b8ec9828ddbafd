//! Local decisions (mode "bucketing"): Flagship's allocation and targeting, evaluated in Rust.
//!
//! [`parse_bucketing`] turns an untrusted `bucketing.json` into a [`BucketingFile`] once;
//! [`decide`] then answers, for any visitor, the same [`Decision`](crate::decision::Decision) the
//! Decision API would. [`assignments`] is the same decision borrowed from the file, for callers
//! that need IDs only or serialise at once and can skip the copies.

mod allocate;
mod compare;
mod decide;
mod fields;
mod file;
#[cfg(not(target_arch = "wasm32"))]
#[path = "lowercase_rust.rs"]
mod lowercase;
#[cfg(all(target_arch = "wasm32", not(feature = "c-abi")))]
#[path = "lowercase_js.rs"]
mod lowercase;
#[cfg(all(target_arch = "wasm32", feature = "c-abi"))]
#[path = "lowercase_import.rs"]
mod lowercase;
mod murmur;
mod operand;
mod targeting;
mod variation_group;

pub use allocate::{assignments, Assignment};
pub use decide::decide;
pub use file::{
    parse_bucketing, BucketingFile, MAX_BODY_BYTES, MAX_EXPOSED_NULL_FLAGS, MAX_LIST_ITEMS,
};
pub use murmur::{bucket, murmur3_x86_32, Murmur3};
