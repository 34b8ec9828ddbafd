// flagship-segment/react through the two examples (examples/build.mjs, React's development
// build, so StrictMode double-mounts), in headless Chromium with the real analytics.js 2.0
// (Segment's CDN and api.segment.io answered by the test: the standalone build from
// node_modules, calls forwarded to the emulator's Segment endpoint) and the emulator answering
// the Decision API, both for the example's Node server (decideFromCookies) and for the browser.
//
// Server rendering: a returning visitor's first paint already shows the decided values and the
// browser asks nothing at start; a new visitor gets defaults, then one decision for Segment's new
// anonymousId; identify re-renders; a stale cookie (or a cookie that localStorage contradicts)
// gives STALE_IDENTITY and a decision for Segment's identity; no request carries another ID;
// StrictMode starts one instance. SPA: Provider + useFlag with analytics-next from npm and with
// the snippet. Needs `./run build` and the emulator binary.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { after, before, beforeEach, test } from 'node:test'

import { buildExamples } from '../../examples/build.mjs'
import { serve } from './ship-support.mjs'
import { launch } from './support/browser.mjs'
import { API_KEY, ENV_ID, root, startEmulator } from './support/emulator.mjs'
import { WRITE_KEY } from './support/page.mjs'

const { decideFromCookies } = await import('../../pkg/server/node.mjs')

/** The examples' defaults (examples/Checkout.jsx). */
const DEFAULTS = { color: 'grey', title: 'Checkout' }
/** www/bucketing.json's toggle is on for everyone. */
const DECIDED_TITLE = 'New checkout'
const USER = 'user-x'

let emulator, browser, ssr, spa
/** Two anonymous IDs: anonA's button colour is not user-x's (so identify visibly changes it);
 *  anonB's is user-x's, so not anonA's either. */
let anonA, anonB
const colours = new Map()

before(async () => {
  emulator = await startEmulator()
  const env = { FLAGSHIP_ENV_ID: ENV_ID, FLAGSHIP_API_KEY: API_KEY, SEGMENT_WRITE_KEY: WRITE_KEY, FLAGSHIP_EMULATOR: emulator.origin }
  const built = await buildExamples({ out: path.join(root, 'target/e2e/react-examples'), development: true, env })
  ssr = await startServer(path.join(built.ssr, 'server.mjs'), env)
  spa = await serve({ '/': built.spa })
  browser = await launch()
  // The emulator buckets by visitor ID, 50/50 on the colour: 40 candidates give both colours.
  const candidates = Array.from({ length: 40 }, () => randomUUID())
  const userColour = await colour(USER, candidates[0])
  anonA = (await Promise.all(candidates.map(async (id) => [id, await colour(id)]))).find(([, c]) => c !== userColour)?.[0]
  assert.ok(anonA, 'no anonymous ID with another colour than user-x among 40')
  if ((await colour(USER, anonA)) !== userColour) throw new Error('user-x\'s colour depends on the anonymousId: pick the probe differently')
  anonB = candidates.find((id) => colours.get(id) === userColour)
  assert.ok(anonB, 'no anonymous ID with user-x\'s colour among 40')
})

after(async () => {
  await browser?.close()
  await spa?.close()
  ssr?.kill()
  await emulator?.stop()
})

beforeEach(() => emulator.reset())

/** The button colour the emulator decides for a visitor, through decideFromCookies. */
async function colour(visitorId, anonymousId) {
  const key = `${visitorId}/${anonymousId ?? ''}`
  if (!colours.has(key)) {
    const cookie = anonymousId ? `ajs_user_id=${visitorId}; ajs_anonymous_id=${anonymousId}` : `ajs_anonymous_id=${visitorId}`
    const answer = await decideFromCookies({ envId: ENV_ID, apiKey: API_KEY, endpoints: { decision: emulator.origin }, cookie })
    colours.set(key, answer.flags.btnColor)
    if (!anonymousId) colours.set(visitorId, answer.flags.btnColor)
  }
  return colours.get(key)
}

