// The HTTP proxy that Chromium goes through to wasm-bindgen-test-runner's server in `./run test`.
//
// Why: the runner serves with tiny_http 0.12, whose thread pool gives each connection a thread for
// the connection's whole life and can miss a wake-up when several connections arrive at once
// (`spawn` counts a waiter that was already woken). Chromium keeps its connections open, so every
// thread sits on an idle keep-alive connection while the connection that asks for the page's next
// script waits in the pool's queue for good: "Loading scripts... Failed to detect test as having
// been run". Seen as ss output: four threads reading idle sockets, a fifth socket with its request
// unread. Through this proxy each request reaches the runner on a connection of its own, closed after
// the response, so a queued connection is picked up as soon as any request is answered.
//
// Usage: node scripts/test-runner-proxy.mjs  → prints its port on the first line, serves until killed.
// Only loopback targets are forwarded; the suites never go elsewhere.
import http from "node:http";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"];

function withoutHopByHop(headers) {
  const copy = { ...headers };
  for (const name of HOP_BY_HOP) delete copy[name];
  return copy;
}

const server = http.createServer((request, response) => {
  let target;
  try {
    target = new URL(request.url);
  } catch {
    response.writeHead(400).end("absolute URL expected: this is a proxy\n");
    return;
  }
  if (target.protocol !== "http:" || !LOOPBACK.has(target.hostname)) {
    response.writeHead(403).end("only loopback http targets are forwarded\n");
    return;
  }
  const upstream = http.request(
    {
      host: target.hostname.replace(/^\[|\]$/g, ""),
      port: target.port || 80,
      method: request.method,
      path: target.pathname + target.search,
      headers: { ...withoutHopByHop(request.headers), connection: "close" },
      agent: false,
    },
    (answer) => {
      response.writeHead(answer.statusCode, withoutHopByHop(answer.headers));
      answer.pipe(response);
    },
  );
  upstream.on("error", (error) => {
    if (!response.headersSent) response.writeHead(502);
    response.end(`test runner unreachable: ${error.code ?? error.message}\n`);
  });
  request.pipe(upstream);
});

server.on("connect", (_request, socket) => socket.end("HTTP/1.1 405 Method Not Allowed\r\n\r\n"));
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
