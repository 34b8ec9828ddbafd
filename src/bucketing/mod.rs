//! Local decisions (mode "bucketing"): Flagship's allocation and targeting, evaluated in Rust.
//!
//! [`parse_bucketing`] turns an untrusted `bucketing.json` into a [`BucketingFile`] once;
//! [`decide`] then answers, for any visitor, the same [`Decision`](crate::decision::Decision) the
//! Decision API would.

mod allocate;
mod compare;
mod fields;
mod file;
mod murmur;
mod targeting;
mod variation_group;

pub use allocate::decide;
pub use file::{parse_bucketing, BucketingFile, MAX_BODY_BYTES, MAX_LIST_ITEMS};
pub use murmur::{bucket, murmur3_x86_32, Murmur3};
