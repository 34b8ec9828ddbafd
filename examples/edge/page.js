// The page the Worker, Deno and Bun examples send: the checkout button as the decision has it
// (the defaults without one), and the decision itself for the browser, which starts the module
// with it (`start({ initialDecision })`, as examples/ssr/client.jsx does) and then makes no
// Decision API request for the same visitor. Plain strings: no framework to install at the edge.

/** The flags the page reads, with the values it shows when there is no decision. */
export const DEFAULTS = { btnColor: "grey", btnText: "Buy now", newCheckout: false };


const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);

/** A flag's value from the decision when it has the default's type, else the default. */
function flag(initialDecision, key) {
  const value = initialDecision?.flags?.[key];
  return typeof value === typeof DEFAULTS[key] ? value : DEFAULTS[key];
}

/** The HTML for `initialDecision` (what decideFromCookies resolved to, or null). */
export function renderPage(initialDecision) {
  const color = flag(initialDecision, "btnColor");
  // In a <script type="application/json">, only "<" could end the block early: escaped.
  const data = JSON.stringify({ initialDecision }).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>flagship-segment at the edge</title>
    <script type="application/json" id="flagship">${data}</script>
  </head>
  <body>
    <h1>${flag(initialDecision, "newCheckout") ? "New checkout" : "Checkout"}</h1>
    <button id="buy" data-color="${escape(color)}" style="background: ${escape(color)}">${escape(flag(initialDecision, "btnText"))}</button>
  </body>
</html>
`;
}

/** The page as a Response. With the `error` decideFromCookies rejected with, the page has the
 *  defaults (the browser decides) and `x-flagship-error` says why. */
export function pageResponse(initialDecision, error) {
  // The page is this visitor's: never stored by a shared cache.
  const headers = new Headers({ "content-type": "text/html; charset=utf-8", "cache-control": "private, no-store", vary: "Cookie" });
  if (error) {
    console.warn(`decideFromCookies: ${error.code}: ${error.message}`);
    headers.set("x-flagship-error", error.code ?? "UNKNOWN");
  }
  return new Response(renderPage(initialDecision), { headers });
}
