// flagship-segment/server at the edge (issue 23): the packed package installed in a throwaway
// app (support/edge-app.mjs), then, in each runtime started from its npm package (Cloudflare's
// workerd, Vercel's Edge Runtime, Deno, Bun; support/edge-runtimes.mjs), the runtime's example
// served locally (examples/edge/: the Worker, the Next.js middleware, the Deno and Bun servers)
// with a probe beside it (tests/e2e/edge/probe.js) that calls decideFromCookies with the options
// a test sends. Every answer is checked against the emulator's log (a decision for exactly the
// identity of Segment's cookies, or no request at all) and against what Node answers to the same
// request, byte for byte: Node runs the same Worker example and the same probe, through the
// package's `node` entry. Each runtime is started once for the file; one that cannot start fails.
// Needs `./run build` (pkg/) and the emulator binary.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import path from 'node:path'
import { after, before, beforeEach, describe, test } from 'node:test'
import { pathToFileURL } from 'node:url'

import { makeEdgeApp } from './support/edge-app.mjs'
import { RUNTIMES } from './support/edge-runtimes.mjs'
import { API_KEY, ENV_ID, startEmulator } from './support/emulator.mjs'

const ANON = '5c1e7a8b-0f2d-4c3e-9a6b-7d8e9f0a1b2c'
const USER = 'user-4242'
const IDENTIFIED = `theme=dark; ajs_user_id=${encodeURIComponent(JSON.stringify(USER))}; ajs_anonymous_id=%22${ANON}%22`
const ANONYMOUS = `ajs_anonymous_id=${encodeURIComponent(JSON.stringify(ANON))}; session=abc`

let emulator, app, env, node, hanging, closedOrigin

before(async () => {
  emulator = await startEmulator()
  app = makeEdgeApp('edge-e2e')
  env = { FLAGSHIP_ENV_ID: ENV_ID, FLAGSHIP_API_KEY: API_KEY, FLAGSHIP_EMULATOR: emulator.origin }
  // Node, as the reference: the app's own files, `flagship-segment/server` resolved by Node.
  const entry = createRequire(path.join(app, 'package.json')).resolve('flagship-segment/server')
  assert.equal(path.relative(app, entry), 'node_modules/flagship-segment/server/node.mjs')
  const load = (file) => import(pathToFileURL(path.join(app, file)).href)
  node = { worker: (await load('worker.js')).default, probe: (await load('probe.js')).probe }
  // A Decision API that accepts the connection and never answers, and one that is down.
  hanging = createServer(() => {})
  await new Promise((resolve) => hanging.listen(0, '127.0.0.1', resolve))
  const closed = createServer()
  await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve))
  closedOrigin = `http://127.0.0.1:${closed.address().port}`
  await new Promise((resolve) => closed.close(resolve))
})
after(async () => {
  hanging?.closeAllConnections()
  hanging?.close()
  await emulator?.stop()
})

const settings = (more = {}) => ({ envId: ENV_ID, apiKey: API_KEY, endpoints: { decision: emulator.origin }, ...more })
const probeRequest = (origin, body) => new Request(`${origin}/_probe`, { method: 'POST', body: JSON.stringify(body) })
const decisions = async () => (await emulator.log()).decisions.map((d) => [d.visitorId, d.anonymousId])

/** The probe's answer in the runtime and on Node, as text: `{ body, expected }`. */
async function probeBoth(runtime, body) {
  const response = await fetch(probeRequest(runtime.origin, body))
  assert.equal(response.status, 200, runtime.output())
  const text = await response.text()
  const expected = await (await node.probe(probeRequest('http://node.test', body))).text()
  return { body: text, expected, answer: JSON.parse(text) }
}

