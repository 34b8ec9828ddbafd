//! Browser shell (wasm32 only).
