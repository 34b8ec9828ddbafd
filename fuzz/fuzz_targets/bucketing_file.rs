#![no_main]
//! See `check::bucketing_file` in src/lib.rs for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| flagship_segment_fuzz::check::bucketing_file(data));
