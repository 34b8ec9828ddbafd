// Copied into the e2e app next to the examples (support/edge-app.mjs) and served by each runtime
// beside its example: POST /_probe with `{options, cookieAs}` calls decideFromCookies there with
// those options (the cookie as text, or as a Request's Cookie header with cookieAs "request"),
// through the package's entry for that runtime and the runtime's own fetch, and answers
// `{result}` or `{error: {code, message, isError}}` as JSON. The same function runs on Node for
// the bodies the runtimes must match byte for byte.
import { decideFromCookies } from "flagship-segment/server";

const json = (value) => new Response(JSON.stringify(value), { headers: { "content-type": "application/json" } });

export async function probe(request) {
  const { options, cookieAs = "cookie" } = await request.json();
  let given = options;
  if (cookieAs === "request") {
    const { cookie, ...rest } = options;
    given = { ...rest, request: new Request("https://shop.example/checkout", { headers: cookie ? { cookie } : {} }) };
  }
  try {
    return json({ result: await decideFromCookies(given) });
  } catch (error) {
    return json({ error: { code: error.code, message: error.message, isError: error instanceof Error } });
  }
}

/** `handler` (an example's fetch handler) with the probe mounted on /_probe. */
export const withProbe = (handler) => (request, ...rest) =>
  new URL(request.url).pathname === "/_probe" ? probe(request) : handler(request, ...rest);
