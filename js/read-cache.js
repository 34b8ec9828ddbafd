// A started module's `getFlag`, in front of the wasm one (installed on each instance by
// src/browser/read_cache.rs). A render loop reads the same flags again and again; once a flag's
// exposure is with delivery, or the read asks for none, the answer cannot change until new flags
// arrive, and the wasm clears the Map then. Such reads are answered here without crossing into
// the wasm. First reads, type mismatches, arrays and objects (a fresh copy each read) and every
// other case go to the wasm method, which also fills the Map.
export function installReadCache(instance, cache) {
  const wasmGetFlag = Object.getPrototypeOf(instance).getFlag;
  Object.defineProperty(instance, "getFlag", {
    configurable: true,
    writable: true,
    value: function getFlag(key, defaultValue, expose) {
      const known = cache.get(key);
      if (
        known !== undefined &&
        (known.exposed || expose === false) &&
        (defaultValue == null || typeof defaultValue === typeof known.value)
      ) {
        return known.value;
      }
      return wasmGetFlag.call(this, key, defaultValue, expose);
    },
  });
}

// One shape for every entry, so that the lookup above stays monomorphic.
export function remember(cache, key, value, exposed) {
  cache.set(key, { value, exposed });
}
