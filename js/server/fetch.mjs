// flagship-segment/server wherever no runtime's condition matched (`default`): the .wasm is
// fetched from next to this file. That works where this file has an http(s) URL (a module CDN)
// or the runtime's fetch reads file: URLs, and a bundler that follows `new URL(…,
// import.meta.url)` ships the file. Elsewhere, pass the `wasm` option.
import { decider } from "./core.mjs";

export const decideFromCookies = decider(async () => {
  const response = await fetch(new URL("./flagship_segment_server.wasm", import.meta.url));
  if (!response.ok) throw new Error(`fetch of the .wasm answered ${response.status}`);
  return response.arrayBuffer();
});
