// Type-level test of flagship-segment/server (js/server/index.d.ts, copied to pkg/server/index.d.ts),
// checked by `tsc -p tests/types`. Nothing here runs; each `@ts-expect-error` line must stay an
// error.
import { decideFromCookies, type DecideFromCookiesOptions, type InitialDecision } from "flagship-segment/server";
import { start } from "flagship-segment/web";

/** Compiles only when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<A>() {
  return <B>(_value: B, ..._proof: Equal<A, B> extends true ? [] : [never]) => {};
}

export async function render(request: { headers: { cookie?: string } }, wasm: WebAssembly.Module) {
  const options: DecideFromCookiesOptions = {
    envId: "env",
    apiKey: "key",
    cookie: request.headers.cookie,
    context: { plan: "pro", age: 34, beta: true },
    endpoints: { decision: "http://127.0.0.1:8787" },
    timeoutMs: 500,
    idPolicy: "anonymous",
    consent: false,
    wasm,
    fetch,
  };
  const decided = decideFromCookies(options);
  expectType<Promise<InitialDecision | null>>()(decided);
  const initialDecision = await decided;
  if (initialDecision) {
    expectType<string>()(initialDecision.visitorId);
    expectType<string | null>()(initialDecision.anonymousId);
    expectType<Record<string, unknown>>()(initialDecision.flags);
  }
  // What the server hands to the page is what start() takes, as an object or as JSON text.
  if (initialDecision) await start({ envId: "env", apiKey: "key", initialDecision });
  // No Segment cookie: decideFromCookies resolved to null, which start() takes as "none".
  await start({ envId: "env", apiKey: "key", initialDecision });
  await start({ envId: "env", apiKey: "key", initialDecision: JSON.stringify(initialDecision) });

  await decideFromCookies({ envId: "env", apiKey: "key", cookie: null });
  // @ts-expect-error the visitor ID comes from Segment's cookies, never from an option
  await decideFromCookies({ envId: "env", apiKey: "key", visitorId: "someone" });
  // @ts-expect-error the API key is required
  await decideFromCookies({ envId: "env", cookie: "" });
  // @ts-expect-error idPolicy is "user" or "anonymous"
  await decideFromCookies({ envId: "env", apiKey: "key", idPolicy: "mint" });
  // @ts-expect-error only the decision endpoint is used on the server
  await decideFromCookies({ envId: "env", apiKey: "key", endpoints: { events: "https://events.example.test" } });
}

// At the edge: the incoming Request itself (a Worker's, the Edge Runtime's, Deno's, Bun's, or
// Next.js's NextRequest, which extends it), or anything whose headers have get().
export async function edge(request: Request, headers: Headers) {
  const decided = decideFromCookies({ envId: "env", apiKey: "key", request });
  expectType<Promise<InitialDecision | null>>()(decided);
  await decideFromCookies({ envId: "env", apiKey: "key", request: { headers }, timeoutMs: 300 });
  // @ts-expect-error the cookie comes from the request or from `cookie`, not both
  await decideFromCookies({ envId: "env", apiKey: "key", request, cookie: "ajs_anonymous_id=a" });
  // @ts-expect-error a request's headers are read with get(), as a Fetch API Headers
  await decideFromCookies({ envId: "env", apiKey: "key", request: { headers: { cookie: "ajs_anonymous_id=a" } } });
}
