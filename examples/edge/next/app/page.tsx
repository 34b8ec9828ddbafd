// The page behind middleware.ts: reads the decision the middleware put on its request, renders
// with it, and writes it into the HTML for the browser (`start({ initialDecision })`, or
// FlagshipSegmentProvider's `initialDecision`, as examples/ssr does).
import { headers } from "next/headers";
import type { InitialDecision } from "flagship-segment/server";
import { DECISION_HEADER } from "../middleware";

// Rendered per request: the page is this visitor's.
export const dynamic = "force-dynamic";

export default async function Page() {
  const raw = (await headers()).get(DECISION_HEADER);
  const initialDecision: InitialDecision | null = raw ? JSON.parse(decodeURIComponent(raw)) : null;
  const color = initialDecision?.flags.btnColor;
  const background = typeof color === "string" ? color : "grey";
  // In a <script type="application/json">, only "<" could end the block early: escaped.
  const data = JSON.stringify({ initialDecision }).replace(/</g, "\\u003c");
  return (
    <main>
      <script type="application/json" id="flagship" dangerouslySetInnerHTML={{ __html: data }} />
      <button id="buy" style={{ background }}>Buy now</button>
    </main>
  );
}
