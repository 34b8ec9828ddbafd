// Repeat page views under `decisionMaxAgeMs` (issue 15, item 4): figures, not pass/fail.
// Run with `./run bench` (builds first) or `node bench/repeat.mjs` after `./run build` and
// `cargo build --features emulator --bin flagship-emulator`.
//
//   node bench/repeat.mjs [--visitors 100] [--loads 11] [--seed 15] [--parallel 2] [--json OUT]
//
// 1. Decision API requests per 1,000 page views. Each visitor views 5 pages at seeded
//    pseudo-random times inside a 10-minute window, with the option off and at 5 minutes. Headless
//    Chromium, the real analytics-next (www/vendor/segment.js) and the module (pkg/web), both
//    served by the local emulator, which is also the Decision API. One browser context per
//    visitor, so its localStorage and Segment cookies carry over between its views; each view is a
//    navigation of the visitor's tab (a new document) whose `Date.now` an init script shifts to the
//    view's time (the module's clock is `Date.now()`; timers and `performance.now()` stay real, so
//    nothing waits for minutes).
//    The figure is the emulator's count of `/campaigns` requests; the page's own count (a wrapper
//    around `fetch`) says which views asked, and is compared with what should happen:
//    off, every view asks; on, a visitor's first view asks and so does every view whose stored
//    decision is older than 5 minutes (once, in the background), which restarts the clock. The
//    same rule over 100,000 simulated visitors gives the long-run figure the sample estimates.
//    100 visitors by default: a view costs Chromium about 0.1 s of CPU, and the whole run should
//    stay near 3 minutes on 2 shared cores; `--visitors 200` makes it 1,000 views per setting.
// 2. Navigation → first flag on a repeat view vs a first one, the option at 5 minutes, page level
//    as bench/page.mjs measures it (its throttling profiles, gzip'd files and page shape: a fake
//    loaded Segment with a fixed anonymousId, no analytics-next). First view: a fresh context,
//    empty storage. Repeat view: a fresh context (cold HTTP cache, as in page.mjs: files are
//    `no-store`) given the storage of an untimed first view made with the clock a minute earlier.
//
// OUT (default target/bench-repeat/results.json) gets everything printed, and more.
import { createServer } from 'node:http'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { launch } from '../tests/e2e/support/browser.mjs'
import { ENV_ID as EMULATOR_ENV_ID, root, startEmulator } from '../tests/e2e/support/emulator.mjs'
import { loadLibraries, startModule } from '../tests/e2e/support/page.mjs'
import { decision } from '../tests/e2e/ship-support.mjs'
import { PROFILES, TYPES, gzipFiles, median, rank } from './page-common.mjs'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : fallback
}
const VISITORS = Number(arg('visitors', 100))
const LOADS = Number(arg('loads', 11))
const SEED = Number(arg('seed', 15))
const PARALLEL = Math.min(2, Number(arg('parallel', 2))) // the machine has 2 cores, shared
const JSON_OUT = path.resolve(arg('json', path.join(root, 'target/bench-repeat/results.json')))
for (const [name, v] of Object.entries({ visitors: VISITORS, loads: LOADS, parallel: PARALLEL })) {
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`--${name} must be a positive integer`)
}
const VIEWS_PER_VISITOR = 5
const WINDOW_MS = 10 * 60_000
const MAX_AGE_MS = 5 * 60_000
const MIN_GAP_MS = 5_000
const REPEAT_AFTER_MS = 60_000 // part 2: the first view the repeat view's storage comes from
const CAMPAIGNS = /^\/v2\/[^/]+\/campaigns$/
const started = Date.now()
const loadAtStart = loadavg()

// ---------------------------------------------------------------------------------------------
// Part 1: Decision API requests per 1,000 page views.

