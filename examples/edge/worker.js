// A Cloudflare Worker deciding for the visitor of Segment's cookies before it sends the page.
// `wrangler deploy` (or `wrangler dev`) bundles it: the `workerd` condition picks the package's
// Worker entry, which imports flagship_segment_server.wasm as a module. No nodejs_compat needed.
//
//   wrangler.toml: main = "worker.js", compatibility_date = "2025-06-01"
//   [vars] FLAGSHIP_ENV_ID = "…"; FLAGSHIP_API_KEY as a secret (`wrangler secret put`)
//   FLAGSHIP_EMULATOR = "http://127.0.0.1:8787" sends the decision to the local emulator.
import { decideFromCookies } from "flagship-segment/server";
import { pageResponse } from "./page.js";

export default {
  async fetch(request, env) {
    try {
      // null, with no request, when the visitor has no Segment cookie: no ID is ever made up.
      return pageResponse(await decideFromCookies({
        envId: env.FLAGSHIP_ENV_ID,
        apiKey: env.FLAGSHIP_API_KEY,
        endpoints: env.FLAGSHIP_EMULATOR ? { decision: env.FLAGSHIP_EMULATOR } : undefined,
        timeoutMs: 500,
        request,
      }));
    } catch (error) {
      return pageResponse(null, error);
    }
  },
};