/** Runs the example's server on a free port; resolves with `{origin, output(), kill()}`. */
async function startServer(file, env) {
  const child = spawn(process.execPath, [file], {
    cwd: root,
    env: { ...process.env, ...env, PORT: '0', NODE_ENV: 'development' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const origin = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the SSR example did not start\n${output}`)), 15_000)
    child.once('exit', (code) => reject(new Error(`the SSR example exited with ${code}\n${output}`)))
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding('utf8')
      stream.on('data', (chunk) => {
        output += chunk
        const found = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(output)
        if (found) {
          clearTimeout(timer)
          child.removeAllListeners('exit')
          resolve(found[1])
        }
      })
    }
  })
  return { origin, output: () => output, kill: () => child.kill() }
}

const ajsDir = path.join(root, 'node_modules/@segment/analytics-next/dist/umd')

/** Segment's hosts as the page reaches them: the CDN serves analytics.js 2.0 from node_modules
 *  and settings sending to api.segment.io, whose /v1 calls go on to the emulator (the
 *  connector's twin learns the IDs there, and the module's gate sees them dispatched). */
async function routeSegment(page) {
  await page.route(/^https:\/\/cdn\.segment\.com\//, async (route) => {
    const url = new URL(route.request().url())
    if (url.pathname.endsWith('/settings')) {
      return route.fulfill({
        contentType: 'application/json',
        headers: { 'access-control-allow-origin': '*' },
        body: JSON.stringify({ integrations: { 'Segment.io': { apiKey: WRITE_KEY } }, plan: {}, edgeFunction: {} }),
      })
    }
    const name = url.pathname.endsWith('analytics.min.js') ? 'standalone.js' : path.basename(url.pathname)
    const body = await readFile(path.join(ajsDir, name)).catch(() => null)
    return body ? route.fulfill({ contentType: 'text/javascript', body }) : route.fulfill({ status: 404, body: '' })
  })
  await page.route(/^https:\/\/api\.segment\.io\//, async (route) => {
    const url = new URL(route.request().url())
    if (!url.pathname.startsWith('/v1/')) return route.fulfill({ contentType: 'application/json', body: '{}' })
    return route.fulfill({ response: await route.fetch({ url: `${emulator.origin}${url.pathname}` }) })
  })
}

// Runs before any script of the page: records the DOM when parsing ends (readyState
// "interactive", before module scripts run) and at DOMContentLoaded, every change made to the
// flags' elements afterwards (a hydration mismatch re-renders them; a flicker changes them
// twice), and CSP violations.
const OBSERVER = () => {
  const e2e = (window.__e2e = { interactive: null, loaded: null, changes: [], violations: [] })
  const snapshot = () => {
    const buy = document.getElementById('buy')
    return buy && { color: buy.dataset.color, label: buy.textContent, title: document.getElementById('title').textContent }
  }
  const watched = (node) => {
    const element = node.nodeType === 1 ? node : node.parentElement
    return Boolean(element && element.closest('#root') && !element.closest('p, pre'))
  }
  document.addEventListener('readystatechange', () => {
    if (document.readyState !== 'interactive') return
    e2e.interactive = snapshot()
    new MutationObserver((records) => {
      for (const r of records) {
        if (watched(r.target)) e2e.changes.push({ type: r.type, attribute: r.attributeName, now: snapshot() })
      }
    }).observe(document.documentElement, { subtree: true, childList: true, attributes: true, characterData: true })
  })
  document.addEventListener('DOMContentLoaded', () => (e2e.loaded = snapshot()))
  document.addEventListener('securitypolicyviolation', (e) => e2e.violations.push(`${e.violatedDirective} ${e.blockedURI}`))
}

/** A fresh context with `cookies` (name → value, as Segment stores them) for the servers'
 *  host, `storage` in localStorage, and a `forgotten` ajs_anonymous_id the page's request carries
 *  but the page no longer has; records what the page sends to the emulator. */
async function open({ cookies = {}, storage = {}, forgotten } = {}) {
  const context = await browser.newContext()
  context.setDefaultTimeout(15_000)
  const cookieList = Object.entries(cookies).map(([name, value]) => ({ name, value, domain: '127.0.0.1', path: '/' }))
  if (cookieList.length) await context.addCookies(cookieList)
  const page = await context.newPage()
  const log = []
  page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`))
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`))
  const sent = []
  page.on('request', (request) => {
    const url = new URL(request.url())
    if (url.origin === emulator.origin && request.method() === 'POST') {
      sent.push({ path: url.pathname, body: JSON.parse(request.postData() ?? 'null') })
    }
  })
  await routeSegment(page)
  await page.addInitScript(OBSERVER)
  if (Object.keys(storage).length) {
    await page.addInitScript((entries) => {
      for (const [key, value] of entries) localStorage.setItem(key, value)
    }, Object.entries(storage))
  }
  if (forgotten) {
    // Sent with the page's request, then gone before any script of the page runs (cleared by
    // the user, expired, evicted): the server saw a cookie Segment in the browser cannot read.
    await context.addCookies([{ name: 'ajs_anonymous_id', value: forgotten, domain: '127.0.0.1', path: '/' }])
    await page.addInitScript(() => {
      document.cookie = 'ajs_anonymous_id=; Max-Age=0; path=/'
    })
  }
  return { context, page, log, sent }
}

/** Runs `check` on a page from `open(options)`; a failure carries the page's console and the
 *  servers' output. */
async function withPage(options, check) {
  const opened = await open(options)
  try {
    await check(opened)
  } catch (error) {
    error.message += `\n--- page console ---\n${opened.log.join('\n')}\n--- SSR server ---\n${ssr.output().slice(-2_000)}\n--- emulator ---\n${emulator.output().slice(-2_000)}`
    throw error
  } finally {
    await opened.page.unrouteAll({ behavior: 'ignoreErrors' })
    await opened.context.close()
  }
}

const campaigns = (sent) => sent.filter((r) => r.path.endsWith('/campaigns'))
const state = (page) =>
  page.evaluate(() => {
    const buy = document.getElementById('buy')
    return { color: buy.dataset.color, title: document.getElementById('title').textContent, status: document.getElementById('status').textContent }
  })
const settingsIn = (html) => JSON.parse(/<script type="application\/json" id="flagship-settings">(.*?)<\/script>/s.exec(html)[1])
const waitForStatus = (page, status) =>
  page.waitForFunction((s) => document.getElementById('status')?.textContent === s, status, { polling: 50 })
const segmentAnonymousId = (page) => page.evaluate(() => window.analytics.user().anonymousId())

/** Every request the page sent to the Decision API and the collector names only `allowed` IDs
 *  (Segment's identities of the test), in every ID field. */
function assertOnlySegmentIds(sent, allowed) {
  const ok = (id) => id === undefined || id === null || allowed.includes(id)
  for (const { path, body } of sent) {
    const ids = path.endsWith('/campaigns')
      ? [body.visitor_id, body.anonymous_id]
      : path === '/v2/activate'
        ? body.batch.flatMap((a) => [a.vid, a.aid])
        : (body.t === 'BATCH' ? body.h : [body]).flatMap((h) => [h.vid, h.cuid])
    for (const id of ids) assert.ok(ok(id), `${path} carried ${id}, not one of Segment's (${allowed.join(', ')}): ${JSON.stringify(body)}`)
  }
}

