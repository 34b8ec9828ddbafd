// flagship-segment/server in Vercel's Edge Runtime (the `edge-light` condition: Next.js
// middleware and edge routes). It compiles no bytes either; `?module` is how Next.js asks its
// bundler for a compiled WebAssembly.Module, bound to the function when it is deployed.
import wasm from "./flagship_segment_server.wasm?module";
import { decider } from "./core.mjs";

export const decideFromCookies = decider(() => wasm);
