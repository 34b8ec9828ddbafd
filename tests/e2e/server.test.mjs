// flagship-segment/server in Node, against the emulator: decideFromCookies reads Segment's
// cookies in every form Segment writes, asks the Decision API for exactly that identity, and
// resolves to what `start({ initialDecision })` takes; without a Segment cookie it resolves to
// null with no request (no ID minted); failures reject with the module's codes. Needs
// `./run build` (pkg/server/) and the emulator binary.
import assert from 'node:assert/strict'
import { after, before, beforeEach, test } from 'node:test'

import { API_KEY, ENV_ID, startEmulator } from './support/emulator.mjs'

const { decideFromCookies } = await import('../../pkg/server/node.mjs')

const ANON = '5c1e7a8b-0f2d-4c3e-9a6b-7d8e9f0a1b2c'
const USER = 'user-4242'

let emulator
before(async () => {
  emulator = await startEmulator()
})
after(() => emulator?.stop())
beforeEach(() => emulator.reset())

const decide = (cookie, options = {}) =>
  decideFromCookies({ envId: ENV_ID, apiKey: API_KEY, endpoints: { decision: emulator.origin }, cookie, ...options })

/** What the emulator's bucketing gives the button colour, for the assertions on `flags`. */
const COLOURS = ['#1f6feb', '#2da44e']

test('every stored form of ajs_anonymous_id decides for that ID', async () => {
  const forms = {
    raw: ANON,
    'JSON-quoted': `"${ANON}"`,
    'URL-encoded JSON': encodeURIComponent(JSON.stringify(ANON)),
  }
  for (const [form, value] of Object.entries(forms)) {
    await emulator.reset()
    const cookie = `theme=dark; ajs_anonymous_id=${value}; other=1`
    const answer = await decide(cookie)
    assert.equal(answer.visitorId, ANON, form)
    assert.equal(answer.anonymousId, null, form)
    assert.ok(COLOURS.includes(answer.flags.btnColor), `${form}: flags ${JSON.stringify(answer.flags)}`)
    assert.equal(answer.flags.newCheckout, true, form)
    assert.ok(Array.isArray(answer.decision.campaigns) && answer.decision.campaigns.length > 0, form)
    const { decisions } = await emulator.log()
    assert.deepEqual(
      decisions.map((d) => ({ visitorId: d.visitorId, anonymousId: d.anonymousId, envId: d.envId, triggerHit: d.triggerHit })),
      [{ visitorId: ANON, anonymousId: null, envId: ENV_ID, triggerHit: false }],
      form,
    )
  }
})

test('an identified visitor: the userId, with the anonymousId alongside; idPolicy "anonymous" pins the anonymousId', async () => {
  const cookie = `ajs_user_id=${encodeURIComponent(JSON.stringify(USER))}; ajs_anonymous_id=%22${ANON}%22`
  const identified = await decide(cookie)
  assert.deepEqual({ visitorId: identified.visitorId, anonymousId: identified.anonymousId }, { visitorId: USER, anonymousId: ANON })
  const pinned = await decide(cookie, { idPolicy: 'anonymous' })
  assert.deepEqual({ visitorId: pinned.visitorId, anonymousId: pinned.anonymousId }, { visitorId: ANON, anonymousId: null })
  const { decisions } = await emulator.log()
  assert.deepEqual(
    decisions.map((d) => [d.visitorId, d.anonymousId]),
    [[USER, ANON], [ANON, null]],
  )
  // Same visitor, same answer: the server and the browser decide alike.
  assert.deepEqual(identified.flags, (await decide(`ajs_user_id=${USER}; ajs_anonymous_id=${ANON}`)).flags)
})

test('the context is sent; the answer is JSON-serialisable for the page', async () => {
  const answer = await decide(`ajs_anonymous_id=${ANON}`, { context: { plan: 'pro' } })
  assert.equal(answer.flags.bannerText, 'Thanks for being Pro: shipping is on us')
  assert.deepEqual(JSON.parse(JSON.stringify(answer)), answer)
  const [decision] = (await emulator.log()).decisions
  assert.equal(decision.body.context.plan, 'pro')
})

test('no Segment cookie: null and no request, whatever else the header holds', async () => {
  for (const cookie of [undefined, null, '', 'theme=dark; session=abc', 'ajs_anonymous_id=', 'ajs_user_id=%22%22']) {
    let sent = 0
    const answer = await decide(cookie, { fetch: (...args) => (sent++, fetch(...args)) })
    assert.equal(answer, null, JSON.stringify(cookie))
    assert.equal(sent, 0, `${JSON.stringify(cookie)}: a request was made`)
  }
  assert.deepEqual((await emulator.log()).decisions, [])
})

