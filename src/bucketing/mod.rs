//! Local decisions (mode "bucketing"): Flagship's allocation and targeting, evaluated in Rust.
