// flagship-segment/react (pkg/react/index.mjs): a Provider that starts the module once per mount,
// and hooks that read flags through it.
//
// - The module is loaded lazily, on the client only: `import("../web/flagship_segment.js")` (the
//   --target web build, which finds its .wasm with `new URL(..., import.meta.url)`) runs in an
//   effect, so importing this file on a Node server, or rendering with react-dom/server, never
//   touches the .wasm or `window`.
// - Until the module has started (server render, the client's hydration render, the Decision
//   API round trip of a page without `initialDecision`), reads come from
//   `initialDecision.flags` with the module's own rule: a value of another JS type than the
//   default, null or missing, gives the default. The server HTML and the first client render
//   therefore match.
// - Renders stay pure: a render reads with `expose = false`; the exposure is the module's usual
//   (gated, deduplicated) `getFlag(key, default)`, called in an effect after commit.
// - One instance per mount, React StrictMode included: the instance is created by the first
//   effect, and the close of a cleanup waits a tick, cancelled if the effect runs again (as
//   StrictMode's simulated unmount and remount do).
import {
  createContext,
  createElement,
  useContext,
  useEffect,
  useMemo,
  useState,
  useSyncExternalStore,
} from "react";

/** The kind of value a default asks for, as the module tells them apart. */
function kindOf(value) {
  if (value === null || value === undefined) return "any";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** `flags[key]` if it is of the default's kind, else the default (the module's rule). */
function readInitial(flags, key, defaultValue) {
  const value = flags && Object.prototype.hasOwnProperty.call(flags, key) ? flags[key] : null;
  if (value === null || value === undefined) return defaultValue;
  const kind = kindOf(defaultValue);
  return kind === "any" || kind === kindOf(value) ? value : defaultValue;
}

/** `initialDecision.flags`, whether the decision was given as an object or as its JSON text. */
function initialFlags(initialDecision) {
  let decision = initialDecision;
  if (typeof decision === "string") {
    try {
      decision = JSON.parse(decision);
    } catch {
      // The module says why when it starts (a warning); until then, defaults.
      return null;
    }
  }
  const flags = decision && typeof decision === "object" ? decision.flags : null;
  return flags && typeof flags === "object" ? flags : null;
}

/** What a Provider shares with its hooks: the module once started, and a version that changes
 *  whenever what a read returns may have changed. */
class Store {
  constructor(options) {
    this.options = options;
    this.initial = initialFlags(options.initialDecision);
    this.instance = null;
    this.error = null;
    this.version = 0;
    this.listeners = new Set();
    // Each start gets a number; a start whose number is no longer current was released.
    this.generation = 0;
    this.running = false;
    this.closing = null;
    this.bump = () => {
      this.version += 1;
      for (const listener of [...this.listeners]) listener();
    };
    this.subscribe = (listener) => {
      this.listeners.add(listener);
      return () => this.listeners.delete(listener);
    };
    this.getVersion = () => this.version;
    // Server render and hydration: always what the server had, initialDecision's flags.
    this.getServerVersion = () => 0;
  }

  /** Reads without exposing: the module's value once started, else initialDecision's. */
  read(key, defaultValue, version) {
    if (version !== 0 && this.instance) return this.instance.getFlag(key, defaultValue, false);
    return readInitial(this.initial, key, defaultValue);
  }

  /** The exposing read, after commit; the module gates and deduplicates it. */
  expose(key, defaultValue) {
    if (this.instance) this.instance.getFlag(key, defaultValue);
  }

  /** A mounted Provider needs the module: starts it, or keeps the one a cleanup was closing. */
  acquire() {
    if (this.closing !== null) {
      clearTimeout(this.closing);
      this.closing = null;
    }
    if (this.running) return;
    this.running = true;
    const generation = ++this.generation;
    import("../web/flagship_segment.js")
      .then((module) => module.start(this.options))
      .then(
        (instance) => {
          if (generation !== this.generation) {
            // Unmounted while it was starting.
            void instance.close();
            return;
          }
          this.instance = instance;
          for (const event of ["flags", "change", "warning"]) instance.on(event, this.bump);
          this.bump();
        },
        (error) => {
          if (generation !== this.generation) return;
          this.error = error;
          console.error(`[flagship-segment] ${error && error.code ? `${error.code}: ` : ""}${error && error.message}`);
          this.bump();
        },
      );
  }

  /** A cleanup: the module is closed a tick later, unless the Provider's effect runs again. */
  release() {
    if (this.closing !== null) return;
    this.closing = setTimeout(() => {
      this.closing = null;
      this.running = false;
      this.generation += 1;
      const instance = this.instance;
      this.instance = null;
      this.error = null;
      if (instance) void instance.close();
      this.bump();
    }, 0);
  }
}

/** What the hooks see outside any Provider: nothing started, ever; reads give their default. */
const absent = new Store({});
let warnedAbsent = false;
const StoreContext = createContext(absent);

function useStore() {
  const store = useContext(StoreContext);
  if (store === absent && !warnedAbsent) {
    warnedAbsent = true;
    console.warn("[flagship-segment] useFlag/useFlagship outside <FlagshipSegmentProvider>: defaults are returned");
  }
  return store;
}

/**
 * Starts flagship-segment once per mount with its props as `start` options (`initialDecision`
 * included) and closes it on unmount. The props are read once, at mount: give the Provider a new
 * `key` to start again with other options.
 */
export function FlagshipSegmentProvider({ children, ...options }) {
  const [store] = useState(() => new Store(options));
  useEffect(() => {
    store.acquire();
    return () => store.release();
  }, [store]);
  return createElement(StoreContext.Provider, { value: store }, children);
}

/**
 * A flag's value, typed by its default (another type, null or missing gives the default). The
 * component re-renders when flags or the identity change, and the read is exposed once the
 * render is committed.
 */
export function useFlag(key, defaultValue) {
  const store = useStore();
  const version = useSyncExternalStore(store.subscribe, store.getVersion, store.getServerVersion);
  const kind = kindOf(defaultValue);
  // Arrays and objects come back as fresh copies: one per version, not one per render (and an
  // array or object default, often a new literal each render, is taken once per version too).
  const same = kind === "array" || kind === "object" ? kind : defaultValue;
  const value = useMemo(() => store.read(key, defaultValue, version), [store, key, same, version]);
  useEffect(() => {
    if (version !== 0) store.expose(key, defaultValue);
  }, [store, key, kind, version]);
  return value;
}

/**
 * The module as a component sees it: `status` ("STARTING" until started), `visitorId`, and
 * `getFlag`, `track`, `flagMetadata`, `diagnose`, which answer from `initialDecision` (getFlag),
 * false, null and null until then. `instance` is the started module (null before), `error` what
 * `start` rejected with.
 */
export function useFlagship() {
  const store = useStore();
  const version = useSyncExternalStore(store.subscribe, store.getVersion, store.getServerVersion);
  return useMemo(() => {
    const instance = version === 0 ? null : store.instance;
    return {
      status: instance ? instance.status : "STARTING",
      visitorId: instance ? instance.visitorId : undefined,
      getFlag: (key, defaultValue, expose) =>
        instance ? instance.getFlag(key, defaultValue, expose) : readInitial(store.initial, key, defaultValue),
      track: (action, properties) => (instance ? instance.track(action, properties) : false),
      flagMetadata: (key) => (instance ? instance.flagMetadata(key) : null),
      diagnose: () => (instance ? instance.diagnose() : null),
      instance,
      error: version === 0 ? null : store.error,
    };
  }, [store, version]);
}
