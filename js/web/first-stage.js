// The first stage of the web build at run time: its .wasm (src/first_flag.rs, built with the
// feature `first-flag`) travels inside this bundle, gzip-compressed and base64-encoded, so the
// page fetches no second file before its first flag; it is inflated with the browser's
// DecompressionStream and compiled once, on import. Each `start()` gets an instance of its own.
//
// What the stage decides, this file carries out: it looks for analytics.js and reads `user()`
// (segment.js), reads what the module stored, sends the request the stage built (with its
// timeout), or runs the bucketing engine in that mode, and hands every answer back. The C ABI
// is src/first_flag/exports.rs's: arguments as UTF-8 in buffers from `alloc`, answers as JSON
// read from `output_ptr` / `output_len`.
//
// No eval, no new Function: it runs under `script-src 'self' 'wasm-unsafe-eval'`.
import { loadBucketingEngine } from "../bucketing-engine.js";
import { findSegment, readUser, storedIds } from "./segment.js";

/** The stage's .wasm, gzip then base64; scripts/package.mjs puts it here. */
const WASM = "__FIRST_STAGE_WASM__";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The stage's gzip bytes. `Uint8Array.fromBase64` where the browser has it; else a plain loop
 * (on a phone profile, CPU 4×, `Uint8Array.from(text, callback)` took 25 to 40 ms, the loop 1 to 8).
 */
