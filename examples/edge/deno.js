// A Deno server deciding for the visitor of Segment's cookies before it sends the page. The
// `deno` condition picks the package's Deno entry, which imports its .wasm (`import source`):
// no node: module is loaded and no read permission is needed.
//
//   FLAGSHIP_ENV_ID=… FLAGSHIP_API_KEY=… deno serve --allow-net --allow-env deno.js
//   (flagship-segment installed in node_modules next to a package.json; on Deno Deploy the same)
//   FLAGSHIP_EMULATOR=http://127.0.0.1:8787 sends the decision to the local emulator.
import { decideFromCookies } from "flagship-segment/server";
import { pageResponse } from "./page.js";

const emulator = Deno.env.get("FLAGSHIP_EMULATOR");
const settings = {
  envId: Deno.env.get("FLAGSHIP_ENV_ID"),
  apiKey: Deno.env.get("FLAGSHIP_API_KEY"),
  endpoints: emulator ? { decision: emulator } : undefined,
  timeoutMs: 500,
};

export default {
  async fetch(request) {
    try {
      // null, with no request, when the visitor has no Segment cookie: no ID is ever made up.
      return pageResponse(await decideFromCookies({ ...settings, request }));
    } catch (error) {
      return pageResponse(null, error);
    }
  },
};
