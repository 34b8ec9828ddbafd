// What `start()` of the web build resolves to: one object for the page's whole visit, answered by
// the first stage (first-stage.js) until the full module has loaded, then by the full module,
// which takes over with the stage's decision, checked against Segment's identity (src/engine,
// `Takeover`). The page sees the same members either way: those of the full module's
// `FlagshipSegment`.
//
// While only the first stage is up, reads are its; flags it exposes are handed to the full
// module, which sends those exposures once its flags are current for the same visitor; hits
// (checked by the stage as the full module checks them), consent and context changes wait in
// order and are replayed on the full module as they were made; `flush()`, `close()` and
// `updateContext()` resolve once the full module has done them. The full module is loaded as
// soon as the first flag is in hand. A page that goes away before it has taken over leaves a
// record of its exposures and hits (`early:{tabId}:{pageId}`), which the next page's full module
// sends (src/engine/early.rs).

import { hitArgsJson } from "../hit-args.js";

const EVENTS = ["change", "flags", "warning"];
const HIT_METHODS = ["track", "transaction", "item", "page"];
/** Most warnings kept for the first `warning` listener, as the full module keeps. */
const MAX_UNHEARD = 16;
/** Waits before loading the full module again after a failure: doubling, up to 30 s. */
const RELOAD_FIRST_MS = 1000;
const RELOAD_MAX_MS = 30_000;

/** The kind of value a default asks for, numbered as src/first_flag/exports.rs reads it. */
function kindOf(value) {
  if (value == null) return 0;
  switch (typeof value) {
    case "boolean":
      return 1;
    case "number":
      return 2;
    case "string":
      return 3;
    default:
      return Array.isArray(value) ? 4 : 5;
  }
}

/** `console[level]` for a line at `level` (1 error … 4 debug) if `logLevel` lets it through. */
function log(logLevel, level, code, message) {
  if (level > logLevel) return;
  const method = ["", "error", "warn", "info", "debug"][level];
  console[method](`[flagship-segment] ${code}: ${message}`);
}

export class StagedModule {
  /**
   * `stage`: what runFirstStage resolved to; `options`: the page's; `loadFull()`: resolves to
   * the full module's glue (its `takeOver` export), loaded once.
   */
  constructor(stage, options, loadFull) {
    this.stage = stage;
    this.options = options;
    this.full = null;
    this.listeners = { change: [], flags: [], warning: [] };
    this.unheard = [];
    this.pending = [];
    this.exposed = new Set();
    this.closed = false;
    this.dispatched = false;
    this.consent = stage.config.consent;
    this.unsubscribe = this.followSegment(stage.analytics);
    this.stopRecording = this.recordOnUnload();
    for (const warning of stage.config.warnings) log(stage.config.logLevel, 2, "OPTION_IGNORED", warning);
    this.tell(stage.report.warnings);
    this.takingOver = this.takeOver(loadFull);
  }

  /**
   * Notes whether Segment dispatches a call (`page`, `track`, `identify`: each fires once the
   * call is delivered) before the full module has taken over, which then knows the visitor is
   * known to Segment (the seen-by-Segment gate; see `Takeover`). Returns what stops listening.
   */
  followSegment(analytics) {
    if (!analytics || typeof analytics.on !== "function") return () => {};
    const seen = () => (this.dispatched = true);
    const events = ["page", "track", "identify"];
    try {
      for (const event of events) analytics.on(event, seen);
    } catch {
      return () => {};
    }
    return () => {
      for (const event of events) {
        try {
          analytics.off?.(event, seen);
        } catch {
          // A Segment without `off` keeps a listener that only sets a flag.
        }
      }
    };
  }

  /**
   * Loads the full module and hands it the visit. A failed load (offline, say) is tried again
   * after a wait, doubling up to 30 s, and at once when the browser comes back online; the page
   * is told once. Meanwhile the first stage answers, and what is to be sent waits here.
   */
  async takeOver(loadFull) {
    const { report, bucketingFile } = this.stage;
    let glue;
    for (let wait = RELOAD_FIRST_MS; !glue; wait = Math.min(wait * 2, RELOAD_MAX_MS)) {
      try {
        glue = await loadFull();
      } catch (error) {
        if (wait === RELOAD_FIRST_MS) {
          this.tell([{ code: "DECISION_NETWORK", message: `the full module could not be loaded (${error && error.message}); trying again` }]);
        }
        await new Promise((resolve) => {
          const again = () => {
            clearTimeout(timer);
            removeEventListener("online", again);
            resolve();
          };
          const timer = setTimeout(again, wait);
          addEventListener("online", again);
        });
      }
    }
    const options = bucketingFile == null ? this.options : { ...this.options, initialBucketing: bucketingFile };
    this.unsubscribe();
    this.stopRecording();
    const takeover = JSON.stringify({ ...report.takeover, dispatched: this.dispatched, exposed: [...this.exposed] });
    const initial = report.initialDecision == null ? undefined : JSON.stringify(report.initialDecision);
    const full = await glue.takeOver(options, initial, takeover);
    for (const event of EVENTS) full.on(event, (payload) => this.emit(event, payload));
    this.full = full;
    for (const [method, args, settle] of this.pending.splice(0)) {
      try {
        const result = full[method](...args);
        settle?.[0](result);
      } catch (error) {
        settle?.[1](error);
      }
    }
  }

