// A hit call's arguments as JSON text for the core's reader (src/tracking/hits/input.rs), for
// the full module (src/browser/hit_input.rs) and the web build's first stage (js/web/handle.js).
// JSON.stringify writes NaN and ±Infinity as null, which the reader would take for an absent
// field: each is written as {"$nonFinite": "NaN"} instead, which no field accepts, so
// `transaction({revenue: NaN})` is refused with INVALID_HIT, as a value the collector cannot take.
// Throws, as JSON.stringify does, for a cycle or a BigInt.

export function hitArgsJson(args) {
  return JSON.stringify(args, (_, value) =>
    typeof value === "number" && !Number.isFinite(value) ? { $nonFinite: String(value) } : value,
  );
}
