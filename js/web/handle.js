// What `start()` of the web build resolves to: one object for the page's whole visit, answered by
// the first stage (first-stage.js) until the full module has loaded, then by the full module,
// which takes over with the stage's decision, checked against Segment's identity (src/engine,
// `Takeover`). The page sees the same members either way: those of the full module's
// `FlagshipSegment`.
//
// While only the first stage is up, reads are its. What the page does that AB Tasty must hear of
// (a read that exposes, a hit, a consent call) is kept here in order, each with the identity
// Segment reports at that moment (src/engine/early.rs has the form), and handed to the full module
// the moment it is up, in the same task that makes it answer the page's calls, so nothing falls
// between the two. `flush()`, `close()` and `updateContext()` resolve once the full module has
// done them. The full module is loaded as soon as the first flag is in hand.
//
// A page hidden or going away before that leaves what is kept in a record
// (`early:{tabId}:{pageId}`), which the next page's full module sends. The record is taken back
// when the page is shown again or takes over; if another page sent it meanwhile (the next page
// after the back-forward cache, another tab after five minutes), what it held is not sent again.

import { hitArgsJson } from "../hit-args.js";

const EVENTS = ["change", "flags", "warning"];
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
    /** Calls for the full module to run once it is up: [method, args, [resolve, reject]]. */
    this.pending = [];
    /** What AB Tasty must hear of, in order, not yet handed over (src/engine/early.rs). */
    this.calls = [];
    /** The consent before the first of `calls`. */
    this.callsConsent = stage.config.consent;
    /** The consent now. */
    this.consent = stage.config.consent;
    /** Flags whose exposure is kept: one per flag and page. */
    this.exposed = new Set();
    this.closed = false;
    this.dispatched = false;
    /** Segment fired `reset` meanwhile: names an anonymous visitor's new ID (see `Takeover`). */
    this.resetSeen = false;
    this.unsubscribe = this.followSegment(stage.analytics);
    this.recording = this.recordOnUnload();
    for (const warning of stage.config.warnings) log(stage.config.logLevel, 2, "OPTION_IGNORED", warning);
    this.tell(stage.report.warnings);
    this.takingOver = this.takeOver(loadFull).catch((error) => this.fullUnavailable(error));
  }

  /**
   * Notes whether Segment dispatches a call (`page`, `track`, `identify`: each fires once the
   * call is delivered) before the full module has taken over, which then knows the visitor is
   * known to Segment (the seen-by-Segment gate; see `Takeover`), and whether it fires `reset`
   * (which names the change the full module may find). Returns what stops listening.
   */
  followSegment(analytics) {
    if (!analytics || typeof analytics.on !== "function") return () => {};
    const seen = () => (this.dispatched = true);
    const reset = () => (this.resetSeen = true);
    const listening = [["page", seen], ["track", seen], ["identify", seen], ["reset", reset]];
    try {
      for (const [event, listener] of listening) analytics.on(event, listener);
    } catch {
      return () => {};
    }
    return () => {
      for (const [event, listener] of listening) {
        try {
          analytics.off?.(event, listener);
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
          this.tell([{ code: "WASM_UNAVAILABLE", message: `the full module could not be loaded (${error && error.message}); trying again` }]);
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
    const takeover = JSON.stringify({ ...report.takeover, dispatched: this.dispatched, reset: this.resetSeen });
    const initial = report.initialDecision == null ? undefined : JSON.stringify(report.initialDecision);
    // The full module's events from its first moment (an identity change while it loaded:
    // `change`, then `flags`), held until it answers the page's calls, so that a listener that
    // reads the handle reads the new flags.
    let held = [];
    const emit = (event, payload) => (held ? held.push([event, payload]) : this.emit(event, payload));
    const full = await glue.takeOver(options, initial, takeover, (handle) => this.adopt(handle), emit);
    const heard = held;
    held = null;
    for (const [event, payload] of heard) this.emit(event, payload);
    for (const [method, args, settle] of this.pending.splice(0)) {
      try {
        settle[0](full[method](...args));
      } catch (error) {
        settle[1](error);
      }
    }
  }

  /**
   * The full module is up (`handle`, the page's handle on it): from now on the page's calls go
   * to it, and the calls kept so far are handed to it (returned as text; it replays them in the
   * same task, before anything else can reach it).
   */
  adopt(handle) {
    this.recording.takeBack();
    this.recording.stop();
    this.unsubscribe();
    this.full = handle;
    const calls = this.calls.splice(0);
    return JSON.stringify({ consent: this.callsConsent, calls });
  }

  /** The full module could not start: the first stage goes on answering; the page is told. */
  fullUnavailable(error) {
    this.tell([{ code: "WASM_UNAVAILABLE", message: `the full module could not start (${error && error.message})` }]);
    for (const [, , settle] of this.pending.splice(0)) settle[1](error);
  }

  /** `[kind, time of day, visitorId, anonymousId, …rest]` for `identity` (src/engine/early.rs). */
  static call(kind, identity, ...rest) {
    return [kind, Date.now(), identity ? identity.visitorId : null, identity ? identity.anonymousId ?? null : null, ...rest];
  }

  /** Segment's identity of this moment, as the stage resolves it; null when there is none. */
  identityNow() {
    try {
      return this.stage.identityNow();
    } catch {
      return null;
    }
  }

  /**
   * Keeps the exposure of `key` (read by the page) for the full module: once per flag, with
   * consent, and only while Segment still reports the identity the flags were decided for
   * (after a change the full module decides again, and exposes what the page reads then).
   * False when no campaign sets `key`.
   */
  keepExposure(key) {
    const metadata = this.stage.metadata(key);
    if (!metadata || this.closed || !this.consent || this.exposed.has(key)) return metadata !== null;
    const now = this.identityNow();
    const { visitorId, anonymousId } = this.stage.report;
    if (!now || now.visitorId !== visitorId || (now.anonymousId ?? null) !== (anonymousId ?? null)) return true;
    this.exposed.add(key);
    this.calls.push(StagedModule.call("expose", now, metadata.variationGroupId, metadata.variationId));
    return true;
  }

  /**
   * While only the first stage is up, writes the calls kept so far to a record each time the
   * page is hidden or goes away (`visibilitychange`, `pagehide`), for the next page, and takes
   * it back when the page is shown again (`visibilitychange`, `pageshow`): removed if still
   * there; if another page took it in meanwhile, the calls it held were sent and are dropped
   * here. Returns `{takeBack, stop}`.
   */
  recordOnUnload() {
    const { config } = this.stage;
    // One record per page: a page never removes another's.
    const key = `${config.earlyKey}${tabId(config.tabKey)}:${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
    let written = 0;
    const write = () => {
      if (!this.calls.length) return;
      try {
        localStorage.setItem(key, JSON.stringify({ v: 2, at: Date.now(), consent: this.callsConsent, calls: this.calls }));
        written = this.calls.length;
      } catch {
        // Storage refused: what was made in this moment is lost, as the page is.
      }
    };
    const takeBack = () => {
      if (!written) return;
      let taken;
      try {
        taken = localStorage.getItem(key) == null;
        localStorage.removeItem(key);
      } catch {
        taken = false;
      }
      if (taken) {
        for (const call of this.calls.splice(0, written)) {
          if (call[0] === "consent") this.callsConsent = call[4];
        }
      }
      written = 0;
    };
    const visibility = () => (document.visibilityState === "hidden" ? write() : takeBack());
    addEventListener("pagehide", write);
    addEventListener("pageshow", takeBack);
    document.addEventListener("visibilitychange", visibility);
    const stop = () => {
      removeEventListener("pagehide", write);
      removeEventListener("pageshow", takeBack);
      document.removeEventListener("visibilitychange", visibility);
    };
    return { takeBack, stop };
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
    return this.full ? this.full.visitorId : this.stage.report.visitorId ?? undefined;
  }

  get anonymousId() {
    return this.full ? this.full.anonymousId : this.stage.report.anonymousId ?? undefined;
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
      if (exposes && expose !== false) this.keepExposure(key);
      return value === undefined ? defaultValue : value;
    } catch {
      return defaultValue;
    }
  }

  exposeFlag(key) {
    if (this.full) return this.full.exposeFlag(key);
    if (typeof key !== "string") return false;
    try {
      const { exposes } = this.stage.read(key, 0);
      return exposes ? this.keepExposure(key) : this.stage.metadata(key) !== null;
    } catch {
      return false;
    }
  }

  flagMetadata(key) {
    if (this.full) return this.full.flagMetadata(key);
    try {
      return typeof key === "string" ? this.stage.metadata(key) : null;
    } catch {
      return null;
    }
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
   * A hit: checked by the first stage as the full module checks it, for the identity Segment
   * reports now, then kept for the full module.
   */
  hit(method, args) {
    if (this.full) return this.full[method](...args);
    if (this.closed) return false;
    // `page()` with no URL is this page's, wherever the call is sent from.
    if (method === "page" && args[0] == null) args = [location.href];
    let values;
    let checked;
    try {
      values = JSON.parse(hitArgsJson(args));
      checked = this.stage.checkHit([method, ...values], this.consent);
    } catch {
      checked = { refused: { code: "INVALID_HIT", message: "hit properties must be an object" } };
    }
    if (!checked) return false;
    if (checked.refused) {
      log(this.stage.config.logLevel, 2, checked.refused.code, checked.refused.message);
      return false;
    }
    this.calls.push(StagedModule.call("hit", checked.identity, method, ...values));
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
    // Anything else is the full module's to refuse (INVALID_CONSENT), as it would at once.
    if (typeof granted !== "boolean") return void this.later("setConsent", [granted]).catch(() => {});
    this.consent = granted;
    this.calls.push(StagedModule.call("consent", this.identityNow(), granted));
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
      consent: this.consent,
      segment: { flavour: this.stage.analytics ? "unknown" : "absent", version: null, idSource: !report.visitorId ? "none" : this.stage.analytics ? "segment" : "storage", cookieAndStorageAgree: null },
      seenBySegment: null,
      sentBeforeSegmentKnew: 0,
      storageRefused: false,
      rateLimitedUntil: null,
      hits: { ...none, queued: this.calls.filter(([kind]) => kind === "hit").length },
      activations: { ...none, queued: this.calls.filter(([kind]) => kind === "expose").length },
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

/**
 * This tab's ID (sessionStorage `key`), made as the full module makes it when there is none.
 * Without sessionStorage, a new one, as the full module's: the record is then no page's own,
 * and is taken in as a closed tab's (after five minutes).
 */
function tabId(key) {
  const made = `${Date.now()}-${Math.floor(Math.random() * 1e12)}`;
  try {
    let id = sessionStorage.getItem(key);
    if (!id) {
      id = made;
      sessionStorage.setItem(key, id);
    }
    return id;
  } catch {
    return made;
  }
}

export { kindOf };