/** mulberry32: a small seeded generator, so every run and both modes see the same view times. */
function random(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Per visitor, VIEWS_PER_VISITOR view times in ms from the start of the window, ascending and at
 * least MIN_GAP_MS apart (nobody reads a page in less; it also leaves the browser time to finish a
 * view before the next one starts): sorted uniform draws in the window less the gaps, the i-th
 * then shifted by i gaps.
 */
function schedule(visitors, seed) {
  const next = random(seed)
  const span = WINDOW_MS - (VIEWS_PER_VISITOR - 1) * MIN_GAP_MS
  return Array.from({ length: visitors }, () =>
    Array.from({ length: VIEWS_PER_VISITOR }, () => Math.floor(next() * span))
      .sort((a, b) => a - b)
      .map((t, i) => t + i * MIN_GAP_MS),
  )
}

/**
 * Which views should ask the Decision API, from first principles: with the option off, all;
 * with it on, the first, then any view more than `maxAgeMs` after the last view that asked (its
 * answer is what is stored; a reused decision is not stored again, so reuse does not restart the
 * clock). The stored time is when the answer was stored, a few ms after its view started: a gap
 * within those few ms of `maxAgeMs` could go either way (the comparison would show a mismatch).
 */
function expectedAsks(times, maxAgeMs) {
  if (!maxAgeMs) return times.map(() => true)
  let last = -Infinity
  return times.map((t) => {
    const ask = t - last > maxAgeMs
    if (ask) last = t
    return ask
  })
}

const PAGE_PATH = '/__bench_repeat.html'
const DECISIONS_KEY = (envId) => `flagship-segment:${envId}:decisions`

/**
 * A new visitor: a fresh context and its one tab. Each view navigates that tab to the page with
 * the view's time in the URL (`?at=`, ms since the epoch), which an init script makes the page's
 * `Date.now` start from; it also counts the module's /campaigns requests and their answers in the
 * page, so the wait below needs no ordering between browser events and this script. Observes only.
 */
async function newVisitor(browser, emulator) {
  const context = await browser.newContext()
  context.setDefaultTimeout(15_000)
  await context.route(`${emulator.origin}${PAGE_PATH}?*`, (route) =>
    route.fulfill({ contentType: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>repeat</title><body></body>' }),
  )
  await context.addInitScript((pattern) => {
    const at = Number(new URLSearchParams(location.search).get('at'))
    if (!at) return // the tab's first about:blank
    const realNow = Date.now
    const offset = at - realNow()
    Date.now = () => realNow() + offset
    const campaigns = new RegExp(pattern)
    const realFetch = window.fetch
    window.__campaigns = { sent: 0, settled: 0 }
    window.fetch = function (input, init) {
      const url = new URL(typeof input === 'string' ? input : input.url, location.href)
      const counted = campaigns.test(url.pathname)
      if (counted) window.__campaigns.sent++
      const answer = realFetch.call(this, input, init)
      if (counted) answer.finally(() => window.__campaigns.settled++).catch(() => {})
      return answer
    }
  }, CAMPAIGNS.source)
  const page = await context.newPage()
  const errors = []
  page.on('pageerror', (e) => errors.push(e.message))
  return { context, page, errors }
}

/**
 * One page view at `at` in the visitor's tab. Resolves once the module is READY and, if this view
 * asked, its answer is stored: what a visitor who stays on the page a moment leaves for the next.
 */
async function pageView({ page, errors }, emulator, at, maxAgeMs) {
  try {
    await page.goto(`${emulator.origin}${PAGE_PATH}?at=${at}`)
    await loadLibraries(page, emulator)
    const status = await startModule(page, emulator, { decisionMaxAgeMs: maxAgeMs, logLevel: 'error' })
    const settled = await page.waitForFunction(
      ({ key, at }) => {
        const c = window.__campaigns
        const seen = { asked: c.sent, anonymousId: window.fs.anonymousId, end: Date.now() }
        if (window.fs.status !== 'READY' || c.settled < c.sent) return false
        if (c.sent === 0) return seen
        try {
          return JSON.parse(localStorage.getItem(key)).entries.some((e) => e.at >= at) && seen
        } catch {
          return false
        }
      },
      { key: DECISIONS_KEY(EMULATOR_ENV_ID), at },
      { timeout: 10_000, polling: 10 },
    )
    const seen = await settled.jsonValue()
    return { status, ...seen }
  } catch (error) {
    error.message += `\nview at ${new Date(at).toISOString()}${errors.length ? `; page errors: ${errors.join('; ')}` : ''}`
    throw error
  }
}

/** Every visitor's views, PARALLEL visitors at a time; the emulator counts the requests. */
async function requestsWith(browser, emulator, plan, maxAgeMs, base) {
  await emulator.reset()
  const views = plan.map(() => null)
  let nextVisitor = 0
  const worker = async () => {
    while (nextVisitor < plan.length) {
      const v = nextVisitor++
      const visitor = await newVisitor(browser, emulator)
      views[v] = []
      // The visitor's clock never goes back: a view starts after the previous one ended by the
      // page's clock (MIN_GAP_MS makes that the planned time unless a view took longer).
      let clock = -Infinity
      for (const t of plan[v]) {
        const at = Math.max(base + t, clock + 1)
        const view = await pageView(visitor, emulator, at, maxAgeMs)
        views[v].push({ ...view, at: at - base, shifted: at !== base + t })
        clock = view.end
      }
      await visitor.context.close()
      // Segment's identity must hold across a visitor's views, or the benchmark measures nothing.
      const ids = new Set(views[v].map((x) => x.anonymousId))
      if (ids.size !== 1) throw new Error(`visitor ${v}: anonymousId changed between views: ${[...ids].join(', ')}`)
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, worker))
  const log = await emulator.log()
  const times = views.map((vs) => vs.map((x) => x.at))
  const expected = times.map((ts) => expectedAsks(ts, maxAgeMs))
  const flat = views.flat()
  const statuses = {}
  for (const x of flat) {
    const key = `${x.status}${x.asked ? `, ${x.asked} request${x.asked > 1 ? 's' : ''}` : ', no request'}`
    statuses[key] = (statuses[key] ?? 0) + 1
  }
  const mismatches = []
  times.forEach((ts, v) =>
    ts.forEach((t, i) => {
      const asked = views[v][i].asked
      if (asked !== (expected[v][i] ? 1 : 0)) mismatches.push({ visitor: v, view: i + 1, atMs: t, gapMs: i ? t - ts[i - 1] : null, asked, expected: expected[v][i] ? 1 : 0 })
    }),
  )
  const count = flat.length
  const requests = log.counters.decisions ?? 0
  const expectedRequests = expected.flat().filter(Boolean).length
  return {
    decisionMaxAgeMs: maxAgeMs,
    views: count,
    requests, // the emulator's count of /campaigns requests
    requestsSeenInPages: flat.reduce((a, x) => a + x.asked, 0),
    per1000: (1000 * requests) / count,
    expected: expectedRequests,
    expectedPer1000: (1000 * expectedRequests) / count,
    expectedFirstViews: plan.length,
    // Later views that should ask: with the option on, each in the background (REFRESHING).
    expectedLaterViews: expectedRequests - plan.length,
    statuses,
    shiftedViews: flat.filter((x) => x.shifted).length,
    mismatches,
  }
}

async function requestsPart() {
  const plan = schedule(VISITORS, SEED)
  // The window starts now (any instant would do: only gaps between views matter).
  const base = Date.now()
  const emulator = await startEmulator()
  const browser = await launch()
  try {
    const modes = []
    for (const maxAgeMs of [0, MAX_AGE_MS]) {
      const t0 = Date.now()
      process.stdout.write(`decisionMaxAgeMs ${maxAgeMs}: ${VISITORS} visitors × ${VIEWS_PER_VISITOR} views… `)
      const mode = await requestsWith(browser, emulator, plan, maxAgeMs, base)
      mode.seconds = (Date.now() - t0) / 1000
      process.stdout.write(`${mode.seconds.toFixed(0)} s\n`)
      modes.push(mode)
    }
    return {
      setup: 'headless Chromium, real @segment/analytics-next (www/vendor/segment.js) and pkg/web served by the local emulator (target/debug/flagship-emulator), which is the Decision API; requests counted by the emulator',
      chromium: browser.version(),
      visitors: VISITORS,
      viewsPerVisitor: VIEWS_PER_VISITOR,
      windowMs: WINDOW_MS,
      seed: SEED,
      parallel: PARALLEL,
      minGapMs: MIN_GAP_MS,
      gaps: gapSummary(plan),
      longRun: { visitors: 100_000, per1000: Object.fromEntries([0, MAX_AGE_MS].map((m) => [m, longRunPer1000(m)])) },
      modes,
    }
  } finally {
    await browser.close()
    await emulator.stop()
  }
}

/**
 * The same rule over many simulated visitors of the same pattern (no browser): the figure this
 * run's sample estimates, per 1,000 views.
 */
function longRunPer1000(maxAgeMs, visitors = 100_000) {
  const asks = schedule(visitors, SEED + 1).flatMap((ts) => expectedAsks(ts, maxAgeMs)).filter(Boolean).length
  return (1000 * asks) / (visitors * VIEWS_PER_VISITOR)
}

/** How the seeded schedule spreads: median gap between a visitor's consecutive views. */
function gapSummary(plan) {
  const gaps = plan.flatMap((times) => times.slice(1).map((t, i) => t - times[i]))
  return { medianMs: median(gaps), over5MinBetweenConsecutive: gaps.filter((g) => g > MAX_AGE_MS).length, total: gaps.length }
}

// ---------------------------------------------------------------------------------------------
// Part 2: navigation → first flag, repeat view vs first view (bench/page.mjs's method).

const ENV_ID = 'benchenv0123456789ab'
const API_KEY = 'benchkey0123456789abcdefghijklmnopqrstuv'
const ANON = '5a1b2c3d-0000-4000-a000-000000000001'
const RESULT_TAG = '__bench_repeat_result__'
const FLAGS = { btnColor: 'blue', discount: 20, banner: true }

// bench/page.mjs's page for ours, with the option at 5 minutes and the status in the result.
const OURS_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>flagship-segment, repeat view</title>
<link rel="preload" href="./ours/flagship_segment_bg.wasm" as="fetch" type="application/wasm" crossorigin>
<script type="module">
import * as flagship from './ours/flagship_segment.js';
try {
const ANON = ${JSON.stringify(ANON)};
const user = { id: () => null, anonymousId: () => ANON, traits: () => ({}) };
window.analytics = { initialized: true, user: () => user, on() {}, off() {} };
if (typeof flagship.default === 'function') await flagship.default();
const fs = await flagship.start({
  envId: ${JSON.stringify(ENV_ID)},
  apiKey: ${JSON.stringify(API_KEY)},
  endpoints: { decision: location.origin, events: location.origin + '/events' },
  logLevel: 'none',
  decisionMaxAgeMs: ${MAX_AGE_MS},
});
const value = fs.getFlag('btnColor', 'grey');
const ms = performance.now();
window.result = { ms, value, status: fs.status };
} catch (e) {
  window.result = { error: String(e && e.stack || e) };
}
console.log('${RESULT_TAG}', JSON.stringify(window.result));
</script>
</head><body></body></html>
`

/** page.mjs's server, for ours only: gzip'd files, the Decision API, activate, events. */
async function pageServer() {
  const { files, put, walk } = gzipFiles()
  const oursDir = path.join(root, 'pkg/web')
  walk(oursDir, '/ours/')
  put('/ours.html', Buffer.from(OURS_HTML), TYPES['.html'])
  const served = { campaigns: 0 }
  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const p = new URL(req.url, 'http://127.0.0.1').pathname
      const reply = (status, headers, body) => {
        res.writeHead(status, { 'cache-control': 'no-store', ...headers })
        res.end(body)
      }
      const file = req.method === 'GET' && files.get(p)
      if (file) return reply(200, { 'content-type': file.type, 'content-encoding': 'gzip', 'content-length': file.body.length }, file.body)
      if (req.method === 'POST' && CAMPAIGNS.test(p)) {
        served.campaigns++
        let visitor
        try { visitor = JSON.parse(Buffer.concat(chunks).toString()).visitor_id } catch {}
        const body = JSON.stringify(decision(visitor, FLAGS))
        return reply(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, body)
      }
      if (req.method === 'POST' && p === '/v2/activate') return reply(204, {}, '')
      if (p === '/events' || p.startsWith('/events/')) return reply(200, { 'content-type': 'application/json' }, '{}')
      reply(404, { 'content-type': 'text/plain' }, 'not found')
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    served,
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}

/** Waits for the page's one result message. */
function resultOf(tab, what) {
  const errors = []
  tab.on('pageerror', (e) => errors.push(e.message))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no result in 60 s\n${errors.join('\n')}`)), 60_000)
    tab.on('console', (m) => {
      const text = m.text()
      if (!text.startsWith(RESULT_TAG)) return errors.push(`${m.type()}: ${text}`)
      clearTimeout(timer)
      const result = JSON.parse(text.slice(RESULT_TAG.length + 1))
      if (result.error || result.value !== 'blue') reject(new Error(`${what}: ${result.error ?? `read ${JSON.stringify(result.value)}`}\n${errors.join('\n')}`))
      else resolve(result)
    })
  })
}