function gzipped() {
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(WASM);
  const text = atob(WASM);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** Compiles the stage; `null` where the browser cannot inflate it (the full module then starts alone). */
export async function compileFirstStage() {
  if (typeof DecompressionStream !== "function") return null;
  // Written in one piece rather than piped from a Blob's stream: fewer hops through the event
  // loop (CPU 4×: 12 to 41 ms against 52 to 89).
  const inflate = new DecompressionStream("gzip");
  const writer = inflate.writable.getWriter();
  writer.write(gzipped()).catch(() => {});
  writer.close().catch(() => {});
  // Compiled as it is inflated where the browser streams compilation.
  if (typeof WebAssembly.compileStreaming === "function") {
    return WebAssembly.compileStreaming(new Response(inflate.readable, { headers: { "content-type": "application/wasm" } }));
  }
  return WebAssembly.compile(await new Response(inflate.readable).arrayBuffer());
}

/** An Error with one of the module's stable codes, as the full module rejects. */
export function coded({ code, message }) {
  const error = new Error(message);
  error.code = code;
  return error;
}

/** One instance of the stage: its exports as calls taking and giving text. */
export async function instantiate(module) {
  let memory;
  const read = (ptr, len) => decoder.decode(new Uint8Array(memory.buffer, ptr >>> 0, len >>> 0));
  const imports = {
    env: {
      parse_f64: (ptr, len) => parseFloat(read(ptr, len)),
      format_f64: (x, out, cap) => {
        const bytes = encoder.encode(String(x));
        if (bytes.length <= cap) new Uint8Array(memory.buffer, out >>> 0, bytes.length).set(bytes);
        return bytes.length;
      },
    },
  };
  const { exports } = await WebAssembly.instantiate(module, imports);
  memory = exports.memory;
  const output = () => read(exports.output_ptr(), exports.output_len());
  // Calls export `name` with texts (each as pointer and length) and numbers, in order.
  const call = (name, ...args) => {
    const owned = [];
    const flat = [];
    for (const arg of args) {
      if (typeof arg !== "string") {
        flat.push(arg);
        continue;
      }
      const bytes = encoder.encode(arg);
      const ptr = exports.alloc(bytes.length);
      new Uint8Array(memory.buffer, ptr >>> 0, bytes.length).set(bytes);
      owned.push([ptr, bytes.length]);
      flat.push(ptr, bytes.length);
    }
    try {
      return exports[name](...flat);
    } finally {
      for (const [ptr, len] of owned) exports.free(ptr, len);
    }
  };
  return { call, output };
}

/** `getItem`, or null when storage is disabled. */
function stored(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** Sends `request` ({url, method, headers, body}); resolves to [kind, status, body, extra]. */
async function send(request, timeoutMs) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const init = { method: request.method, headers: request.headers, signal: controller.signal };
    if (request.method === "POST") init.body = request.body;
    const response = await fetch(request.url, init);
    const body = await response.text();
    return [0, response.status, body, { retryAfter: response.headers.get("retry-after") }];
  } catch (error) {
    if (controller.signal.aborted) return [1, 0, "", {}];
    return [2, 0, String((error && error.message) || "fetch failed"), {}];
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs the stage for `options` (the page's object): rejects with INVALID_OPTIONS like the full
 * module, else resolves once the first flag is in hand (or defaults are: the stage never
 * rejects for a failure to decide) to the stage's state, with `read`, `metadata` and `report`.
 * `engineUrl()` says where the bucketing engine is when the options do not.
 */
export async function runFirstStage(module, options, engineUrl) {
  const { call, output } = await instantiate(module);
  const given = options && typeof options === "object" ? options.analytics : undefined;
  const config = configure({ call, output }, options);
  const segment = await findSegment(given ?? undefined, config.globalKey, config.probeEveryMs, config.segmentTimeoutMs);
  const reading = {
    segment: segment.analytics ? { found: "loaded", ...readUser(segment.analytics, config.traits) } : { found: segment.found },
    decisions: stored(config.decisionsKey),
    notBefore: stored(config.notBeforeKey),
    ...(config.fallback && storedIds()),
  };
  const idsNow = () => (segment.analytics ? { ids: readUser(segment.analytics, []) } : {});
  let bucketingFile = null;
  let bucketingEngine = null;
  const code = call("decide", JSON.stringify(reading), Date.now());
  if (code === 0) {
    const plan = JSON.parse(output());
    const [kind, status, body, extra] = await send(plan.request, plan.timeoutMs);
    call("answer", kind, status, body, JSON.stringify({ ...extra, ...idsNow() }), Date.now());
  } else if (code === 2) {
    const plan = JSON.parse(output());
    const [kind, body, file, engine] = await decideLocally(plan, config.bucketingEngineUrl ?? engineUrl());
    bucketingFile = file;
    bucketingEngine = engine;
    call("answer", kind, 0, body, JSON.stringify(idsNow()), Date.now());
  }
  call("report");
  const report = JSON.parse(output());
  if (report.rateLimit) {
    try {
      localStorage.setItem(config.notBeforeKey, report.rateLimit);
    } catch {
      // Storage refused: the full module's own 429, if one comes, is stored (or said) by it.
    }
  }
  const read = (key, kind) => {
    const found = call("read", key, kind);
    const mismatch = found & 4 ? output() : null;
    const value = found & 5 ? undefined : JSON.parse(output());
    return { value, exposes: (found & 2) !== 0, mismatch };
  };
  const metadata = (key) => (call("metadata", key) === 0 ? JSON.parse(output()) : null);
  // Whether a hit call would be sent: `{identity}` (Segment's of this moment), `null` (no
  // identity, no consent), or `{refused}` with the stage's `{code, message}`.
  const checkHit = (hitCall, consent) => {
    const code = call("check_hit", JSON.stringify({ consent, call: hitCall, ...idsNow() }));
    if (code === 2) return null;
    return code === 0 ? { identity: JSON.parse(output()) } : { refused: JSON.parse(output()) };
  };
  // The identity of this moment (`{visitorId, anonymousId}`), or null.
  const identityNow = () => (call("identity_now", JSON.stringify(idsNow())) === 0 ? JSON.parse(output()) : null);
  return { config, report, read, metadata, checkHit, identityNow, analytics: segment.analytics, bucketingFile, bucketingEngine };
}

/**
 * Bucketing mode: the engine decides for the plan's visitor from the page's file (or, refused
 * or absent, the environment's, fetched). Resolves to [answer kind, body, the file used, the
 * compiled engine].
 */
async function decideLocally(plan, engineUrl) {
  let engine;
  try {
    engine = await loadBucketingEngine(engineUrl);
  } catch (error) {
    return [4, String((error && error.message) || "bucketing engine unreachable"), null];
  }
  let file = plan.file;
  let refused = file == null ? "no file" : engine.load(file);
  if (refused) {
    const [kind, status, body] = await send(plan.fileRequest, plan.timeoutMs);
    if (kind !== 0 || status < 200 || status > 299) {
      return [4, kind === 0 ? `http ${status}` : body || "timed out", null];
    }
    file = body;
    refused = engine.load(file);
    if (refused) return [5, refused, null];
  }
  try {
    return [3, engine.decide(plan.visitorId, plan.context), file, engine.module];
  } catch (error) {
    return [5, String(error && error.message), null];
  }
}

/** Reads `options` with `instance` (see instantiate); throws INVALID_OPTIONS as start() rejects. */
export function configure({ call, output }, options) {
  const given = options && typeof options === "object" ? options.analytics : undefined;
  if (call("configure", optionsText(options, given)) !== 0) throw coded(JSON.parse(output()));
  return JSON.parse(output());
}

/**
 * The options as JSON text for the stage, as src/browser/options.rs makes it for the full
 * module: `analytics` named ("instance" for an object with `user()`), the rest as
 * JSON.stringify writes it; "" (refused) when the object cannot be read.
 */
function optionsText(options, analytics) {
  if (!options || typeof options !== "object" || Array.isArray(options)) return JSON.stringify(options) ?? "";
  try {
    const copy = Object.assign({}, options);
    if (analytics != null) {
      copy.analytics = typeof analytics === "object" && typeof analytics.user === "function" ? "instance" : "not an instance";
    }
    return JSON.stringify(copy);
  } catch {
    return "";
  }
}