test('each edge condition has its own entry, and none of them reaches a Node built-in', () => {
  const installed = path.join(app, 'node_modules/flagship-segment')
  const { exports } = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8'))
  const server = exports['./server']
  // Tried in this order: a runtime that matches several conditions (Bun and Deno match `node`)
  // gets the first.
  assert.deepEqual(Object.keys(server), ['types', 'workerd', 'edge-light', 'deno', 'bun', 'node', 'default'])
  const entries = ['workerd', 'edge-light', 'deno', 'bun', 'default'].map((c) => server[c])
  assert.equal(new Set(entries).size, entries.length, 'one entry per condition')
  // Each entry and every file it imports, relative import by relative import.
  const imports = /(?:^|\n)\s*import\s+(?:source\s+)?(?:[\w{}\s,*]+\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g
  for (const entry of entries) {
    const seen = new Set()
    const visit = (file) => {
      if (seen.has(file)) return
      seen.add(file)
      for (const [, fixed, dynamic] of readFileSync(file, 'utf8').matchAll(imports)) {
        const specifier = fixed ?? dynamic
        assert.ok(specifier.startsWith('./'), `${path.relative(installed, file)} imports ${specifier}`)
        if (/\.m?js$/.test(specifier)) visit(path.join(path.dirname(file), specifier))
      }
    }
    visit(path.join(installed, entry))
    assert.ok(seen.size >= 2, `${entry} is read with the core`)
  }
})

for (const [name, start] of Object.entries(RUNTIMES)) {
  describe(`${name}: flagship-segment/server through the \`${name}\` condition`, () => {
    let runtime
    before(async () => {
      runtime = await start(app, env)
    })
    after(() => runtime?.stop())
    beforeEach(() => emulator.reset())

    // First, while the runtime is fresh: the requests share one instantiation of the module
    // (in workerd, across request contexts) and one output buffer, and must not share a visitor.
    test('concurrent first requests: each decided for its own visitor', async () => {
      const ids = Array.from({ length: 8 }, (_, i) => `${name}-visitor-${i}`)
      const answers = await Promise.all(ids.map(async (id) => {
        const response = await fetch(probeRequest(runtime.origin, { options: settings({ cookie: `ajs_anonymous_id=${id}` }), cookieAs: 'request' }))
        return (await response.json()).result?.visitorId
      }))
      assert.deepEqual(answers, ids, runtime.output())
      assert.deepEqual((await decisions()).map(([visitorId]) => visitorId).sort(), [...ids].sort())
    })

    if (name === 'edge-light') {
      test('the Next.js middleware hands the page the decision for exactly the identity in Segment\'s cookies', async () => {
        const response = await fetch(`${runtime.origin}/checkout`, { headers: { cookie: IDENTIFIED, 'x-flagship-decision': 'forged' } })
        assert.equal(response.status, 200)
        // What Next.js reads to continue to the page with these request headers.
        assert.equal(response.headers.get('x-middleware-next'), '1')
        assert.ok(response.headers.get('x-middleware-override-headers').split(',').includes('x-flagship-decision'))
        const header = response.headers.get('x-middleware-request-x-flagship-decision')
        assert.ok(header, runtime.output())
        const decided = decodeURIComponent(header)
        assert.deepEqual(await decisions(), [[USER, ANON]])
        const { visitorId, anonymousId } = JSON.parse(decided)
        assert.deepEqual({ visitorId, anonymousId }, { visitorId: USER, anonymousId: ANON })
        const { expected } = await probeBoth(runtime, { options: settings({ cookie: IDENTIFIED }) })
        assert.equal(`{"result":${decided}}`, expected, 'the decision differs from Node\'s')
      })

      test('no Segment cookie: no decision for the page, no request, and a forged one is dropped', async () => {
        const response = await fetch(`${runtime.origin}/`, { headers: { cookie: 'theme=dark', 'x-flagship-decision': 'forged' } })
        assert.equal(response.headers.get('x-middleware-next'), '1')
        assert.equal(response.headers.get('x-middleware-request-x-flagship-decision'), null)
        assert.equal(response.headers.get('x-middleware-request-x-flagship-error'), null)
        assert.deepEqual(await decisions(), [])
      })
    } else {
      test('the example page carries the decision for exactly the identity in Segment\'s cookies, byte for byte as on Node', async () => {
        for (const cookie of [IDENTIFIED, ANONYMOUS]) {
          await emulator.reset()
          const response = await fetch(`${runtime.origin}/checkout`, { headers: { cookie } })
          assert.equal(response.status, 200)
          assert.equal(response.headers.get('x-flagship-error'), null, runtime.output())
          assert.equal(response.headers.get('cache-control'), 'private, no-store')
          const body = await response.text()
          const identity = cookie === IDENTIFIED ? [USER, ANON] : [ANON, null]
          assert.deepEqual(await decisions(), [identity])
          const { initialDecision } = JSON.parse(/<script type="application\/json" id="flagship">(.*)<\/script>/.exec(body)[1])
          assert.deepEqual([initialDecision.visitorId, initialDecision.anonymousId], identity)
          const onNode = await node.worker.fetch(new Request('http://node.test/checkout', { headers: { cookie } }), env)
          assert.equal(body, await onNode.text(), 'the page differs from Node\'s')
        }
      })

      test('no Segment cookie: the defaults, and no request', async () => {
        const response = await fetch(`${runtime.origin}/`, { headers: { cookie: 'theme=dark' } })
        const body = await response.text()
        assert.match(body, /"initialDecision":null/)
        assert.match(body, /data-color="grey"/)
        assert.equal(response.headers.get('x-flagship-error'), null)
        assert.deepEqual(await decisions(), [])
        assert.equal(body, await (await node.worker.fetch(new Request('http://node.test/'), env)).text())
      })
    }

    test('a Request or its Cookie header, in the runtime\'s own types: the same decision as on Node', async () => {
      for (const cookieAs of ['request', 'cookie']) {
        await emulator.reset()
        const { body, expected, answer } = await probeBoth(runtime, { options: settings({ cookie: ANONYMOUS }), cookieAs })
        assert.equal(answer.result?.visitorId, ANON, body)
        assert.deepEqual(await decisions(), [[ANON, null], [ANON, null]], 'the runtime and Node each asked once')
        assert.equal(body, expected)
      }
      for (const cookieAs of ['request', 'cookie']) {
        await emulator.reset()
        const { body, expected } = await probeBoth(runtime, { options: settings({ cookie: 'theme=dark; ajs_anonymous_id=' }), cookieAs })
        assert.equal(body, '{"result":null}')
        assert.equal(body, expected)
        assert.deepEqual(await decisions(), [], 'no ID is minted: no request')
      }
    })

    test('invalid options: INVALID_OPTIONS, the same error as on Node, and no request', async () => {
      const cases = [
        { options: { envId: ENV_ID, cookie: ANONYMOUS } },
        { options: settings({ cookie: ANONYMOUS, visitorId: 'someone' }) },
        { options: settings({ cookie: ANONYMOUS, timeoutMs: -1 }) },
        { options: settings({ cookie: ANONYMOUS, request: 'not a request' }) },
      ]
      for (const body of cases) {
        const { answer, body: text, expected } = await probeBoth(runtime, body)
        assert.equal(answer.error?.code, 'INVALID_OPTIONS', text)
        assert.equal(answer.error.isError, true)
        assert.equal(text, expected)
      }
      assert.deepEqual(await decisions(), [])
    })

    test('the Decision API down, silent or refusing: DECISION_NETWORK, DECISION_TIMEOUT, DECISION_HTTP', async () => {
      const down = await probeBoth(runtime, { options: settings({ cookie: ANONYMOUS, endpoints: { decision: closedOrigin } }) })
      assert.equal(down.answer.error?.code, 'DECISION_NETWORK', down.body)
      // The runtime's own words for a refused connection follow this prefix.
      assert.match(down.answer.error.message, /^decision api unreachable: /)

      const started = Date.now()
      const silent = await probeBoth(runtime, {
        options: settings({ cookie: ANONYMOUS, timeoutMs: 300, endpoints: { decision: `http://127.0.0.1:${hanging.address().port}` } }),
      })
      assert.equal(silent.answer.error?.code, 'DECISION_TIMEOUT', silent.body)
      assert.equal(silent.body, silent.expected)
      assert.ok(Date.now() - started >= 2 * 300 - 20, 'each side waited for its deadline')

      // The emulator refuses another API key with 403.
      const refused = await probeBoth(runtime, { options: settings({ cookie: ANONYMOUS, apiKey: 'not-the-key' }) })
      assert.equal(refused.answer.error?.code, 'DECISION_HTTP', refused.body)
      assert.equal(refused.body, refused.expected)
    })
  })
}
