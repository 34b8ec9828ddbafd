// flagship-segment/server: decideFromCookies() for server rendering, on Node >= 18 and on edge
// runtimes that allow a precompiled .wasm. The rules live in flagship_segment_server.wasm, built
// from the browser module's crate (src/server.rs): it reads Segment's cookies, validates the
// options and builds the Decision API request exactly as the browser does, and reads the answer.
// This file only loads that module, sends the request it built and hands the answer back.
//
// Its C ABI is the bucketing engine's (see js/bucketing-engine.js): arguments as UTF-8 in
// alloc'ed buffers, the answer read from output_ptr/output_len. The two loaders are separate
// files because the bucketing engine's is a wasm-bindgen snippet, copied alone into the build.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Instances by source, so that a server decides many requests with one module. */
const instances = new Map();

async function instantiate(source) {
  let memory;
  const view = (ptr, len) => new Uint8Array(memory.buffer, ptr >>> 0, len >>> 0);
  const read = (ptr, len) => decoder.decode(view(ptr, len));
  const write = (text, out, cap) => {
    const bytes = encoder.encode(text);
    if (bytes.length <= cap) view(out, bytes.length).set(bytes);
    return bytes.length;
  };
  const imports = {
    env: {
      parse_f64: (ptr, len) => parseFloat(read(ptr, len)),
      format_f64: (x, out, cap) => write(String(x), out, cap),
      to_lower_case: (ptr, len, out, cap) => write(read(ptr, len).toLowerCase(), out, cap),
    },
  };
  let wasm = source;
  if (wasm === undefined) {
    // Node: the module ships next to this file. Imported here, not at the top, so that an edge
    // runtime (which passes `wasm`) never loads node:fs.
    const { readFile } = await import("node:fs/promises");
    wasm = await readFile(new URL("./flagship_segment_server.wasm", import.meta.url));
  }
  const instance =
    wasm instanceof WebAssembly.Module
      ? await WebAssembly.instantiate(wasm, imports)
      : (await WebAssembly.instantiate(wasm, imports)).instance;
  const exports = instance.exports;
  memory = exports.memory;
  // Calls an export with `text` (and more numbers or texts after it); the parsed answer, or a
  // thrown Error carrying the module's code.
  return (name, text, ...rest) => {
    const owned = [];
    const put = (value) => {
      const bytes = encoder.encode(value);
      const ptr = exports.alloc(bytes.length);
      view(ptr, bytes.length).set(bytes);
      owned.push([ptr, bytes.length]);
      return [ptr, bytes.length];
    };
    try {
      const args = [...put(text)];
      for (const arg of rest) args.push(...(typeof arg === "string" ? put(arg) : [arg]));
      const status = exports[name](...args);
      const answer = JSON.parse(read(exports.output_ptr(), exports.output_len()));
      if (status !== 0) throw coded(answer.code, answer.message);
      return answer;
    } finally {
      for (const [ptr, len] of owned) exports.free(ptr, len);
    }
  };
}

function coded(code, message) {
  const error = new Error(message);
  error.name = "FlagshipSegmentError";
  error.code = code;
  return error;
}

function moduleFor(source) {
  let instance = instances.get(source);
  if (!instance) {
    instance = instantiate(source);
    instances.set(source, instance);
    // A failed load is not kept: the next call tries again.
    instance.catch(() => instances.delete(source));
  }
  return instance;
}

/**
 * Decides for the visitor whose Segment cookies (`ajs_user_id`, `ajs_anonymous_id`) are in
 * `options.cookie` (a request's Cookie header). Resolves to `{ visitorId, anonymousId, decision,
 * flags }` for `start({ initialDecision })`, or to null, with no request, when there is no
 * Segment cookie (no ID is ever minted). Rejects with an Error carrying `code` (INVALID_OPTIONS,
 * INVALID_VISITOR_ID, DECISION_TIMEOUT, DECISION_NETWORK, DECISION_HTTP, DECISION_MALFORMED,
 * VISITOR_MISMATCH).
 */
export async function decideFromCookies(options) {
  if (options === null || typeof options !== "object") {
    throw coded("INVALID_OPTIONS", "invalid option `options`: must be an object");
  }
  const { wasm, fetch: send = globalThis.fetch, ...settings } = options;
  const call = await moduleFor(wasm);
  const text = JSON.stringify(settings);
  const planned = call("plan", text);
  if (planned === null) return null;
  for (const warning of planned.warnings) {
    console.warn(`[flagship-segment] OPTION_IGNORED: ${warning}`);
  }
  const { url, method, headers, body } = planned.request;
  // The deadline holds even for a `fetch` that ignores its signal.
  const controller = new AbortController();
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => {
      // Rejected before the abort, so that the race sees the timeout, not the aborted fetch.
      reject(coded("DECISION_TIMEOUT", `decision api did not answer within ${planned.timeoutMs} ms`));
      controller.abort();
    }, planned.timeoutMs);
  });
  let status;
  let answer;
  try {
    const response = await Promise.race([
      send(url, { method, headers, body, signal: controller.signal }),
      deadline,
    ]);
    status = response.status;
    answer = await Promise.race([response.text(), deadline]);
  } catch (error) {
    if (error && error.code === "DECISION_TIMEOUT") throw error;
    throw coded(
      "DECISION_NETWORK",
      `decision api unreachable: ${(error && error.message) || "fetch failed"}`,
    );
  } finally {
    clearTimeout(timer);
  }
  return call("interpret", text, status, answer);
}
