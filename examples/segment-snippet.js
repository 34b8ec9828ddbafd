// What Segment's analytics.js snippet does, as a function: a stub on `window.analytics` that
// buffers calls, the analytics.js 2.0 script from Segment's CDN, and the page view. Paste
// Segment's own snippet instead in a real site; flagship-segment works with either, as it does
// with an analytics-next instance (see spa/with-npm.jsx).
export function loadSegmentSnippet(writeKey) {
  if (window.analytics) return;
  const stub = [];
  stub.invoked = true;
  stub._writeKey = writeKey;
  for (const method of ["track", "page", "identify", "reset", "group", "alias", "ready", "on", "off", "setAnonymousId", "register"]) {
    stub[method] = (...args) => {
      stub.push([method, ...args]);
      return stub;
    };
  }
  window.analytics = stub;
  const script = document.createElement("script");
  script.async = true;
  script.src = `https://cdn.segment.com/analytics.js/v1/${encodeURIComponent(writeKey)}/analytics.min.js`;
  document.head.appendChild(script);
  stub.page();
}
