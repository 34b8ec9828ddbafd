#![no_main]
//! See `check::decision_answer` in src/lib.rs for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| flagship_segment_fuzz::check::decision_answer(data));
