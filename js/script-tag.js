// Entry of the classic <script src=".../flagship-segment.js"> build (bundled as an IIFE by
// scripts/package.mjs). It sets `window.FlagshipSegment = {start, ready, flagshipSegmentPlugin,
// version}` and loads `flagship_segment_bg.wasm` from the directory the script itself came from,
// on first use: a page that includes the script but never starts the module downloads no wasm.
// In `mode: "bucketing"` the module also loads `flagship_segment_bucketing.wasm` from there.
//
// With `data-env-id` and `data-api-key` on the tag, the module starts at once and `ready` resolves
// to it (or rejects with the start error). Other `data-*` attributes are options too: `data-mode`,
// `data-log-level`, `data-global-key`, `data-fallback`, `data-id-policy`, the `*-ms` timings as
// numbers, and `data-endpoint-decision` / `-events` / `-cdn` for `endpoints`. The module validates
// them like any options: a visitor ID attribute is refused. Without those two attributes, `ready`
// resolves to the first module the page starts itself with `FlagshipSegment.start(options)`.
//
// No eval, no new Function, no inline code: it runs under `script-src 'self' 'wasm-unsafe-eval'`.
import init, { start as startModule, flagshipSegmentPlugin } from "../pkg/web/flagship_segment.js";
// The glue's own copy of the loader (scripts/package.mjs resolves this import to the snippet
// wasm-bindgen wrote), so that the URL set here is the one the module uses.
import { setBucketingEngineUrl } from "./bucketing-engine.js";

const script = document.currentScript;
const base = (script && script.src) || location.href;
const wasmUrl = new URL("flagship_segment_bg.wasm", base);
// The bucketing engine, fetched only in mode "bucketing", ships next to it; the loader cannot
// find it by import.meta.url, which an IIFE does not have.
setBucketingEngineUrl(new URL("flagship_segment_bucketing.wasm", base));

let loading;
const load = () => (loading ||= init({ module_or_path: wasmUrl }));

let settle;
const ready = new Promise((resolve, reject) => (settle = [resolve, reject]));

function start(options) {
  const started = load().then(() => startModule(options));
  started.then(settle[0], () => {});
  return started;
}

function plugin(options) {
  // The plugin needs the wasm synchronously; the script may still be fetching it, so the page
  // awaits this one: `analytics.register(await FlagshipSegment.plugin(options))`.
  return load().then(() => flagshipSegmentPlugin(options));
}

// `data-*` attributes as start options.
function attributeOptions(dataset) {
  const options = {};
  for (const [name, value] of Object.entries(dataset)) {
    if (name.startsWith("endpoint")) {
      (options.endpoints ||= {})[name.slice(8).toLowerCase()] = value;
    } else {
      options[name] = /Ms$/.test(name) ? Number(value) : value;
    }
  }
  return options;
}

if (!window.FlagshipSegment) {
  window.FlagshipSegment = { start, ready, plugin, version: __VERSION__ };
  const dataset = script ? script.dataset : {};
  if (dataset.envId && dataset.apiKey) {
    start(attributeOptions(dataset)).catch(settle[1]);
  }
}
