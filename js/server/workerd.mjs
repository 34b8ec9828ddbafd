// flagship-segment/server in Cloudflare Workers (the `workerd` condition, which wrangler sets).
// A Worker can neither read files nor compile bytes: the .wasm is imported, and wrangler (like
// any bundler following its rules) ships it as a module that the import gives compiled.
import wasm from "./flagship_segment_server.wasm";
import { decider } from "./core.mjs";

export const decideFromCookies = decider(() => wasm);
