// flagship-segment/server in Deno (the `deno` condition) and wherever no other condition
// matched (`default`): the .wasm is fetched from next to this file. Deno fetches file: URLs
// (with read permission) as well as the https: URL a module imported from a CDN has; a
// bundler that follows `new URL(…, import.meta.url)` ships the file. Elsewhere, pass `wasm`.
import { decider } from "./core.mjs";

export const decideFromCookies = decider(async () => {
  const response = await fetch(new URL("./flagship_segment_server.wasm", import.meta.url));
  if (!response.ok) throw new Error(`fetch of the .wasm answered ${response.status}`);
  return response.arrayBuffer();
});
