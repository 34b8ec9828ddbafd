// Types of flagship-segment/server (js/server/core.mjs), the same for every runtime's entry.
import type { ContextValue, InitialDecision } from "../flagship_segment.js";

export type { InitialDecision };

/** What `request` needs of a Fetch API `Request` (a Worker's, the Edge Runtime's and Next.js's
 *  `NextRequest`, Deno's, Bun's): its headers, for `Cookie`. */
export interface RequestWithHeaders {
  readonly headers: { get(name: string): string | null };
}

/** Where Segment's cookies are read from: the request's `Cookie` header as text, or the
 *  request itself; one or the other. */
export type CookieSource =
  | {
      /** The request's `Cookie` header; Segment's `ajs_user_id` and `ajs_anonymous_id` are
       *  read from it, in any form Segment writes. Without them: no request, and null. */
      cookie?: string | null;
      request?: never;
    }
  | {
      /** The incoming request; its `Cookie` header is read as `cookie` would be. */
      request: RequestWithHeaders;
      cookie?: never;
    };

/** Options of `decideFromCookies` other than the cookie's source. */
export interface DecideFromCookiesSettings {
  /** Flagship environment ID (required). */
  envId: string;
  /** Flagship API key (required). */
  apiKey: string;
  /** Targeting attributes, as in the browser's `start({ context })`. */
  context?: Record<string, ContextValue>;
  /** Decision API base; default "https://decision.flagship.io". */
  endpoints?: { decision?: string };
  /** Decision API timeout in ms (the request is aborted by `AbortSignal.timeout`); default 2000. */
  timeoutMs?: number;
  /** As in the browser: "user" (default) or "anonymous". */
  idPolicy?: "user" | "anonymous";
  /** `visitor_consent` sent with the decision; default true. */
  consent?: boolean;
  /** flagship_segment_server.wasm, compiled or as bytes, for a runtime the package's entries
   *  do not cover; default: loaded the runtime's way (imported in Workers, the Edge Runtime and
   *  Deno, read from next to the entry by Node and Bun, fetched elsewhere). */
  wasm?: WebAssembly.Module | BufferSource;
  /** The fetch to send with; default the runtime's `fetch`, looked up at each call. */
  fetch?: typeof fetch;
}

/** Options of `decideFromCookies`. There is no visitor ID: it comes from Segment's cookies. */
export type DecideFromCookiesOptions = DecideFromCookiesSettings & CookieSource;

/** Decides for the visitor of Segment's cookies; null, with no request, without them. Rejects
 *  with an Error carrying `code` (the module's error codes, and WASM_UNAVAILABLE when the
 *  .wasm cannot be loaded). */
export function decideFromCookies(options: DecideFromCookiesOptions): Promise<InitialDecision | null>;