/**
 * The storage a visitor leaves after a first view `agoMs` earlier: an untimed, unthrottled load
 * whose `Date.now` runs `agoMs` behind, kept once its decision is stored.
 */
async function storageFromFirstView(browser, server, agoMs) {
  const context = await browser.newContext()
  const tab = await context.newPage()
  await tab.addInitScript((agoMs) => {
    const realNow = Date.now
    Date.now = () => realNow() - agoMs
  }, agoMs)
  const resulted = resultOf(tab, 'first view for the storage')
  await tab.goto(`${server.origin}/ours.html`, { waitUntil: 'commit', timeout: 60_000 })
  await resulted
  await tab.waitForFunction((key) => localStorage.getItem(key) !== null, DECISIONS_KEY(ENV_ID), { timeout: 10_000 })
  const state = await context.storageState()
  await context.close()
  return state
}

/** One timed load: fresh context (with `storageState` for a repeat view), throttled, navigated. */
async function timedLoad(browser, server, profile, storageState) {
  const context = await browser.newContext(storageState ? { storageState } : {})
  const tab = await context.newPage()
  const cdp = await context.newCDPSession(tab)
  await cdp.send('Network.enable')
  if (profile.network) await cdp.send('Network.emulateNetworkConditions', profile.network)
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: profile.cpuRate })
  const kind = storageState ? 'repeat' : 'first'
  const before = server.served.campaigns
  const resulted = resultOf(tab, `${kind} view (${profile.label})`)
  await tab.goto(`${server.origin}/ours.html`, { waitUntil: 'commit', timeout: 60_000 })
  const result = await resulted
  const asked = server.served.campaigns - before
  await context.close()
  // What each kind of view must be, or its time means something else.
  const want = storageState ? { status: 'READY', asked: 0 } : { status: 'READY', asked: 1 }
  if (result.status !== want.status || asked !== want.asked) {
    throw new Error(`${kind} view (${profile.label}): status ${result.status}, ${asked} /campaigns request(s); expected ${JSON.stringify(want)}`)
  }
  return result.ms
}

