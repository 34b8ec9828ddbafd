// Entry of the classic <script src=".../flagship-segment.js"> build (bundled as an IIFE by
// scripts/package.mjs). It sets `window.FlagshipSegment = {start, ready, plugin, version}`. Like
// the web build (web/entry.js), it carries the first stage inside it; the full module
// (`flagship_segment_full.js` and `flagship_segment_bg.wasm`) is loaded from the directory the
// script itself came from once the first flag is in hand. In `mode: "bucketing"` the bucketing
// engine, `flagship_segment_bucketing.wasm`, comes from there too.
//
// With `data-env-id` and `data-api-key` on the tag, the module starts at once and `ready` resolves
// to it (or rejects with the start error). Other `data-*` attributes are options too: `data-mode`,
// `data-log-level`, `data-global-key`, `data-fallback`, `data-id-policy`, the `*-ms` timings as
// numbers, and `data-endpoint-decision` / `-events` / `-cdn` for `endpoints`. The module validates
// them like any options: a visitor ID attribute is refused. Without those two attributes, `ready`
// resolves to the first module the page starts itself with `FlagshipSegment.start(options)`.
//
// No eval, no new Function, no inline code: it runs under `script-src 'self' 'wasm-unsafe-eval'`.
import init, { start as startModule, flagshipSegmentPlugin } from "./web/entry.js";

const script = document.currentScript;
const base = (script && script.src) || location.href;
// An IIFE has no import.meta: the full module and the bucketing engine are found next to this.
const wasmUrl = new URL("flagship_segment_bg.wasm", base);

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
  // The plugin checks its options with the first stage, which may still be compiling, so the
  // page awaits this one: `analytics.register(await FlagshipSegment.plugin(options))`.
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
