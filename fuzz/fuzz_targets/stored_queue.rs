#![no_main]
//! See `check::stored_queue` in src/lib.rs for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| flagship_segment_fuzz::check::stored_queue(data));
