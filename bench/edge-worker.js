// The Worker bench/edge.mjs times in workerd: examples/edge/worker.js as is, and on /plain the
// same page without calling decideFromCookies (the defaults), so that the difference between the
// two is what the decision adds to a request. Copied next to the example in the bench's app.
import example from "./worker.js";
import { pageResponse } from "./page.js";

export default {
  fetch: (request, env) => (new URL(request.url).pathname === "/plain" ? pageResponse(null) : example.fetch(request, env)),
};
