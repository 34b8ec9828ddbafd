// flagship-segment/server in Bun (the `bun` condition): Bun's own file API, no node:fs.
import { decider } from "./core.mjs";

export const decideFromCookies = decider(() => Bun.file(new URL("./flagship_segment_server.wasm", import.meta.url)).arrayBuffer());
