// The shared core of flagship-segment/server, decideFromCookies(), for every runtime: Node,
// Cloudflare's workerd, Vercel's Edge Runtime, Deno, Bun. The rules live in
// flagship_segment_server.wasm, built from the browser module's crate (src/server.rs): it reads
// Segment's cookies, validates the options and builds the Decision API request exactly as the
// browser does, and reads the answer. This file instantiates that module, sends the request it
// built with the runtime's fetch and hands the answer back.
//
// How the .wasm is obtained is the only thing runtimes disagree on (a Worker imports it as a
// module and may not compile bytes; Node reads a file; ...), so each runtime's entry (node.mjs,
// workerd.mjs, edge-light.mjs, bun.mjs, fetch.mjs, picked by the package's `exports`
// conditions) is a few lines that pass `decider` a loader. Nothing here may name a Node
// built-in, read a file or compile code: it runs where none of that exists.
//
// Its C ABI is the bucketing engine's (see js/bucketing-engine.js): arguments as UTF-8 in
// alloc'ed buffers, the answer read from output_ptr/output_len. The two loaders are separate
// files because the bucketing engine's is a wasm-bindgen snippet, copied alone into the build.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Builds an Error carrying one of the module's stable codes. */
export function coded(code, message) {
  const error = new Error(message);
  error.name = "FlagshipSegmentError";
  error.code = code;
  return error;
}

/** The module's exports as one function: `call(name, text, ...rest)`, see below. */
async function instantiate(wasm) {
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
  // A compiled module where the runtime forbids compiling bytes (workerd, the Edge Runtime),
  // which instantiate() answers with an Instance; bytes elsewhere, answered with {module,
  // instance}. Told apart by shape: a module compiled in another realm (Next.js's edge sandbox
  // compiles outside the function's) is no `instanceof` this realm's WebAssembly.Module.
  const result = await WebAssembly.instantiate(wasm, imports);
  const instance = result.instance ?? result;
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

/** The `Cookie` header of `request`, a Fetch API Request (or anything whose headers have get()). */
function cookieOf(request) {
  const headers = request !== null && typeof request === "object" ? request.headers : undefined;
  if (headers === null || typeof headers !== "object" || typeof headers.get !== "function") {
    throw coded("INVALID_OPTIONS", "invalid option `request`: must be a Request (headers with get())");
  }
  return headers.get("cookie");
}

/** Sends the planned request with `send`; its status and body, or a DECISION_TIMEOUT or
 *  DECISION_NETWORK error. */
async function exchange(send, planned) {
  const { url, method, headers, body } = planned.request;
  const signal = AbortSignal.timeout(planned.timeoutMs);
  const timedOut = () => coded("DECISION_TIMEOUT", `decision api did not answer within ${planned.timeoutMs} ms`);
  // The deadline holds even for a `fetch` that ignores its signal, and for a body that never ends.
  const deadline = new Promise((_, reject) => {
    signal.addEventListener("abort", () => reject(timedOut()), { once: true });
  });
  try {
    const response = await Promise.race([send(url, { method, headers, body, signal }), deadline]);
    const text = await Promise.race([response.text(), deadline]);
    return { status: response.status, text };
  } catch (error) {
    // A fetch that honours the signal rejects with its own AbortError or TimeoutError.
    if (signal.aborted) throw timedOut();
    throw coded("DECISION_NETWORK", `decision api unreachable: ${(error && error.message) || "fetch failed"}`);
  }
}

/**
 * decideFromCookies for a runtime that obtains the module with `load()` (a WebAssembly.Module
 * or its bytes, or a promise of either). Used when the caller passes no `wasm` option.
 */
export function decider(load) {
  // Instances by source, so that a server decides many requests with one module; the loader's
  // own under `load`. A failed load is not kept: the next call tries again.
  const instances = new Map();
  const moduleFor = (source) => {
    const key = source ?? load;
    let instance = instances.get(key);
    if (!instance) {
      instance = (async () => {
        try {
          return await instantiate(await (source ?? load()));
        } catch (error) {
          const detail = (error && error.message) || String(error);
          throw coded("WASM_UNAVAILABLE", `flagship_segment_server.wasm could not be loaded (${detail}); pass it as the \`wasm\` option`);
        }
      })();
      instances.set(key, instance);
      instance.catch(() => instances.delete(key));
    }
    return instance;
  };

  /**
   * Decides for the visitor whose Segment cookies (`ajs_user_id`, `ajs_anonymous_id`) are in
   * `options.cookie` (a request's Cookie header) or in `options.request`'s Cookie header.
   * Resolves to `{ visitorId, anonymousId, decision, flags }` for `start({ initialDecision })`,
   * or to null, with no request, when there is no Segment cookie (no ID is ever minted). Rejects
   * with an Error carrying `code` (INVALID_OPTIONS, INVALID_VISITOR_ID, DECISION_TIMEOUT,
   * DECISION_NETWORK, DECISION_HTTP, DECISION_MALFORMED, VISITOR_MISMATCH, WASM_UNAVAILABLE).
   */
  return async function decideFromCookies(options) {
    if (options === null || typeof options !== "object") {
      throw coded("INVALID_OPTIONS", "invalid option `options`: must be an object");
    }
    const { wasm, fetch: send, request, ...settings } = options;
    if (send !== undefined && typeof send !== "function") {
      throw coded("INVALID_OPTIONS", "invalid option `fetch`: must be a function");
    }
    if (request !== undefined) {
      if (settings.cookie !== undefined) {
        throw coded("INVALID_OPTIONS", "invalid option `request`: give `request` or `cookie`, not both");
      }
      settings.cookie = cookieOf(request);
    }
    const call = await moduleFor(wasm);
    const text = JSON.stringify(settings);
    const planned = call("plan", text);
    if (planned === null) return null;
    for (const warning of planned.warnings) {
      console.warn(`[flagship-segment] OPTION_IGNORED: ${warning}`);
    }
    // Looked up at each call, and called on globalThis: a Worker refuses a fetch detached from it.
    const { status, text: answer } = await exchange(send ?? ((url, init) => globalThis.fetch(url, init)), planned);
    return call("interpret", text, status, answer);
  };
}
