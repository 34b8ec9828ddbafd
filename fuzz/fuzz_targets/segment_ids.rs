#![no_main]
//! See `check::segment_ids` in src/lib.rs for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| flagship_segment_fuzz::check::segment_ids(data));
