// What the e2e tests serve with `deno serve`: examples/edge/deno.js as is, with the probe on /_probe.
import example from "./deno.js";
import { withProbe } from "./probe.js";

export default { fetch: withProbe(example.fetch) };