test('failures reject with the module codes', async () => {
  const cookie = `ajs_anonymous_id=${ANON}`
  const rejects = (promise, code) => assert.rejects(promise, (error) => {
    assert.equal(error.code, code, `${error.code}: ${error.message}`)
    assert.ok(error instanceof Error)
    return true
  })
  await rejects(decideFromCookies({ envId: ENV_ID, cookie }), 'INVALID_OPTIONS')
  await rejects(decide(cookie, { visitorId: 'someone' }), 'INVALID_OPTIONS')
  await rejects(decideFromCookies('ajs_anonymous_id=x'), 'INVALID_OPTIONS')
  await rejects(decide(`ajs_anonymous_id=${'x'.repeat(300)}`), 'INVALID_VISITOR_ID')
  // The emulator refuses another API key with 403.
  await rejects(decide(cookie, { apiKey: 'not-the-key' }), 'DECISION_HTTP')
  // Nothing listens there any more.
  const closed = await startEmulator()
  const gone = closed.origin
  await closed.stop()
  await rejects(decide(cookie, { endpoints: { decision: gone } }), 'DECISION_NETWORK')
  await rejects(decide(cookie, { timeoutMs: 100, fetch: () => new Promise(() => {}) }), 'DECISION_TIMEOUT')
  await rejects(decide(cookie, { fetch: async () => new Response('<html>not json</html>', { status: 200 }) }), 'DECISION_MALFORMED')
  // An answer for someone else is never handed to the page.
  const forAnother = JSON.stringify({ visitorId: 'someone-else', campaigns: [] })
  await rejects(decide(cookie, { fetch: async () => new Response(forAnother, { status: 200 }) }), 'VISITOR_MISMATCH')
})

test('a Request (as edge code has it) decides as its Cookie header does', async () => {
  const cookie = `ajs_user_id=${USER}; ajs_anonymous_id=%22${ANON}%22`
  const request = new Request('https://shop.example/checkout', { headers: { cookie } })
  const fromRequest = await decideFromCookies({ envId: ENV_ID, apiKey: API_KEY, endpoints: { decision: emulator.origin }, request })
  const fromHeader = await decide(cookie)
  assert.equal(JSON.stringify(fromRequest), JSON.stringify(fromHeader))
  assert.deepEqual((await emulator.log()).decisions.map((d) => [d.visitorId, d.anonymousId]), [[USER, ANON], [USER, ANON]])
  // A request without Segment's cookies: null, and nothing asked.
  await emulator.reset()
  const bare = new Request('https://shop.example/', { headers: { cookie: 'theme=dark' } })
  assert.equal(await decideFromCookies({ envId: ENV_ID, apiKey: API_KEY, endpoints: { decision: emulator.origin }, request: bare }), null)
  assert.equal(await decideFromCookies({ envId: ENV_ID, apiKey: API_KEY, endpoints: { decision: emulator.origin }, request: new Request('https://shop.example/') }), null)
  assert.deepEqual((await emulator.log()).decisions, [])
})

test('the options of the edge path are checked: request, fetch, wasm', async () => {
  const rejects = (options, code, message) => assert.rejects(
    decideFromCookies({ envId: ENV_ID, apiKey: API_KEY, endpoints: { decision: emulator.origin }, ...options }),
    (error) => {
      assert.equal(error.code, code, `${error.code}: ${error.message}`)
      assert.match(error.message, message)
      return true
    },
  )
  const request = new Request('https://shop.example/', { headers: { cookie: `ajs_anonymous_id=${ANON}` } })
  await rejects({ request, cookie: `ajs_anonymous_id=${ANON}` }, 'INVALID_OPTIONS', /`request`: give `request` or `cookie`, not both/)
  await rejects({ request: `ajs_anonymous_id=${ANON}` }, 'INVALID_OPTIONS', /`request`: must be a Request/)
  await rejects({ request: { headers: { cookie: `ajs_anonymous_id=${ANON}` } } }, 'INVALID_OPTIONS', /`request`: must be a Request/)
  await rejects({ request, fetch: 'https://decision.flagship.io' }, 'INVALID_OPTIONS', /`fetch`: must be a function/)
  await rejects({ request, wasm: new Uint8Array([0, 97, 115, 109, 9]) }, 'WASM_UNAVAILABLE', /flagship_segment_server\.wasm could not be loaded/)
  assert.deepEqual((await emulator.log()).decisions, [])
})

test('the deadline aborts the request through its signal (AbortSignal.timeout)', async () => {
  let signal
  const started = Date.now()
  await assert.rejects(
    decide(`ajs_anonymous_id=${ANON}`, {
      timeoutMs: 150,
      // Honours its signal, as a runtime's fetch does.
      fetch: (url, init) => new Promise((_, reject) => {
        signal = init.signal
        signal.addEventListener('abort', () => reject(signal.reason))
      }),
    }),
    (error) => error.code === 'DECISION_TIMEOUT' && /within 150 ms/.test(error.message),
  )
  assert.ok(Date.now() - started >= 140, `rejected after ${Date.now() - started} ms`)
  assert.equal(signal.aborted, true)
  assert.equal(signal.reason.name, 'TimeoutError')
})