async function timingPart() {
  if (!existsSync(path.join(root, 'pkg/web/flagship_segment.js'))) throw new Error('pkg/web/flagship_segment.js not found: run ./run build')
  const server = await pageServer()
  const browser = await launch()
  const storedAge = [] // how old the stored decision was when each repeat view started
  const repeatStorage = async () => {
    const state = await storageFromFirstView(browser, server, REPEAT_AFTER_MS)
    const item = state.origins.flatMap((o) => o.localStorage).find((i) => i.name === DECISIONS_KEY(ENV_ID))
    storedAge.push(Date.now() - JSON.parse(item.value).entries[0].at)
    return state
  }
  try {
    const profiles = []
    for (const profile of PROFILES) {
      console.log(`${profile.label}: 1 warm-up + ${LOADS} loads per kind, kinds alternated`)
      await timedLoad(browser, server, profile, null)
      await timedLoad(browser, server, profile, await repeatStorage())
      const ms = { first: [], repeat: [] }
      for (let i = 0; i < LOADS; i++) {
        for (const kind of i % 2 ? ['repeat', 'first'] : ['first', 'repeat']) {
          // The storage is made before the timed load, never while it runs.
          const state = kind === 'repeat' ? await repeatStorage() : null
          ms[kind].push(await timedLoad(browser, server, profile, state))
        }
      }
      const stats = (xs) => ({ ms: xs, median: median(xs), p10: rank(xs, 0.1), p90: rank(xs, 0.9) })
      const first = stats(ms.first)
      const repeat = stats(ms.repeat)
      profiles.push({ key: profile.key, label: profile.label, network: profile.network, cpuRate: profile.cpuRate, first, repeat, ratio: repeat.median / first.median })
    }
    return {
      setup: 'bench/page.mjs method: one local http server (pkg/web gzip -9, a Decision API), fake loaded Segment with a fixed anonymousId, fresh browser context per load, Chromium throttling through CDP; repeat view = storage of an untimed first view whose clock ran a minute behind',
      chromium: browser.version(),
      decisionMaxAgeMs: MAX_AGE_MS,
      loads: LOADS,
      warmup: 1,
      storedAgeMs: { median: median(storedAge), min: Math.min(...storedAge), max: Math.max(...storedAge) },
      profiles,
    }
  } finally {
    await browser.close()
    await server.close()
  }
}

