// The server half, a plain Node http server: decides for the visitor of Segment's cookies
// (decideFromCookies), renders the page with that decision, and writes the decision into the
// HTML for the browser to hydrate with. A visitor without a Segment cookie gets the defaults;
// the browser decides once Segment has given them an ID. Serves the client bundle too.
//
//   FLAGSHIP_ENV_ID=… FLAGSHIP_API_KEY=… SEGMENT_WRITE_KEY=… node target/examples/ssr/server.mjs
//   (PORT, default 3000; FLAGSHIP_EMULATOR=http://127.0.0.1:8787 to use the local emulator)
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { StrictMode } from "react";
import { renderToString } from "react-dom/server";
import { decideFromCookies } from "flagship-segment/server";
import { FlagshipSegmentProvider } from "flagship-segment/react";
import { Checkout } from "../Checkout.jsx";

const { FLAGSHIP_ENV_ID: envId, FLAGSHIP_API_KEY: apiKey, SEGMENT_WRITE_KEY: segmentWriteKey } = process.env;
const emulator = process.env.FLAGSHIP_EMULATOR;
const endpoints = emulator ? { decision: emulator, events: emulator } : undefined;
const decisionHost = emulator ?? "https://decision.flagship.io";
const eventsHost = emulator ?? "https://events.flagship.io";

// Strict: no inline script (the settings are a JSON data block), WebAssembly allowed.
const csp = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval' https://cdn.segment.com",
  "style-src 'self' 'unsafe-inline'",
  `connect-src 'self' ${decisionHost} ${eventsHost} https://cdn.segment.com https://api.segment.io`,
].join("; ");

async function renderPage(request) {
  let initialDecision = null;
  try {
    // null, with no request, when the visitor has no Segment cookie: no ID is ever made up.
    initialDecision = await decideFromCookies({ envId, apiKey, endpoints, cookie: request.headers.cookie });
  } catch (error) {
    // The page renders with defaults and the browser decides.
    console.warn(`decideFromCookies: ${error.code}: ${error.message}`);
  }
  const settings = { envId, apiKey, endpoints, initialDecision };
  const app = renderToString(
    <StrictMode>
      <FlagshipSegmentProvider {...settings}>
        <Checkout />
      </FlagshipSegmentProvider>
    </StrictMode>,
  );
  // In a <script type="application/json">, only "<" could end the block early: escaped.
  const json = JSON.stringify({ ...settings, segmentWriteKey }).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>flagship-segment: server rendering</title>
    <script type="application/json" id="flagship-settings">${json}</script>
    <script type="module" src="/client.js"></script>
  </head>
  <body>
    <div id="root">${app}</div>
  </body>
</html>`;
}

const TYPES = { ".js": "text/javascript", ".wasm": "application/wasm" };
const publicDir = new URL("./public/", import.meta.url);

const server = createServer(async (request, response) => {
  const { pathname } = new URL(request.url, "http://localhost");
  if (pathname === "/") {
    const html = await renderPage(request);
    // The page is this visitor's: never stored by a shared cache.
    response.writeHead(200, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "private, no-store",
      vary: "Cookie",
      "content-security-policy": csp,
    });
    return response.end(html);
  }
  const type = TYPES[pathname.slice(pathname.lastIndexOf("."))];
  if (type && /^\/[\w.-]+$/.test(pathname)) {
    try {
      const body = await readFile(new URL(pathname.slice(1), publicDir));
      response.writeHead(200, { "content-type": type });
      return response.end(body);
    } catch {}
  }
  response.writeHead(404, { "content-type": "text/plain" });
  response.end("not found");
});

server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/`);
});
