#![no_main]
//! See `check::first_stage` in src/check.rs for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| flagship_segment_fuzz::check::first_stage(data));
