// Next.js middleware (the Edge Runtime, on Vercel or `next start`) deciding for the visitor of
// Segment's cookies before the page renders, and handing the decision to the page as a request
// header (app/page.tsx reads it). The `edge-light` condition picks the package's Edge entry,
// which imports flagship_segment_server.wasm with `?module`, as Next.js's bundler expects.
//
//   FLAGSHIP_ENV_ID, FLAGSHIP_API_KEY in the project's environment variables;
//   FLAGSHIP_EMULATOR=http://127.0.0.1:8787 sends the decision to the local emulator.
//
// In Next.js 16, middleware.ts still runs on the Edge Runtime (deprecated there in favour of
// proxy.ts, which runs on Node: the same code works, the `node` entry being picked).
import { NextResponse, type NextRequest } from "next/server";
import { decideFromCookies } from "flagship-segment/server";

/** Where the page finds the decision: URI-encoded JSON (a header value is Latin-1 only). */
export const DECISION_HEADER = "x-flagship-decision";
/** Set instead when deciding failed (the page renders the defaults): the error's code. */
export const ERROR_HEADER = "x-flagship-error";

export async function middleware(request: NextRequest) {
  const headers = new Headers(request.headers);
  // Only this middleware says what the decision is: a visitor cannot send their own.
  headers.delete(DECISION_HEADER);
  headers.delete(ERROR_HEADER);
  try {
    const emulator = process.env.FLAGSHIP_EMULATOR;
    // null, with no request, when the visitor has no Segment cookie: no ID is ever made up.
    const initialDecision = await decideFromCookies({
      envId: process.env.FLAGSHIP_ENV_ID ?? "",
      apiKey: process.env.FLAGSHIP_API_KEY ?? "",
      endpoints: emulator ? { decision: emulator } : undefined,
      timeoutMs: 500,
      request,
    });
    if (initialDecision) headers.set(DECISION_HEADER, encodeURIComponent(JSON.stringify(initialDecision)));
  } catch (error) {
    const code = (error as { code?: string }).code ?? "UNKNOWN";
    console.warn(`decideFromCookies: ${code}: ${(error as Error).message}`);
    headers.set(ERROR_HEADER, code);
  }
  // The page's request carries the new headers; the visitor's response does not.
  return NextResponse.next({ request: { headers } });
}

// Pages only: not Next.js's assets.
export const config = { matcher: ["/((?!_next/|favicon.ico).*)"] };
