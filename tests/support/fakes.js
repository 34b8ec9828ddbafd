// Test doubles for the browser suites: a scripted `window.fetch` that records every request, and
// fake Segment analytics.js instances in each state a page can be in. No network, no real Segment.

const state = { calls: [], routes: [] };
const realFetch = window.fetch.bind(window);

// A running module listens to `pagehide` on window, and stops when it is dropped or closed:
// counting those listeners tells `reset()` whether a module an earlier test started still runs
// (the suites share one page). wasm-bindgen calls `window.addEventListener` by property lookup.
const pagehideListeners = new Set();
const realAddEventListener = window.addEventListener;
const realRemoveEventListener = window.removeEventListener;
window.addEventListener = function (type, listener, options) {
  if (type === "pagehide") pagehideListeners.add(listener);
  return realAddEventListener.call(this, type, listener, options);
};
window.removeEventListener = function (type, listener, options) {
  if (type === "pagehide") pagehideListeners.delete(listener);
  return realRemoveEventListener.call(this, type, listener, options);
};

export function runningModules() {
  return pagehideListeners.size;
}

function headersOf(init) {
  const out = {};
  new Headers((init && init.headers) || {}).forEach((v, k) => { out[k] = v; });
  return out;
}

export function fetchInstall() {
  state.calls = [];
  state.routes = [];
  window.fetch = (url, init) => {
    // What the suites serve themselves (the bucketing engine) is fetched for real, unrecorded.
    if (String(url).startsWith("blob:")) return realFetch(url, init);
    const call = {
      url: String(url),
      method: (init && init.method) || "GET",
      headers: headersOf(init),
      body: init && typeof init.body === "string" ? init.body : null,
      keepalive: !!(init && init.keepalive),
      aborted: false,
      at: performance.now(),
    };
    state.calls.push(call);
    const route = state.routes.find((r) => call.url.includes(r.match));
    const reply = !route
      ? { status: 404, body: '{"message":"no route in test"}' }
      : route.replies.length > 1 ? route.replies.shift() : route.replies[0];
    return new Promise((resolve, reject) => {
      const signal = init && init.signal;
      if (signal) {
        signal.addEventListener("abort", () => {
          call.aborted = true;
          reject(new DOMException("The operation was aborted.", "AbortError"));
        });
      }
      if (reply.hang) return;
      const settle = () => {
        if (call.aborted) return;
        if (reply.networkError) return reject(new TypeError("Failed to fetch"));
        let body = reply.status === 204 || reply.status === 304 ? null : reply.body;
        if (reply.echo) {
          // Answer for whoever was asked about, with a `who` flag naming them.
          const visitor = JSON.parse(call.body).visitor_id;
          body = JSON.stringify({ visitorId: visitor, campaigns: [{
            id: "c1", variationGroupId: "vg1",
            variation: { id: "v1", modifications: { type: "FLAG", value: { who: visitor, btnColor: "blue" } } },
          }, {
            id: "c2", variationGroupId: "vg2",
            variation: { id: "v2", modifications: { type: "FLAG", value: { banner: "sale" } } },
          }] });
        }
        const headers = { "content-type": "application/json", ...(reply.headers || {}) };
        resolve(new Response(body, { status: reply.status, headers }));
      };
      setTimeout(settle, reply.delayMs || 0);
    });
  };
}

// `replies` is a JSON array of {status, body, delayMs?, hang?, networkError?}; the last one repeats.
export function fetchRoute(match, replies) {
  state.routes.push({ match, replies: JSON.parse(replies) });
}

