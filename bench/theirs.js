// Benchmark page of the official @flagship.io/js-sdk (bundled by bench/sdk.mjs with esbuild, ESM,
// minified, browser build), used as its documentation shows.
import { Flagship, DecisionMode, LogLevel } from "@flagship.io/js-sdk";

const VISITOR = "5a1b2c3d-0000-4000-a000-000000000001";
let visitor;

window.bench = {
  name: "@flagship.io/js-sdk",

  async startToFirstRead(envId, apiKey) {
    const t0 = performance.now();
    await Flagship.start(envId, apiKey, {
      fetchNow: false,
      decisionMode: DecisionMode.DECISION_API,
      logLevel: LogLevel.NONE,
    });
    const t1 = performance.now();
    visitor = Flagship.newVisitor({ visitorId: VISITOR, hasConsented: true });
    await visitor.fetchFlags();
    const t2 = performance.now();
    const value = visitor.getFlag("btnColor").getValue("grey");
    const t3 = performance.now();
    const split = { load: t1 - t0, decide: t2 - t1, read: t3 - t2 };
    return { ms: t3 - t0, split, value, status: String(Flagship.getStatus()) };
  },

  reads(count, expose) {
    let last;
    const t0 = performance.now();
    for (let i = 0; i < count; i++) last = visitor.getFlag("btnColor").getValue("grey", expose);
    return { ms: performance.now() - t0, value: last };
  },

  // `extra`: more start options (the benchmark also runs it with `disableCache: true`).
  async startBucketing(envId, apiKey, initialBucketing, context, extra = {}) {
    await Flagship.start(envId, apiKey, {
      fetchNow: false,
      decisionMode: DecisionMode.BUCKETING,
      initialBucketing,
      pollingInterval: 0,
      logLevel: LogLevel.NONE,
      ...extra,
    });
    this.context = context;
    const first = Flagship.newVisitor({ visitorId: VISITOR, hasConsented: true, context });
    await first.fetchFlags();
    return first.getFlag("color").getValue("none", false);
  },
  async newVisitors(visitorIds) {
    const seen = new Set();
    let last;
    const t0 = performance.now();
    for (const visitorId of visitorIds) {
      last = Flagship.newVisitor({ visitorId, hasConsented: true, context: this.context });
      await last.fetchFlags();
      seen.add(last.getFlag("color").getValue("none", false));
    }
    return { ms: performance.now() - t0, values: [...seen].sort(), visitorId: last.visitorId };
  },
};
