// The full module of the web build (pkg/web/flagship_segment_full.js): wasm-bindgen's glue and
// its snippets, bundled by scripts/package.mjs into one file that the first stage (entry.js)
// imports once the page has its first flag. `takeOver` is how the full module takes the visit
// over from the first stage; `setBucketingEngineSource` says where its bucketing engine is (or
// hands it the engine the first stage compiled).
export { default, start, takeOver, flagshipSegmentPlugin } from "__GLUE__";
// The glue's own copy of the loader (scripts/package.mjs resolves this import to the snippet
// wasm-bindgen wrote), so that the URL set here is the one the module uses.
export { setBucketingEngineSource } from "../bucketing-engine.js";