/** No uncaught error, no React error (hydration mismatch included), no CSP violation. */
async function assertClean(page, log) {
  const problems = log.filter((l) => /^(pageerror|error):/.test(l) && !/Failed to load resource/.test(l))
  assert.deepEqual(problems, [], log.join('\n'))
  assert.deepEqual(await page.evaluate(() => window.__e2e.violations), [], 'CSP violations')
}

/** Waits until the emulator holds the exposures of both campaigns the page reads, for `vid`. */
async function exposuresFor(vid) {
  const log = await emulator.waitForLog((l) => new Set(l.activations.filter((a) => a.vid === vid).map((a) => a.caid)).size >= 2, {
    what: `the exposures of ${vid}`,
    timeoutMs: 15_000,
  })
  return log.activations.filter((a) => a.vid === vid)
}

test('on Node: the Provider renders initialDecision.flags with the module\'s type rule, without a browser', async () => {
  const [{ createElement: h }, { renderToString }, react] = await Promise.all([
    import('react'),
    import('react-dom/server'),
    import('../../pkg/react/index.mjs'),
  ])
  const { FlagshipSegmentProvider, useFlag, useFlagship } = react
  function Reads() {
    const values = {
      color: useFlag('btnColor', 'grey'),
      wrongType: useFlag('discount', 0),
      nulled: useFlag('bannerText', 'none'),
      missing: useFlag('missing', false),
      any: useFlag('layout', null),
      array: useFlag('layout', ['x']),
    }
    const { status, visitorId, getFlag, track, diagnose } = useFlagship()
    const state = { status, visitorId: visitorId ?? null, read: getFlag('btnColor', 'grey'), tracked: track('x'), diagnosis: diagnose() }
    return h('pre', null, JSON.stringify({ values, state }))
  }
  const render = (initialDecision) =>
    JSON.parse(
      renderToString(h(FlagshipSegmentProvider, { envId: ENV_ID, apiKey: API_KEY, initialDecision }, h(Reads)))
        .replace(/^<pre>|<\/pre>$/g, '')
        .replaceAll('&quot;', '"'),
    )
  const flags = { btnColor: '#2da44e', discount: '15', bannerText: null, layout: { columns: 2 } }
  const decision = { visitorId: 'v', anonymousId: null, decision: { visitorId: 'v', campaigns: [] }, flags }
  const state = { status: 'STARTING', visitorId: null, tracked: false, diagnosis: null }
  assert.deepEqual(render(decision), {
    values: { color: '#2da44e', wrongType: 0, nulled: 'none', missing: false, any: { columns: 2 }, array: ['x'] },
    state: { ...state, read: '#2da44e' },
  })
  // As JSON text too; without a decision, the defaults.
  assert.equal(render(JSON.stringify(decision)).values.color, '#2da44e')
  assert.deepEqual(render(null), {
    values: { color: 'grey', wrongType: 0, nulled: 'none', missing: false, any: null, array: ['x'] },
    state: { ...state, read: 'grey' },
  })
  assert.equal(typeof window, 'undefined')
})

