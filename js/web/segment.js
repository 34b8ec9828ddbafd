// analytics.js as the first stage sees it (the full module has its own reader,
// src/browser/segment.rs, which this follows): found by looking again every `probeEveryMs` until
// `segmentTimeoutMs`, because the snippet's stub is replaced by the real instance when it loads;
// read through one `user()` call. Nothing here decides: what the reading means is the Rust
// stage's (src/first_flag.rs), which also validates the IDs.

/** True once `analytics` answers `user()` synchronously with Segment's stored identity. */
function isLoaded(analytics) {
  if (!analytics || typeof analytics.user !== "function" || analytics.initialized === false) return false;
  try {
    const user = analytics.user();
    return !!user && typeof user.then !== "function" && typeof user.anonymousId === "function";
  } catch {
    return false;
  }
}

const call = (target, method) => {
  try {
    return typeof target[method] === "function" ? target[method]() : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Waits for a loaded instance: `given` (the `analytics` option: a loaded instance, or an
 * analytics-next AnalyticsBrowser, a thenable of `[analytics, context]`) or `globalThis[key]`.
 * Resolves to `{found: "loaded", analytics}`, or `{found: "loading"}` (something was there but
 * did not load in time) or `{found: "absent"}`.
 */
export function findSegment(given, key, probeEveryMs, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  let resolved;
  let waiting = false;
  let sawSomething = false;
  return new Promise((resolve) => {
    const probe = () => {
      const current = given ?? globalThis[key];
      if (isLoaded(current)) return resolve({ found: "loaded", analytics: current });
      if (current && typeof current.then === "function" && typeof current.user === "function") {
        if (isLoaded(resolved)) return resolve({ found: "loaded", analytics: resolved });
        if (!waiting) {
          waiting = true;
          Promise.resolve(current).then((value) => {
            resolved = Array.isArray(value) ? value[0] : value;
            probe();
          }, () => {});
        }
      }
      sawSomething ||= current != null;
      if (performance.now() >= deadline) return resolve({ found: sawSomething ? "loading" : "absent" });
      setTimeout(probe, probeEveryMs);
    };
    probe();
  });
}

/** `{userId, anonymousId, traits}` of a loaded instance, traits limited to `allow`. */
export function readUser(analytics, allow) {
  const user = call(analytics, "user");
  if (!user || typeof user.then === "function") return {};
  const reading = { userId: call(user, "id") ?? null, anonymousId: call(user, "anonymousId") ?? null };
  if (allow.length) {
    const traits = call(user, "traits") || {};
    reading.traits = {};
    for (const name of allow) reading.traits[name] = traits[name];
  }
  return reading;
}

/** Segment's own stored copies, read only: `document.cookie` and the two localStorage keys. */
export function storedIds() {
  const read = (get) => {
    try {
      return get();
    } catch {
      return null;
    }
  };
  return {
    cookie: read(() => document.cookie) ?? "",
    localUserId: read(() => localStorage.getItem("ajs_user_id")),
    localAnonymousId: read(() => localStorage.getItem("ajs_anonymous_id")),
  };
}