  /**
   * While only the first stage is up, keeps a record of the exposures and hits made so far each
   * time the page is hidden or goes away (`pagehide`, `visibilitychange`), for the next page;
   * removes it when the full module takes over here (which sends them itself). Returns what
   * stops it.
   */
  recordOnUnload() {
    const { config, report } = this.stage;
    // One record per page: a page never removes another's.
    const key = `${config.earlyKey}${tabId(config.tabKey)}:${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
    const write = () => {
      const hits = this.pending.filter(([method]) => HIT_METHODS.includes(method));
      const exposed = [...this.exposed].map((flag) => this.stage.metadata(flag)).filter(Boolean);
      if (!report.visitorId || !this.consent || (!hits.length && !exposed.length)) return;
      const record = {
        v: 1,
        at: Date.now(),
        visitorId: report.visitorId,
        anonymousId: report.anonymousId ?? null,
        consent: this.consent,
        exposed: exposed.map((m) => ({ caid: m.variationGroupId, vaid: m.variationId })),
        hits: hits.map(([method, args]) => [method, ...args]),
      };
      try {
        localStorage.setItem(key, JSON.stringify(record));
      } catch {
        // Storage refused: what was made in this moment is lost, as the page is.
      }
    };
    const hidden = () => document.visibilityState === "hidden" && write();
    addEventListener("pagehide", write);
    document.addEventListener("visibilitychange", hidden);
    return () => {
      removeEventListener("pagehide", write);
      document.removeEventListener("visibilitychange", hidden);
      try {
        localStorage.removeItem(key);
      } catch {
        // Nothing was written then.
      }
    };
  }

  /** Runs `method` on the full module now, or once it has taken over (in the order asked). */
  later(method, args) {
    if (this.full) return Promise.resolve(this.full[method](...args));
    return new Promise((resolve, reject) => this.pending.push([method, args, [resolve, reject]]));
  }

  /** Tells the page's listeners (and the console) the stage's warnings. */
  tell(warnings) {
    for (const warning of warnings) {
      log(this.stage.config.logLevel, 2, warning.code, warning.message);
      this.emit("warning", warning);
    }
  }

  emit(event, payload) {
    const listeners = this.listeners[event];
    if (!listeners.length) {
      if (event === "warning" && this.unheard && this.unheard.length < MAX_UNHEARD) this.unheard.push(payload);
      return;
    }
    for (const listener of [...listeners]) {
      try {
        listener(payload);
      } catch (error) {
        log(this.stage.config.logLevel, 1, "LISTENER_THREW", String(error && error.message));
      }
    }
  }

  get visitorId() {
    return this.full ? this.full.visitorId : this.stage.report.visitorId ?? null;
  }

  get anonymousId() {
    return this.full ? this.full.anonymousId : this.stage.report.anonymousId ?? null;
  }

  get status() {
    if (this.full) return this.full.status;
    return this.closed ? "CLOSED" : this.stage.report.status;
  }

  get lastError() {
    return this.full ? this.full.lastError : this.stage.report.lastError;
  }

  getFlag(key, defaultValue, expose) {
    if (this.full) return this.full.getFlag(key, defaultValue, expose);
    if (typeof key !== "string") {
      log(this.stage.config.logLevel, 2, "INVALID_KEY", "getFlag: key must be a string; default returned");
      return defaultValue;
    }
    try {
      const { value, exposes, mismatch } = this.stage.read(key, kindOf(defaultValue));
      if (mismatch) log(this.stage.config.logLevel, 2, "FLAG_TYPE_MISMATCH", mismatch);
      if (exposes && expose !== false && !this.closed) this.exposed.add(key);
      return value === undefined ? defaultValue : value;
    } catch {
      return defaultValue;
    }
  }

  exposeFlag(key) {
    if (this.full) return this.full.exposeFlag(key);
    if (typeof key !== "string") return false;
    const { exposes } = this.stage.read(key, 0);
    if (exposes && !this.closed) this.exposed.add(key);
    return this.stage.metadata(key) !== null;
  }

  flagMetadata(key) {
    if (this.full) return this.full.flagMetadata(key);
    return typeof key === "string" ? this.stage.metadata(key) : null;
  }

  getFlags() {
    if (this.full) return this.full.getFlags();
    return { ...this.stage.report.flags };
  }

  on(event, listener) {
    if (!EVENTS.includes(event) || typeof listener !== "function") {
      log(this.stage.config.logLevel, 2, "INVALID_LISTENER", 'on/off: event must be "change", "flags" or "warning" and listener a function');
      return;
    }
    this.listeners[event].push(listener);
    if (event === "warning" && this.unheard) {
      const unheard = this.unheard;
      this.unheard = null;
      for (const warning of unheard) {
        try {
          listener(warning);
        } catch (error) {
          log(this.stage.config.logLevel, 1, "LISTENER_THREW", String(error && error.message));
        }
      }
    }
  }

  off(event, listener) {
    const listeners = this.listeners[event];
    if (!listeners) return;
    const at = listeners.indexOf(listener);
    if (at >= 0) listeners.splice(at, 1);
  }

  /**
   * A hit: checked by the first stage as the full module checks it, then kept for the full
   * module, which sends it with the identity Segment reports then.
   */
  hit(method, args) {
    if (this.full) return this.full[method](...args);
    if (this.closed) return false;
    // `page()` with no URL is this page's, wherever the call is replayed.
    if (method === "page" && args[0] == null) args = [location.href];
    let checked;
    try {
      checked = this.stage.checkHit([method, ...JSON.parse(hitArgsJson(args))], this.consent);
    } catch {
      checked = { code: "INVALID_HIT", message: "hit properties must be an object" };
    }
    if (checked !== true) {
      if (checked) log(this.stage.config.logLevel, 2, checked.code, checked.message);
      return false;
    }
    this.pending.push([method, args]);
    return true;
  }

  track(...args) {
    return this.hit("track", args);
  }

  transaction(...args) {
    return this.hit("transaction", args);
  }

  item(...args) {
    return this.hit("item", args);
  }

  page(...args) {
    return this.hit("page", args);
  }

  setConsent(granted) {
    if (this.full) return this.full.setConsent(granted);
    if (typeof granted === "boolean") this.consent = granted;
    this.pending.push(["setConsent", [granted]]);
  }

  updateContext(context) {
    return this.later("updateContext", [context]);
  }

  diagnose() {
    if (this.full) return this.full.diagnose();
    const { report, config } = this.stage;
    const none = { queued: 0, sent: 0, dropped: 0 };
    // The full module's shape, with what the first stage knows; `stage` says which answered.
    return {
      version: __VERSION__,
      stage: "first",
      status: this.status,
      lastError: report.lastError,
      mode: config.bucketing ? "bucketing" : "api",
      visitorId: report.redacted.visitorId ?? null,
      anonymousId: report.redacted.anonymousId ?? null,
      consent: config.consent,
      segment: { flavour: this.stage.analytics ? "unknown" : "absent", version: null, idSource: !report.visitorId ? "none" : this.stage.analytics ? "segment" : "storage", cookieAndStorageAgree: null },
      seenBySegment: null,
      sentBeforeSegmentKnew: 0,
      storageRefused: false,
      rateLimitedUntil: null,
      hits: { ...none, queued: this.pending.filter(([method]) => HIT_METHODS.includes(method)).length },
      activations: { ...none, queued: this.exposed.size },
      endpoints: config.endpoints,
      envId: config.envId,
      apiKey: config.apiKey,
    };
  }

  flush() {
    return this.later("flush", []);
  }

  close() {
    if (!this.full) this.closed = true;
    return this.later("close", []);
  }

  free() {
    this.full?.free();
  }
}

/** This tab's ID (sessionStorage `key`), made as the full module makes it when there is none. */
function tabId(key) {
  try {
    let id = sessionStorage.getItem(key);
    if (!id) {
      id = `${Date.now()}-${Math.floor(Math.random() * 1e12)}`;
      sessionStorage.setItem(key, id);
    }
    return id;
  } catch {
    return "no-session-storage";
  }
}

export { kindOf };