test('SSR, returning visitor: the first paint shows the decision and the browser asks nothing at start', { timeout: 60_000 }, async () => {
  await withPage({ cookies: { ajs_anonymous_id: `%22${anonA}%22` } }, async ({ page, log, sent }) => {
    const expected = await colour(anonA)
    const response = await page.goto(`${ssr.origin}/`)
    const html = await response.text()
    assert.match(html, new RegExp(`<button id="buy" data-color="${expected}"`), 'the server HTML')
    assert.ok(html.includes(`<h1 id="title">${DECIDED_TITLE}</h1>`), 'the server HTML')
    assert.equal(settingsIn(html).initialDecision.visitorId, anonA)
    assert.equal(response.headers()['cache-control'], 'private, no-store')

    await waitForStatus(page, 'READY')
    const first = await page.evaluate(() => window.__e2e)
    // Parsed, before any script ran; and still so when the scripts had run.
    assert.deepEqual(first.interactive, { color: expected, label: first.interactive.label, title: DECIDED_TITLE })
    assert.deepEqual(first.loaded, first.interactive)
    assert.equal(await segmentAnonymousId(page), anonA)
    // Exposures prove the module runs; none of it asked the Decision API.
    const exposures = await exposuresFor(anonA)
    assert.deepEqual(campaigns(sent), [], 'the browser asked the Decision API at start')
    assert.deepEqual(exposures.map((a) => a.aid ?? null), exposures.map(() => null))
    // Hydrated as rendered: React never touched the flags' elements (no mismatch, no flicker).
    assert.deepEqual((await page.evaluate(() => window.__e2e.changes)), [])
    assert.deepEqual(await state(page), { color: expected, title: DECIDED_TITLE, status: 'READY' })
    const { decisions, dropped } = await emulator.log()
    assert.deepEqual(decisions.map((d) => d.visitorId), [anonA], 'one decision, the server\'s')
    assert.deepEqual(dropped, [], 'the connector dropped an exposure')
    assertOnlySegmentIds(sent, [anonA])
    await assertClean(page, log)
  })
})

