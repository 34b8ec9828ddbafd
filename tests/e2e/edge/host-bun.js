// What the e2e tests run with `bun`: examples/edge/bun.js as is, with the probe on /_probe, on a
// port the OS picks (the example's own default export would take PORT or 3000).
import example from "./bun.js";
import { withProbe } from "./probe.js";

const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: withProbe(example.fetch) });
console.log(`listening on ${server.url}`);
