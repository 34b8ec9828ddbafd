// AB Tasty's side as the test controls it: a local HTTP server on an origin of its own
// (cross-origin to the page, as events.flagship.io and decision.flagship.io are), answering CORS
// like the real hosts and exposing Retry-After. It takes what the module sends to either host
// (hits at /events, activations at /v2/activate, decisions at /v2/{env}/campaigns), forwards
// what it accepts to the same path of the emulator, which validates it as AB Tasty's would, and
// answers with the emulator's status, after `latencyMs` (a phone's round trip) when set.
//
// A server rather than `page.route`: requests sent with keepalive as the page goes away
// (pagehide) reach the network without passing Playwright's interception, and they are what the
// unload rules are about. A server sees them like any other request, and can leave them
// unanswered while the page that sent them dies.

import { createServer } from 'node:http'

/**
 * Chromium's Local Network Access checks, off: the test page is served by `page.route` (no
 * address, so counted as public) and the collector is on loopback, so Chromium refuses the
 * collector's requests, and keepalive requests of a page going away even with the permission
 * granted. In production neither side is local, and no check applies.
 */
export const COLLECTOR_BROWSER_ARGS = ['--disable-features=LocalNetworkAccessChecks']

/** CORS as the page needs it: a JSON POST from another origin, and Retry-After readable. */
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST',
  'access-control-allow-headers': 'content-type, x-api-key, x-sdk-client, x-sdk-version',
  'access-control-expose-headers': 'Retry-After',
  // No preflight cache: a collector that goes down refuses the next request, preflight or not.
  'access-control-max-age': '0',
  // A fresh connection per request: Chromium resends a request whose reused connection is reset,
  // which would turn "down" into a second try the module never made.
  connection: 'close',
}

/**
 * What a body carries, in order: the `ea` of each hit (one hit or a BATCH), `activate:{vaid}` for
 * each activation, `campaigns:{visitor_id}` for a decision request.
 */
export function actionsOf(body) {
  try {
    const parsed = JSON.parse(body)
    if (Array.isArray(parsed.batch)) return parsed.batch.map((a) => `activate:${a.vaid}`)
    if (typeof parsed.visitor_id === 'string') return [`campaigns:${parsed.visitor_id}`]
    return (parsed.t === 'BATCH' ? parsed.h : [parsed]).map((h) => h.ea ?? `${h.t}`)
  } catch {
    return []
  }
}

/**
 * Starts the collector. Each POST is answered as `respond({actions, body, at})` (which may
 * return a promise, to hold the request) says:
 * - `undefined` (the default): forwarded to `forwardTo`'s `/events`, answered with its status;
 * - `"down"`: the connection is reset unanswered, as a collector that is down;
 * - `{status, headers}`: that answer, without forwarding.
 * With `mode` `"down"` every request, preflights included, is reset without asking `respond`.
 */
export async function startCollector({ forwardTo }) {
  /** Every POST once settled: `{at, actions, body, outcome, answeredAt}`, outcome a status,
   *  "down", or "abandoned" (the browser closed the connection before the answer); `arrived`
   *  lists them as they come in, settled or not. */
  const requests = []
  const collector = {
    requests,
    /** POSTs received, answered or not yet. */
    arrived: [],
    mode: 'up',
    respond: () => undefined,
    /** How long each answer takes, preflights included (a phone's round trip). */
    latencyMs: 0,
    /** The hits URL (`{origin}/events`); the decision host is `origin`. */
    url: '',
    origin: '',
    /** Actions of every hit answered with a 2xx, in arrival order. */
    delivered() {
      return requests.filter((r) => r.outcome >= 200 && r.outcome < 300).flatMap((r) => r.actions)
    },
    /** How many times the hit with action `action` was answered with a 2xx. */
    count(action) {
      return collector.delivered().filter((a) => a === action).length
    },
    /** Requests that carried `action`, as they arrived (answered or not). */
    carrying(action) {
      return collector.arrived.filter((r) => r.actions.includes(action))
    },
    /** Forgets every request; up, forwarding everything. */
    reset() {
      requests.length = 0
      collector.arrived.length = 0
      collector.mode = 'up'
      collector.respond = () => undefined
      collector.latencyMs = 0
    },
    /** Polls until `predicate(collector)` is truthy. */
    async waitFor(predicate, { timeoutMs = 10_000, what = 'condition' } = {}) {
      const deadline = Date.now() + timeoutMs
      while (Date.now() < deadline) {
        if (predicate(collector)) return
        await new Promise((r) => setTimeout(r, 20))
      }
      throw new Error(`collector: ${what} not met within ${timeoutMs} ms\n${collector.describe()}`)
    },
    /** The request log, for failure messages. */
    describe() {
      const t0 = requests[0]?.at ?? 0
      return requests.map((r) => `+${r.at - t0} ms ${r.outcome}: ${r.actions.join(',')}`).join('\n')
    },
    async stop() {
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    },
  }

  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const request = { at: Date.now(), actions: actionsOf(body), body }
      if (req.method === 'POST') collector.arrived.push(request)
      if (collector.mode === 'down') {
        if (req.method === 'POST') requests.push({ ...request, outcome: 'down', answeredAt: Date.now() })
        return req.socket.destroy()
      }
      const late = () => new Promise((r) => setTimeout(r, collector.latencyMs))
      if (req.method === 'OPTIONS') {
        await late()
        res.writeHead(204, CORS)
        return res.end()
      }
      if (req.method !== 'POST') {
        res.writeHead(405, CORS)
        return res.end()
      }
      let clientGone = false
      res.on('close', () => (clientGone ||= !res.writableFinished))
      const decision = await collector.respond(request)
      if (clientGone) {
        // The browser gave up on the request while it was held: nobody can be answered.
        return requests.push({ ...request, outcome: 'abandoned', answeredAt: Date.now() })
      }
      if (decision === 'down') {
        requests.push({ ...request, outcome: 'down', answeredAt: Date.now() })
        return req.socket.destroy()
      }
      let { status, headers = {} } = decision ?? {}
      let answer = ''
      if (status === undefined) {
        const forwarded = await fetch(`${forwardTo.origin}${req.url}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': req.headers['x-api-key'] ?? '' },
          body,
          signal: AbortSignal.timeout(5_000),
        })
        answer = await forwarded.text()
        status = forwarded.status
      }
      await late()
      // Recorded before the page can see the answer: a retry is always later than `answeredAt`.
      requests.push({ ...request, outcome: status, answeredAt: Date.now() })
      res.writeHead(status, { ...CORS, 'content-type': 'application/json', ...headers })
      res.end(answer)
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  collector.origin = `http://127.0.0.1:${server.address().port}`
  collector.url = `${collector.origin}/events`
  return collector
}
