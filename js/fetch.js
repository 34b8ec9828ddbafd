// The transport of the module's shell (src/browser/fetch.rs): one request as the engine built it,
// its whole body read as text, then `done(status, body, lastModified, retryAfter)` called exactly
// once, with status 0 and the browser's message when no answer came (offline, DNS, CORS, aborted,
// or a keepalive request the browser refused). A non-2xx status is an answer like any other.
// Retry-After is not CORS-safelisted: it reads as null unless the server exposes it
// (Access-Control-Expose-Headers), and the usual backoff applies. Returns the request's
// AbortController: the engine aborts requests whose deadline passed.
export function send(url, method, headers, body, keepalive, done) {
  const controller = new AbortController();
  const init = { method, headers, keepalive, signal: controller.signal };
  if (body !== undefined) init.body = body;
  let answer;
  try {
    answer = fetch(url, init).then((response) =>
      response
        .text()
        .then((text) => [
          response.status,
          text,
          response.headers.get("last-modified"),
          response.headers.get("retry-after"),
        ]),
    );
  } catch (error) {
    answer = Promise.reject(error);
  }
  answer.then(
    ([status, text, lastModified, retryAfter]) => done(status, text, lastModified, retryAfter),
    (error) => done(0, String((error && error.message) || "fetch failed"), null, null),
  );
  return controller;
}