test('SSR, new visitor: defaults in the HTML, then one decision for Segment\'s new anonymousId (StrictMode: one instance)', { timeout: 60_000 }, async () => {
  await withPage({}, async ({ page, log, sent }) => {
    const response = await page.goto(`${ssr.origin}/`)
    const html = await response.text()
    assert.match(html, new RegExp(`<button id="buy" data-color="${DEFAULTS.color}"`))
    assert.equal(settingsIn(html).initialDecision, null)
    assert.deepEqual((await emulator.log()).decisions, [], 'the server decided without a Segment cookie')
    await waitForStatus(page, 'READY')
    const anonymousId = await segmentAnonymousId(page)
    assert.match(anonymousId, /^[0-9a-f-]{36}$/)
    assert.equal((await page.evaluate(() => window.__e2e.interactive)).color, DEFAULTS.color)
    await exposuresFor(anonymousId)
    // One instance: StrictMode's double mount would make a second module ask again.
    assert.deepEqual(
      campaigns(sent).map((r) => [r.body.visitor_id, r.body.anonymous_id ?? null]),
      [[anonymousId, null]],
      'exactly one /campaigns request, for Segment\'s anonymousId',
    )
    const expected = await colour(anonymousId)
    assert.deepEqual(await state(page), { color: expected, title: DECIDED_TITLE, status: 'READY' })
    // The defaults, then the decision: each element changed once, straight to its value.
    const changes = await page.evaluate(() => window.__e2e.changes)
    assert.ok(changes.length > 0 && changes.every((c) => c.now.color === expected || c.now.title === DECIDED_TITLE), JSON.stringify(changes))
    assertOnlySegmentIds(sent, [anonymousId])
    await assertClean(page, log)
  })
})

test('SSR: analytics.identify("user-x") re-renders with user-x\'s flags', { timeout: 60_000 }, async () => {
  await withPage({ cookies: { ajs_anonymous_id: `%22${anonA}%22` } }, async ({ page, log, sent }) => {
    await page.goto(`${ssr.origin}/`)
    await waitForStatus(page, 'READY')
    assert.equal((await state(page)).color, await colour(anonA))
    await exposuresFor(anonA)
    await page.evaluate((id) => void window.analytics.identify(id), USER)
    const expected = await colour(USER, anonA)
    assert.notEqual(expected, colours.get(anonA))
    await page.waitForFunction((c) => document.getElementById('buy').dataset.color === c, expected, { polling: 50 })
    await waitForStatus(page, 'READY')
    assert.deepEqual(
      campaigns(sent).map((r) => [r.body.visitor_id, r.body.anonymous_id ?? null]),
      [[USER, anonA]],
      'one decision, for user-x with the anonymousId alongside',
    )
    // The new visitor's read is exposed too, under the new identity, and so is a hit.
    const exposures = await exposuresFor(USER)
    assert.ok(exposures.every((a) => a.aid === anonA), JSON.stringify(exposures))
    await page.click('#buy')
    // A hit leaves on the next flush tick (flushIntervalMs, 5 s).
    const { hits } = await emulator.waitForLog((l) => l.hits.some((h) => h.ea === 'buy-click'), { what: 'the buy-click hit', timeoutMs: 15_000 })
    assert.deepEqual(hits.filter((h) => h.ea === 'buy-click').map((h) => [h.vid, h.cuid]), [[anonA, USER]])
    assert.ok(sent.some((r) => r.path === '/' || r.path === '/events'), 'the hit went to the collector')
    assertOnlySegmentIds(sent, [anonA, USER])
    assert.deepEqual((await emulator.log()).dropped, [])
    await assertClean(page, log)
  })
})

test('SSR: a cookie the browser no longer has gives STALE_IDENTITY and a decision for Segment\'s ID', { timeout: 60_000 }, async () => {
  await withPage({ forgotten: `%22${anonA}%22` }, async ({ page, log, sent }) => {
    const html = await (await page.goto(`${ssr.origin}/`)).text()
    assert.match(html, new RegExp(`data-color="${await colour(anonA)}"`), 'the server decided for the cookie it saw')
    await waitForStatus(page, 'READY')
    const anonymousId = await segmentAnonymousId(page)
    assert.notEqual(anonymousId, anonA)
    assert.ok(log.some((l) => l.startsWith('warning:') && l.includes('STALE_IDENTITY')), log.join('\n'))
    assert.deepEqual(campaigns(sent).map((r) => r.body.visitor_id), [anonymousId])
    assert.equal((await state(page)).color, await colour(anonymousId))
    await exposuresFor(anonymousId)
    assertOnlySegmentIds(sent, [anonymousId])
    await assertClean(page, log)
  })
})