// ---------------------------------------------------------------------------------------------
// Run, print, write.
const n = (v) => Math.round(v).toLocaleString('en-US')

console.log(`\n== Decision API requests per 1,000 page views: ${VISITORS} visitors × ${VIEWS_PER_VISITOR} views within ${WINDOW_MS / 60_000} min (seed ${SEED})`)
const requests = await requestsPart()
console.log(`(${requests.setup})`)
console.log(`view times: at least ${MIN_GAP_MS / 1000} s apart; median gap between a visitor's consecutive views ${n(requests.gaps.medianMs / 1000)} s; ${requests.gaps.over5MinBetweenConsecutive} of ${requests.gaps.total} gaps over 5 min`)
console.log(`| decisionMaxAgeMs | page views | /campaigns requests | per 1,000 views | expected per 1,000 for these views (first principles) | long run, ${n(requests.longRun.visitors)} simulated visitors |`)
console.log('|---|---|---|---|---|---|')
for (const m of requests.modes) {
  const why = m.decisionMaxAgeMs
    ? `${n(m.expectedPer1000)}: ${m.expectedFirstViews} first views + ${m.expectedLaterViews} views whose stored decision was older than 5 min (one background request each) = ${m.expected}`
    : `${n(m.expectedPer1000)}: every view asks`
  console.log(`| ${m.decisionMaxAgeMs ? `${m.decisionMaxAgeMs} (5 min)` : '0 (off)'} | ${m.views} | ${m.requests} | ${n(m.per1000)} | ${why} | ${n(requests.longRun.per1000[m.decisionMaxAgeMs])} |`)
}
for (const m of requests.modes) {
  const statuses = Object.entries(m.statuses).map(([k, v]) => `${k}: ${v}`).join('; ')
  console.log(`decisionMaxAgeMs ${m.decisionMaxAgeMs}: status after start() — ${statuses}; requests seen in the pages ${m.requestsSeenInPages}; views that differed from the expectation ${m.mismatches.length}; views started late (the previous one outlasted the gap) ${m.shiftedViews}; ${n(m.seconds)} s`)
  for (const x of m.mismatches.slice(0, 5)) console.log(`  visitor ${x.visitor} view ${x.view} (${x.gapMs} ms after the previous): asked ${x.asked}, expected ${x.expected}`)
}

