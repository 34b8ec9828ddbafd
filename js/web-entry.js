// The `--target web` build as shipped (pkg/web/flagship_segment.js): wasm-bindgen's glue and its
// snippets bundled into one file by scripts/package.mjs (one request instead of one per
// snippet), and the .wasm fetched and compiled as soon as this module is imported, so that a page
// does not wait for `start()` to begin loading it. `init()` is still exported: awaiting it is
// harmless, and `init({ module_or_path })` loads the .wasm from elsewhere (or from bytes).
//
// No eval, no new Function: it runs under `script-src 'self' 'wasm-unsafe-eval'`.
import wasmInit, { start as startModule } from "__GLUE__";
// The glue's own copy of the loader (scripts/package.mjs resolves this import to the snippet
// wasm-bindgen wrote), so that the URL set here is the one the module uses.
import { setBucketingEngineUrl } from "./bucketing-engine.js";

export { flagshipSegmentPlugin, FlagshipSegment, initSync } from "__GLUE__";

// Bundled, the loader is no longer three directories below the engine: it sits next to it.
setBucketingEngineUrl(new URL("flagship_segment_bucketing.wasm", import.meta.url));

let loading;

/** Fetches and compiles the .wasm; with no options, the load that began on import. */
export default function init(options) {
  if (options !== undefined || !loading) loading = wasmInit(options);
  return loading;
}

/** `start` once the .wasm is ready. */
export function start(options) {
  return init().then(() => startModule(options));
}

if (typeof document !== "undefined") {
  // A failure reaches whoever awaits init() or start(); nothing is reported twice.
  init().catch(() => {});
}
