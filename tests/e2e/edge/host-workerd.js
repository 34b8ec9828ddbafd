// The Worker the e2e tests run in workerd: examples/edge/worker.js as is, with the probe on /_probe.
import example from "./worker.js";
import { withProbe } from "./probe.js";

export default { fetch: withProbe(example.fetch) };