console.log(`\n== Navigation → first flag, repeat view vs first view (decisionMaxAgeMs ${MAX_AGE_MS})`)
const timing = await timingPart()
console.log(`(${timing.setup}; stored decision ${n(timing.storedAgeMs.median / 1000)} s old at the repeat views, median)`)
console.log(`| profile | first view, median (p10–p90) | repeat view, median (p10–p90) | repeat / first |`)
console.log('|---|---|---|---|')
for (const p of timing.profiles) {
  const range = (s) => `${n(s.median)} ms (${n(s.p10)}–${n(s.p90)})`
  console.log(`| ${p.label} | ${range(p.first)} | ${range(p.repeat)} | ${p.ratio.toFixed(2)}× |`)
}

const git = (...a) => execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim()
const results = {
  meta: {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    commit: git('rev-parse', 'HEAD'),
    dirty: git('status', '--porcelain', '--', 'src', 'js', 'Cargo.toml', 'Cargo.lock') !== '',
    node: process.version,
    cores: cpus().length,
    loadavgStart: loadAtStart,
    loadavgEnd: loadavg(),
    seconds: (Date.now() - started) / 1000,
  },
  requests,
  timing,
}
mkdirSync(path.dirname(JSON_OUT), { recursive: true })
writeFileSync(JSON_OUT, JSON.stringify(results, null, 2) + '\n')
console.log(`\n${n(results.meta.seconds)} s; load average ${loadAtStart.map((l) => l.toFixed(2)).join(' / ')} at the start, ${loadavg().map((l) => l.toFixed(2)).join(' / ')} at the end (${cpus().length} cores, shared)`)
console.log(`results: ${path.relative(process.cwd(), JSON_OUT) || JSON_OUT}`)
