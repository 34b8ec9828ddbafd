// Types of flagship-segment/server (js/server.mjs).
import type { ContextValue, InitialDecision } from "../flagship_segment.js";

export type { InitialDecision };

/** Options of `decideFromCookies`. There is no visitor ID: it comes from Segment's cookies. */
export interface DecideFromCookiesOptions {
  /** Flagship environment ID (required). */
  envId: string;
  /** Flagship API key (required). */
  apiKey: string;
  /** The request's `Cookie` header; Segment's `ajs_user_id` and `ajs_anonymous_id` are read
   *  from it, in any form Segment writes. Without them: no request, and null. */
  cookie?: string | null;
  /** Targeting attributes, as in the browser's `start({ context })`. */
  context?: Record<string, ContextValue>;
  /** Decision API base; default "https://decision.flagship.io". */
  endpoints?: { decision?: string };
  /** Decision API timeout in ms; default 2000. */
  timeoutMs?: number;
  /** As in the browser: "user" (default) or "anonymous". */
  idPolicy?: "user" | "anonymous";
  /** `visitor_consent` sent with the decision; default true. */
  consent?: boolean;
  /** flagship_segment_server.wasm, compiled or as bytes, where the runtime cannot read files
   *  (edge runtimes); default: read from next to this module (Node). */
  wasm?: WebAssembly.Module | BufferSource;
  /** The fetch to send with; default globalThis.fetch. */
  fetch?: typeof fetch;
}

/** Decides for the visitor of Segment's cookies; null, with no request, without them. Rejects
 *  with an Error carrying `code` (the module's error codes). */
export function decideFromCookies(options: DecideFromCookiesOptions): Promise<InitialDecision | null>;
