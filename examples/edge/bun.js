// A Bun server deciding for the visitor of Segment's cookies before it sends the page. The `bun`
// condition picks the package's entry that reads its .wasm with Bun.file.
//
//   FLAGSHIP_ENV_ID=… FLAGSHIP_API_KEY=… bun bun.js        (PORT, default 3000)
//   FLAGSHIP_EMULATOR=http://127.0.0.1:8787 sends the decision to the local emulator.
import { decideFromCookies } from "flagship-segment/server";
import { pageResponse } from "./page.js";

const emulator = Bun.env.FLAGSHIP_EMULATOR;
const settings = {
  envId: Bun.env.FLAGSHIP_ENV_ID,
  apiKey: Bun.env.FLAGSHIP_API_KEY,
  endpoints: emulator ? { decision: emulator } : undefined,
  timeoutMs: 500,
};

// Bun serves a default export that has `fetch`.
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
