// The time a Cloudflare Worker adds to a request by deciding (issue 23): figures, not pass/fail.
// Run with `./run bench` (builds first) or `node bench/edge.mjs` after `./run build` and
// `cargo build --features emulator --bin flagship-emulator`.
//
//   node bench/edge.mjs [--cold 30] [--warm 300]
//
// examples/edge/worker.js, from the packed tarball and bundled as wrangler bundles it, in workerd
// (the npm package), the Decision API being the local emulator. Each request carries Segment's
// cookies for a new anonymous visitor. The Worker of bench/edge-worker.js answers the same page
// with the decision (/) or without calling decideFromCookies (/plain); what the decision adds is
// the difference of medians, measured from Node over one keep-alive connection:
// - cold: the first request of a fresh workerd process (--cold processes for each route):
//   instantiating flagship_segment_server.wasm, then the first exchange with the API;
// - warm: the same process after 20 requests, --warm requests per route, interleaved.
// For scale: the emulator's own round trip for the same decision, timed around Node's fetch, and
// how long a fresh workerd takes to start listening (it compiles the Worker and its .wasm).
import { copyFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

import { makeEdgeApp } from '../tests/e2e/support/edge-app.mjs'
import { bundleWorker, serveWorker } from '../tests/e2e/support/edge-runtimes.mjs'
import { API_KEY, ENV_ID, root, startEmulator } from '../tests/e2e/support/emulator.mjs'
import { median, rank } from './page-common.mjs'

const { values } = parseArgs({ options: { cold: { type: 'string', default: '30' }, warm: { type: 'string', default: '300' } } })
const COLD = Number(values.cold)
const WARM = Number(values.warm)

const visitor = () => `ajs_anonymous_id=${encodeURIComponent(JSON.stringify(crypto.randomUUID()))}`
async function timed(origin, route) {
  const started = performance.now()
  const response = await fetch(`${origin}${route}`, { headers: { cookie: visitor() } })
  const body = await response.text()
  const ms = performance.now() - started
  if (response.status !== 200 || response.headers.get('x-flagship-error')) {
    throw new Error(`${route} answered ${response.status} ${response.headers.get('x-flagship-error')}`)
  }
  if (route === '/' && !body.includes('"visitorId"')) throw new Error('no decision in the page')
  return ms
}

const emulator = await startEmulator()
try {
  const app = makeEdgeApp('bench-edge')
  copyFileSync(path.join(root, 'bench/edge-worker.js'), path.join(app, 'bench-worker.js'))
  const env = { FLAGSHIP_ENV_ID: ENV_ID, FLAGSHIP_API_KEY: API_KEY, FLAGSHIP_EMULATOR: emulator.origin }
  const dir = await bundleWorker(app, env, { entry: 'bench-worker.js', dir: 'dist-bench' })
  console.log(`workerd (npm workerd), load average ${loadavg().map((l) => l.toFixed(2)).join(' / ')}`)

  const cold = { '/': [], '/plain': [] }
  const startup = []
  for (let i = 0; i < COLD; i++) {
    for (const route of ['/', '/plain']) {
      const started = performance.now()
      const worker = await serveWorker(dir)
      startup.push(performance.now() - started)
      try {
        cold[route].push(await timed(worker.origin, route))
      } finally {
        await worker.stop()
      }
    }
  }

  const warm = { '/': [], '/plain': [] }
  const worker = await serveWorker(dir)
  try {
    for (let i = 0; i < 20; i++) await timed(worker.origin, i % 2 ? '/' : '/plain')
    for (let i = 0; i < WARM; i++) {
      for (const route of i % 2 ? ['/', '/plain'] : ['/plain', '/']) warm[route].push(await timed(worker.origin, route))
    }
  } finally {
    await worker.stop()
  }

  // The emulator's round trip for the same decision, from Node: the part of the added time that
  // is the (local) Decision API itself.
  const { decideFromCookies } = await import(pathToFileURL(path.join(app, 'node_modules/flagship-segment/server/node.mjs')).href)
  const api = []
  const timedFetch = async (url, init) => {
    const started = performance.now()
    const response = await fetch(url, init)
    const text = await response.text()
    api.push(performance.now() - started)
    return new Response(text, { status: response.status })
  }
  for (let i = 0; i < 20 + WARM; i++) {
    await decideFromCookies({ envId: ENV_ID, apiKey: API_KEY, endpoints: { decision: emulator.origin }, cookie: visitor(), fetch: timedFetch })
  }
  api.splice(0, 20)

  const ms = (x) => `${x.toFixed(2)} ms`.padStart(10)
  const row = (label, decide, plain) => console.log(`${label.padEnd(26)}${ms(decide)}${ms(plain)}${ms(decide - plain)}`)
  console.log(`${''.padEnd(26)}${'decision'.padStart(10)}${'none'.padStart(10)}${'added'.padStart(10)}`)
  row(`cold, median of ${COLD}`, median(cold['/']), median(cold['/plain']))
  row(`cold, p90`, rank(cold['/'], 0.9), rank(cold['/plain'], 0.9))
  row(`warm, median of ${WARM}`, median(warm['/']), median(warm['/plain']))
  row(`warm, p95`, rank(warm['/'], 0.95), rank(warm['/plain'], 0.95))
  console.log(`emulator round trip from Node (the local Decision API itself), median: ${median(api).toFixed(2)} ms`)
  console.log(`workerd start to listening (compiles the Worker and its .wasm), median: ${median(startup).toFixed(0)} ms`)
} finally {
  await emulator.stop()
}