export function fetchCalls() {
  return JSON.stringify(state.calls);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Resolves once a new PerformanceObserver has been handed the Resource Timing entry of `url`
// (buffered or later). Observers are called in the order they observed, so every observer that
// observed before this call (the module's watch of Segment's calls) has seen that entry by then.
export function resourceEntryDelivered(url) {
  return new Promise((resolve) => {
    const observer = new PerformanceObserver((list) => {
      if (list.getEntries().some((entry) => entry.name === url)) {
        observer.disconnect();
        resolve();
      }
    });
    observer.observe({ type: "resource", buffered: true });
  });
}

function fakeUser(ids) {
  // Deliberately no `userId()`: the real User has none, and calling it would throw.
  return {
    id: () => ids.userId,
    anonymousId: () => ids.anonymousId,
    traits: () => ({}),
  };
}

function loadedInstance(ids) {
  const user = fakeUser(ids);
  return { initialized: true, VERSION: "1.70.0", user: () => user, on() {}, track() {}, page() {}, identify() {} };
}

export function clearAnalytics(key) {
  delete window[key];
}

// analytics.js 2.0, already loaded.
export function installLoaded(key, userId, anonymousId) {
  window[key] = loadedInstance({ userId, anonymousId });
}

// The snippet stub: an array with buffered methods and no `user`. If `loadAfterMs` >= 0, the real
// instance replaces it after that delay, as analytics.js does on load.
export function installStub(key, loadAfterMs, userId, anonymousId) {
  const stub = [];
  stub.invoked = true;
  for (const m of ["track", "page", "identify", "reset", "on", "ready", "register", "setAnonymousId"]) {
    stub[m] = (...args) => { stub.push([m, ...args]); return stub; };
  }
  window[key] = stub;
  if (loadAfterMs >= 0) {
    setTimeout(() => { window[key] = loadedInstance({ userId, anonymousId }); }, loadAfterMs);
  }
}

// Classic analytics.js: the instance exists before `initialize()`, with `initialized === false`,
// and until then its user has not been loaded from storage (it would mint a fresh ID).
export function installClassic(key, initAfterMs, userId, anonymousId) {
  const instance = {
    initialized: false,
    VERSION: "4.1.0",
    user: () => (instance.initialized ? fakeUser({ userId, anonymousId }) : fakeUser({ userId: null, anonymousId: "minted-too-early" })),
  };
  window[key] = instance;
  setTimeout(() => { instance.initialized = true; }, initAfterMs);
}

// An analytics-next AnalyticsBrowser: `user()` returns a Promise that settles once loaded
// (never, if `resolveAfterMs` < 0, as when the CDN is blocked).
export function npmInstance(resolveAfterMs, userId, anonymousId) {
  const loaded = loadedInstance({ userId, anonymousId });
  const later = (value) => new Promise((resolve) => {
    if (resolveAfterMs >= 0) setTimeout(() => resolve(value), resolveAfterMs);
  });
  // Like AnalyticsBrowser: every method answers with a Promise, and the object itself is a
  // thenable resolving to [analytics, context] once loaded.
  return {
    user: () => later(loaded.user()),
    on() {},
    then(onFulfilled, onRejected) { return later([loaded, {}]).then(onFulfilled, onRejected); },
  };
}

export function setCookie(name, value) {
  document.cookie = `${name}=${value}; path=/`;
}

export function clearStorage() {
  for (const name of ["ajs_user_id", "ajs_anonymous_id"]) {
    document.cookie = `${name}=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT`;
    localStorage.removeItem(name);
  }
  // The module's own queues, exposure log and decision cache: each test starts from nothing.
  for (const key of Object.keys(localStorage)) {
    if (key.startsWith("flagship-segment:")) localStorage.removeItem(key);
  }
}

export function setLocal(name, value) {
  localStorage.setItem(name, value);
}

export function getLocal(name) {
  return localStorage.getItem(name);
}

export function cookies() {
  return document.cookie;
}

export function consoleCapture() {
  const lines = [];
  for (const level of ["log", "info", "warn", "error", "debug"]) {
    console[level] = (...args) => { lines.push(args.map(String).join(" ")); };
  }
  window.__consoleLines = lines;
}

export function consoleLines() {
  return JSON.stringify(window.__consoleLines || []);
}

export function throwingObject() {
  return { get user() { throw new Error("hostile getter"); } };
}

export function symbolValue() {
  return Symbol("not a key");
}

// A loaded instance whose user was identified with a number (`identify(42)`).
export function installNumericUser(key, userId, anonymousId) {
  window[key] = loadedInstance({ userId, anonymousId });
}

// A loaded analytics.js 2.0 that behaves like analytics-next where identity is concerned:
// identify(B) after A rotates the anonymousId, `identify` fires late, `reset` fires at once,
// setAnonymousId fires nothing. `register(plugin)` loads a plugin and routes identify through it.
export function installScripted(key, anonymousId, identifyEventDelayMs) {
  let userId = null;
  let anon = anonymousId;
  let traits = {};
  let counter = 0;
  const handlers = {};
  const plugins = [];
  const user = { id: () => userId, anonymousId: () => anon, traits: () => traits };
  const emit = (event, ...args) => (handlers[event] || []).slice().forEach((f) => f.apply(instance, args));
  const tracked = [];
  const instance = {
    initialized: true,
    tracked,
    // Like analytics-next, page/track emit their event once the call is delivered.
    track(event, properties) {
      tracked.push([event, properties]);
      setTimeout(() => emit("track", event, properties), identifyEventDelayMs);
    },
    page() { setTimeout(() => emit("page"), identifyEventDelayMs); },
    user: () => user,
    on(event, fn) { (handlers[event] ||= []).push(fn); return instance; },
    off(event, fn) { handlers[event] = (handlers[event] || []).filter((f) => f !== fn); return instance; },
    identify(id, newTraits) {
      if (userId !== null && id !== userId) { anon = `anon-rotated-${++counter}`; traits = {}; }
      userId = id;
      traits = { ...traits, ...(newTraits || {}) };
      for (const p of plugins) if (p.identify) p.identify({ event: { type: "identify", userId: id } });
      setTimeout(() => emit("identify", id, newTraits), identifyEventDelayMs);
    },
    reset() { userId = null; traits = {}; anon = `anon-reset-${++counter}`; emit("reset"); },
    setAnonymousId(id) { anon = id; },
    register(plugin) { plugins.push(plugin); return plugin.load({}, instance); },
    listenerCount(event) { return (handlers[event] || []).length; },
  };
  window[key] = instance;
  return instance;
}

export function call(target, method, ...args) {
  return target[method](...args);
}

// A listener that records what it is called with.
export function recorder() {
  const calls = [];
  const fn = (payload) => { calls.push(JSON.parse(JSON.stringify(payload))); };
  fn.calls = calls;
  return fn;
}

export function recorded(fn) {
  return JSON.stringify(fn.calls);
}

export function throwingListener() {
  return () => { throw new Error("page bug"); };
}

export function reroute() {
  state.routes = [];
}

export function installScriptedLater(key, anonymousId, identifyEventDelayMs, afterMs) {
  return new Promise((resolve) => setTimeout(() => resolve(installScripted(key, anonymousId, identifyEventDelayMs)), afterMs));
}

const realNow = Date.now.bind(Date);
let clockOffset = 0;
Date.now = () => realNow() + clockOffset;

// Moves the page's clock (Date.now) forward; the module reads time only through it.
export function clockShift(ms) {
  clockOffset += ms;
}

export function clockReset() {
  clockOffset = 0;
}

const realSetItem = Storage.prototype.setItem;

// Makes every localStorage write fail as a full storage does.
export function breakStorage() {
  Storage.prototype.setItem = function () {
    throw new DOMException("quota exceeded", "QuotaExceededError");
  };
}

export function fixStorage() {
  Storage.prototype.setItem = realSetItem;
}

export function moduleKeys() {
  return JSON.stringify(Object.keys(localStorage).filter((k) => k.startsWith("flagship-segment:")).sort());
}

export function dispatchPagehide() {
  window.dispatchEvent(new Event("pagehide"));
}

// A loaded analytics.js whose `track()` reports itself to its `track` listeners, either from
// inside the call (classic analytics.js, or a page's own wrapper) or on the next tick
// (analytics-next). Issue 20: the synchronous report must reach the module, not be dropped.
export function installEmitting(key, anonymousId, synchronous) {
  const listeners = {};
  const user = fakeUser({ userId: null, anonymousId });
  const instance = {
    initialized: true,
    VERSION: "1.70.0",
    tracked: [],
    user: () => user,
    on(event, callback) { (listeners[event] = listeners[event] || []).push(callback); },
    off(event, callback) { listeners[event] = (listeners[event] || []).filter((c) => c !== callback); },
    track(event, properties) {
      instance.tracked.push([event, properties]);
      const report = () => (listeners.track || []).forEach((callback) => callback(event, properties));
      if (synchronous) report(); else setTimeout(report, 0);
    },
    page() {},
    identify() {},
  };
  window[key] = instance;
  return instance;
}

export function trackedJson(instance) {
  return JSON.stringify(instance.tracked);
}

// analytics-next's `Segment.io` destination as `analytics.queue.plugins` shows it, with its API on
// this test server; `request` also completes a request to that API first (a 404 here, but Resource
// Timing keeps it), as the snippet's page() does before the module starts, and is answered with
// that request's URL.
export async function segmentApiOnThisServer(instance, request) {
  const path = `segment-api-${Math.random().toString(36).slice(2)}`;
  const metadata = { apiHost: `${location.host}/${path}`, protocol: location.protocol.slice(0, -1) };
  instance.queue = { plugins: [{ name: "Segment.io", metadata }] };
  if (!request) return null;
  const url = `${location.origin}/${path}/${request}`;
  await new Promise((resolve) => {
    const image = new Image();
    image.onload = image.onerror = resolve;
    image.src = url;
  });
  return url;
}

// A URL the page can fetch `bytes` from, served as application/wasm (the bucketing engine the
// browser suites hand to the module through its `bucketingEngineUrl` option).
export function wasmUrl(bytes) {
  return URL.createObjectURL(new Blob([bytes], { type: "application/wasm" }));
}
