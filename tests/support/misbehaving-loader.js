// The bucketing engine under a loader that breaks its contract (tests/web_bucketing_engine.rs,
// issue 22): its format_f64 and to_lower_case announce `extra` bytes more than the room they were
// given, every time, and write nothing.
export async function with_misbehaving_loader(bytes, extra, file, visitor, context) {
  let memory;
  const view = (ptr, len) => new Uint8Array(memory.buffer, ptr >>> 0, len >>> 0);
  const text = (ptr, len) => new TextDecoder().decode(view(ptr, len));
  const { instance } = await WebAssembly.instantiate(bytes, { env: {
    parse_f64: (ptr, len) => parseFloat(text(ptr, len)),
    format_f64: (x, out, cap) => (cap >>> 0) + extra,
    to_lower_case: (ptr, len, out, cap) => (cap >>> 0) + extra,
  } });
  const engine = instance.exports;
  memory = engine.memory;
  const call = (fn, ...texts) => {
    const args = [];
    for (const t of texts) {
      const bytes = new TextEncoder().encode(t);
      const ptr = engine.alloc(bytes.length);
      view(ptr, bytes.length).set(bytes);
      args.push(ptr, bytes.length);
    }
    return [fn(...args), text(engine.output_ptr(), engine.output_len())];
  };
  return JSON.stringify([call(engine.load, file), call(engine.decide, visitor, context)]);
}
