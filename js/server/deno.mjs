// flagship-segment/server in Deno (the `deno` condition): the .wasm is imported as a compiled
// WebAssembly.Module (a source phase import, standard syntax Deno supports), so the module
// loader brings it like any other file of the package: no --allow-read, no node: module, and the
// same on Deno Deploy.
import source wasm from "./flagship_segment_server.wasm";
import { decider } from "./core.mjs";

export const decideFromCookies = decider(() => wasm);