// Which copy analytics.js reads when its cookie and localStorage disagree (they can, across
// subdomains: localStorage is per origin, the cookie is on the top domain). analytics-next 1.84.3
// (this repository's, served as the CDN's analytics.js 2.0): for ajs_anonymous_id the cookie
// wins and localStorage is rewritten to it; for ajs_user_id localStorage wins, and the cookie is
// rewritten. The README's server-rendering caveats say the same.
test('SSR: cookie and localStorage disagree on the anonymousId: the cookie wins, the server\'s decision is used', { timeout: 60_000 }, async () => {
  const cookies = { ajs_anonymous_id: `%22${anonA}%22` }
  await withPage({ cookies, storage: { ajs_anonymous_id: JSON.stringify(anonB) } }, async ({ page, log, sent }) => {
    const html = await (await page.goto(`${ssr.origin}/`)).text()
    assert.equal(settingsIn(html).initialDecision.visitorId, anonA, 'the server sees the cookie')
    await waitForStatus(page, 'READY')
    assert.equal(await segmentAnonymousId(page), anonA, 'analytics.js took the cookie\'s anonymousId')
    assert.equal(await page.evaluate(() => localStorage.getItem('ajs_anonymous_id')), JSON.stringify(anonA), 'localStorage re-synced')
    await exposuresFor(anonA)
    assert.deepEqual(campaigns(sent), [])
    assert.ok(!log.some((l) => l.includes('STALE_IDENTITY')), log.join('\n'))
    assert.equal((await state(page)).color, await colour(anonA))
    await page.click('#diagnose')
    assert.equal(JSON.parse(await page.textContent('#diagnosis')).segment.cookieAndStorageAgree, true)
    assertOnlySegmentIds(sent, [anonA])
    await assertClean(page, log)
  })
})

test('SSR: cookie and localStorage disagree on the userId: localStorage wins, STALE_IDENTITY, a decision for it', { timeout: 60_000 }, async () => {
  const cookies = { ajs_anonymous_id: `%22${anonA}%22`, ajs_user_id: `%22${USER}%22` }
  const stored = 'user-from-storage'
  await withPage({ cookies, storage: { ajs_user_id: JSON.stringify(stored) } }, async ({ page, log, sent }) => {
    const html = await (await page.goto(`${ssr.origin}/`)).text()
    assert.deepEqual(
      [settingsIn(html).initialDecision.visitorId, settingsIn(html).initialDecision.anonymousId],
      [USER, anonA],
      'the server decided for the cookies',
    )
    assert.match(html, new RegExp(`data-color="${await colour(USER, anonA)}"`))
    await waitForStatus(page, 'READY')
    assert.equal(await page.evaluate(() => window.analytics.user().id()), stored, 'analytics.js took localStorage\'s userId')
    assert.ok(log.some((l) => l.startsWith('warning:') && l.includes('STALE_IDENTITY')), log.join('\n'))
    assert.deepEqual(campaigns(sent).map((r) => [r.body.visitor_id, r.body.anonymous_id ?? null]), [[stored, anonA]])
    const expected = await colour(stored, anonA)
    await page.waitForFunction((c) => document.getElementById('buy').dataset.color === c, expected, { polling: 50 })
    await exposuresFor(stored)
    assertOnlySegmentIds(sent, [stored, anonA])
    await assertClean(page, log)
  })
})

for (const [variant, file] of [['analytics-next from npm, passed as `analytics`', 'index.html'], ['the Segment snippet', 'snippet.html']]) {
  test(`SPA with ${variant}: Provider + useFlag decide for Segment's anonymousId, once`, { timeout: 60_000 }, async () => {
    await withPage({}, async ({ page, log, sent }) => {
      await page.goto(`${spa.origin}/${file}`)
      assert.equal((await page.evaluate(() => window.__e2e.interactive)), null, 'nothing rendered before the scripts')
      await waitForStatus(page, 'READY')
      // Segment's ID as it reached Segment (the npm instance is not global).
      const { segment } = await emulator.waitForLog((l) => l.segment.length > 0, { what: "Segment's page call" })
      const anonymousId = segment[0].anonymousId
      await page.waitForFunction((c) => document.getElementById('buy').dataset.color === c, await colour(anonymousId), { polling: 50 })
      assert.equal((await state(page)).title, DECIDED_TITLE)
      assert.deepEqual(campaigns(sent).map((r) => r.body.visitor_id), [anonymousId], 'one instance, one decision')
      await exposuresFor(anonymousId)
      assertOnlySegmentIds(sent, [anonymousId])
      assert.deepEqual((await emulator.log()).dropped, [])
      await assertClean(page, log)
    })
  })
}
