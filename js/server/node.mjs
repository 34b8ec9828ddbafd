// flagship-segment/server on Node (the `node` condition): the .wasm is read from next to this
// file. Deno and Bun also match `node`; their own conditions come first in `exports`.
import { readFile } from "node:fs/promises";
import { decider } from "./core.mjs";

export const decideFromCookies = decider(() => readFile(new URL("./flagship_segment_server.wasm", import.meta.url)));
