// Benchmark page of flagship-segment (bundled by bench/sdk.mjs with esbuild, ESM, minified).
// Segment is a fake loaded analytics.js whose anonymousId the benchmark can rotate and whose
// `reset` listeners it can fire, as analytics.js does on `analytics.reset()`.
import init, { start } from "../pkg/web/flagship_segment.js";

const ids = { userId: null, anonymousId: "5a1b2c3d-0000-4000-a000-000000000001" };
const listeners = {};
const user = { id: () => ids.userId, anonymousId: () => ids.anonymousId, traits: () => ({}) };
window.analytics = {
  initialized: true,
  user: () => user,
  on(event, fn) { (listeners[event] ||= []).push(fn); },
  off(event, fn) { listeners[event] = (listeners[event] || []).filter((f) => f !== fn); },
};

const wasmUrl = new URL("flagship_segment_bg.wasm", import.meta.url);
let flagship;

window.bench = {
  name: "flagship-segment",

  // start() to first flag read, loading and compiling the .wasm included.
  async startToFirstRead(envId, apiKey) {
    const t0 = performance.now();
    await init({ module_or_path: wasmUrl });
    const t1 = performance.now();
    flagship = await start({ envId, apiKey, logLevel: "none" });
    const t2 = performance.now();
    const value = flagship.getFlag("btnColor", "grey");
    const t3 = performance.now();
    const split = { load: t1 - t0, decide: t2 - t1, read: t3 - t2 };
    return { ms: t3 - t0, split, value, status: flagship.status };
  },

  // Reads per second of one flag, after the first read sent its exposure.
  reads(count, expose) {
    let last;
    const t0 = performance.now();
    for (let i = 0; i < count; i++) last = flagship.getFlag("btnColor", "grey", expose);
    return { ms: performance.now() - t0, value: last };
  },

  // Bucketing: start locally, then each new visitor is a Segment reset (a new anonymousId); the
  // module re-decides and the benchmark waits for the `flags` event, then reads a flag.
  async startBucketing(envId, apiKey, initialBucketing, context) {
    await init({ module_or_path: wasmUrl });
    flagship = await start({ envId, apiKey, mode: "bucketing", initialBucketing, pollingIntervalMs: 0, context, logLevel: "none" });
    return flagship.getFlag("color", "none", false);
  },
  async newVisitors(visitorIds) {
    const seen = new Set();
    const t0 = performance.now();
    for (const id of visitorIds) {
      const applied = new Promise((resolve) => {
        const once = () => { flagship.off("flags", once); resolve(); };
        flagship.on("flags", once);
      });
      ids.anonymousId = id;
      for (const fn of listeners.reset || []) fn();
      await applied;
      seen.add(flagship.getFlag("color", "none", false));
    }
    return { ms: performance.now() - t0, values: [...seen].sort(), visitorId: flagship.visitorId };
  },
};
