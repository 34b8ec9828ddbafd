//! The properties behind the fuzz targets of flagship-segment (`fuzz_targets/*.rs`, one line
//! each): [`check`] holds one function per target, [`reference`] what they compare with.
//!
//! `./run fuzz [SECONDS]` runs every target with cargo-fuzz on the nightly toolchain, starting
//! from the committed seeds (`seeds/<target>/`). On stable, `cargo test --no-default-features`
//! in this directory (no libFuzzer, no C++ compiler) replays those seeds through the same
//! checks: a reproducer added there is a regression test.

pub mod check;
pub mod reference;

/// What a target checks of one input; a panic is a finding.
pub type Check = fn(&[u8]);

/// The targets, by name, as `fuzz_targets/` and `seeds/` name them.
pub const TARGETS: [(&str, Check); 7] = [
    ("json_parse", check::json_parse),
    ("decision_answer", check::decision_answer),
    ("bucketing_file", check::bucketing_file),
    ("stored_queue", check::stored_queue),
    ("stored_decisions", check::stored_decisions),
    ("segment_ids", check::segment_ids),
    ("first_stage", check::first_stage),
];

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn every_seed_passes_its_target_s_checks() {
        let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
        let mut failed = Vec::new();
        for (name, check) in super::TARGETS {
            let mut count = 0;
            for entry in std::fs::read_dir(seeds.join(name)).expect("a seed directory") {
                let path = entry.expect("a seed").path();
                let data = std::fs::read(&path).expect("a readable seed");
                if std::panic::catch_unwind(|| check(&data)).is_err() {
                    failed.push(path.display().to_string());
                }
                count += 1;
            }
            assert!(count > 0, "{name} has no seeds");
        }
        assert!(
            failed.is_empty(),
            "seeds that fail their checks: {failed:#?}"
        );
    }
}
