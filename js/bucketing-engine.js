// Loader of the bucketing engine, the second .wasm (flagship_segment_bucketing.wasm) that holds
// the bucketing-file parser and the targeting and allocation engine, fetched only when a page
// uses `mode: "bucketing"`. The main module imports this file as a wasm-bindgen snippet
// (src/browser/bucketing_engine.rs); the engine itself has no wasm-bindgen glue, only the plain
// C ABI documented in src/bucketing_engine.rs, driven here with TextEncoder / TextDecoder.
//
// No eval, no new Function: it runs under `script-src 'self' 'wasm-unsafe-eval'`.

// wasm-bindgen copies this file to <out-dir>/snippets/<crate>-<hash>/js/, three levels below the
// directory of the main module's .wasm, where the engine is shipped too. Bundlers understand this
// `new URL(literal, import.meta.url)` form and emit the file. Computed on first use only: the
// web build sets the source first, with setBucketingEngineSource.
let engineSource;
const defaultSource = () =>
  engineSource || new URL("../../../flagship_segment_bucketing.wasm", import.meta.url);

/**
 * What loadBucketingEngine() loads when given no source: a URL, or the engine already compiled
 * (the web build's first stage hands over the one it used, so it is not fetched twice).
 */
export function setBucketingEngineSource(source) {
  engineSource = source;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function instantiate(source, imports) {
  if (source instanceof WebAssembly.Module) {
    return { module: source, instance: await WebAssembly.instantiate(source, imports) };
  }
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    return WebAssembly.instantiate(source, imports);
  }
  const response = await fetch(source);
  if (!response.ok) {
    throw new Error(`bucketing engine ${source}: http ${response.status}`);
  }
  // instantiateStreaming refuses any other content type; such a server still gets the module.
  const type = (response.headers.get("content-type") || "").split(";")[0].trim().toLowerCase();
  if (typeof WebAssembly.instantiateStreaming === "function" && type === "application/wasm") {
    return WebAssembly.instantiateStreaming(response, imports);
  }
  return WebAssembly.instantiate(await response.arrayBuffer(), imports);
}

/**
 * Fetches (`source`: a URL, string or URL, default next to the main .wasm) or compiles (`source`:
 * the bytes, Uint8Array or ArrayBuffer) or instantiates (`source`: a WebAssembly.Module) the
 * bucketing engine. Rejects when the engine cannot be fetched (network, non-2xx status) or
 * instantiated. Resolves to `module`, the compiled engine, and:
 * - `load(text)`: parses a bucketing.json text and keeps it; `null` when done, else the reason of
 *   the refusal (BUCKETING_MALFORMED), the file loaded before then staying in use;
 * - `decide(visitorId, contextJson)`: the Decision API `/campaigns` answer, as JSON text, for the
 *   visitor and the full context (a JSON object of strings, numbers and booleans, `fs_users`,
 *   `fs_client` and `fs_version` included); throws an Error with the reason when no file is
 *   loaded or the context is refused.
 * Either throws a WebAssembly.RuntimeError if the engine traps (out of memory).
 */
export async function loadBucketingEngine(source) {
  let memory;
  // Memory may grow during any call into the engine: a fresh view each time. Pointers and
  // lengths arrive as signed i32: `>>> 0` reads them unsigned.
  const view = (ptr, len) => new Uint8Array(memory.buffer, ptr >>> 0, len >>> 0);
  const read = (ptr, len) => decoder.decode(view(ptr, len));
  // Writes `text` at `out` when it fits in `cap` bytes and returns its length either way; the
  // engine asks again with that room when it needs more (lower-casing), and reads only what fits.
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
  const { module, instance } = await instantiate(source || defaultSource(), imports);
  const engine = instance.exports;
  memory = engine.memory;

  // Calls `fn` with each text as (ptr, len), then frees them; [status, output text].
  const call = (fn, ...texts) => {
    const args = [];
    try {
      for (const text of texts) {
        const bytes = encoder.encode(text);
        const ptr = engine.alloc(bytes.length);
        view(ptr, bytes.length).set(bytes);
        args.push(ptr, bytes.length);
      }
      const status = fn(...args);
      return [status, read(engine.output_ptr(), engine.output_len())];
    } finally {
      for (let i = 0; i < args.length; i += 2) engine.free(args[i], args[i + 1]);
    }
  };

  return {
    /** The compiled engine, for another instance of it. */
    module,
    load(text) {
      const [status, reason] = call(engine.load, String(text));
      return status === 0 ? null : reason;
    },
    decide(visitorId, contextJson) {
      const [status, output] = call(engine.decide, String(visitorId), String(contextJson));
      if (status !== 0) throw new Error(output);
      return output;
    },
  };
}

/**
 * `loadBucketingEngine(url)` for the main module: `done(engine, null)` once loaded, or
 * `done(null, message)`; one callback, called once, whatever happens.
 */
export function loadBucketingEngineThen(url, done) {
  loadBucketingEngine(url).then(
    (engine) => done(engine, null),
    (error) => done(null, String((error && error.message) || "bucketing engine unavailable")),
  );
}
