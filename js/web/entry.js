// The `--target web` build as shipped (pkg/web/flagship_segment.js), in two stages. This file
// carries the first stage's .wasm inside it (first-stage.js), so that a page importing it fetches
// nothing else before its first flag: `start()` resolves once the first stage has it. The full
// module (wasm-bindgen's glue and the main .wasm, flagship_segment_full.js and
// flagship_segment_bg.wasm next to this file) is loaded right after and takes over (handle.js).
//
// `init()` compiles the first stage (it begins on import) and records where the full module's
// .wasm is when given one, as wasm-bindgen's `init({ module_or_path })` does; the bucketing
// engine is then looked for next to that URL. A browser without DecompressionStream gets the
// full module alone, as before.
//
// No eval, no new Function: it runs under `script-src 'self' 'wasm-unsafe-eval'`.
import { compileFirstStage, configure, instantiate, runFirstStage } from "./first-stage.js";
import { StagedModule } from "./handle.js";

let fullInput;
let stage;
let full;
/** An instance of the first stage that only checks options (the plugin's, synchronously). */
let checker;

// The files shipped next to this one. Written out as `new URL(literal, import.meta.url)`, which
// bundlers (Vite, webpack 5) follow and emit; called only when init() was given no .wasm URL,
// since the script-tag build has no import.meta.
const own = {
  wasm: () => new URL("flagship_segment_bg.wasm", import.meta.url),
  glue: () => new URL("flagship_segment_full.js", import.meta.url),
  engine: () => new URL("flagship_segment_bucketing.wasm", import.meta.url),
};

/** Where the full module's .wasm is: what init() was given, else next to this file. */
function fullWasm() {
  return fullInput ?? own.wasm();
}

/**
 * A file shipped next to the full module's .wasm (`file` of `own`): next to the URL init() was
 * given (a page that bundles this file and serves the .wasm elsewhere says where it is), else
 * next to this file.
 */
function besideWasm(file) {
  const wasm = fullInput;
  if (typeof wasm === "string" || wasm instanceof URL) {
    const name = { glue: "flagship_segment_full.js", engine: "flagship_segment_bucketing.wasm" }[file];
    return new URL(name, new URL(wasm, location.href));
  }
  return own[file]();
}

/**
 * The full module's glue, its .wasm instantiated; loaded once (again after a failure). Its
 * bucketing engine is `engine`, the one the first stage compiled, or is found next to its .wasm.
 */
export function loadFull(engine) {
  full ||= import(/* @vite-ignore */ besideWasm("glue").href).then(async (glue) => {
    glue.setBucketingEngineSource(engine ?? besideWasm("engine"));
    await glue.default({ module_or_path: fullWasm() });
    return glue;
  });
  full.catch(() => (full = undefined));
  return full;
}

/** The bucketing engine, for the first stage: where the full module finds it. */
function engineUrl() {
  return besideWasm("engine");
}

/**
 * Compiles the first stage (begun on import; no options: that load). `options`, as
 * wasm-bindgen's init takes them (`{ module_or_path }`, or the input itself), say where the full
 * module's .wasm is, or give it.
 */
export default function init(options) {
  if (options !== undefined) {
    const input = options && typeof options === "object" && "module_or_path" in options ? options.module_or_path : options;
    if (input !== undefined) fullInput = input;
  }
  // A refusal to compile (a CSP without 'wasm-unsafe-eval') rejects, as the full module would.
  stage ||= compileFirstStage().then(async (module) => {
    checker = module && (await instantiate(module));
    return module;
  });
  return stage.then(() => undefined);
}

/** Records the full module's .wasm (bytes or a compiled module) for when it loads. */
export function initSync(input) {
  fullInput = input && typeof input === "object" && "module" in input ? input.module : input;
  init();
}

/** Reads the visitor from Segment and resolves once flags can be read (see handle.js). */
export async function start(options) {
  await init();
  const module = await stage;
  if (!module) return loadFull().then((glue) => glue.start(options));
  const first = await runFirstStage(module, options, engineUrl);
  return new StagedModule(first, options, () => loadFull(first.bucketingEngine));
}

/**
 * The analytics-next plugin: the full module, started with the instance that loads it (its
 * `identify` hook switches identity before Segment's own event fires). Its options are checked
 * at once, as the full module checks them (throws INVALID_OPTIONS, once init() has resolved);
 * the full module is fetched when Segment loads the plugin, in the background, so Segment's own
 * calls never wait for it.
 */
export function flagshipSegmentPlugin(options) {
  let plugin;
  let settle;
  const flagship = new Promise((resolve, reject) => (settle = [resolve, reject]));
  flagship.catch(() => {});
  if (checker) configure(checker, options);
  return {
    name: "Flagship Segment",
    type: "enrichment",
    version: __VERSION__,
    flagship,
    isLoaded: () => true,
    load(ctx, analytics) {
      loadFull()
        .then((glue) => {
          plugin ||= glue.flagshipSegmentPlugin(options);
          plugin.flagship.then(...settle);
          return plugin.load(ctx, analytics);
        })
        .catch(settle[1]);
      return Promise.resolve();
    },
    identify(ctx) {
      return plugin ? plugin.identify(ctx) : ctx;
    },
  };
}

if (typeof document !== "undefined") {
  // A failure reaches whoever awaits init() or start(); nothing is reported twice.
  init().catch(() => {});
}
