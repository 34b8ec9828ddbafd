#![no_main]
//! See `check::json_parse` in src/lib.rs for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| flagship_segment_fuzz::check::json_parse(data));
