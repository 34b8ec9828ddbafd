// Page-level benchmark: navigation start → first flag value in hand, as a visitor pays it, for
// flagship-segment (`--target web` build) and the official @flagship.io/js-sdk, in Debian's headless
// Chromium. One local http server serves the pages, both modules (gzip -9, as a CDN would) and the
// Decision API; every load is a fresh browser context with Chromium's own throttling applied through
// CDP before navigation. Figures, not pass/fail. Run with `./run bench-page` (builds first).
//
//   node bench/page.mjs [--loads 15] [--ours DIR] [--json OUT] [--hardcoded mapped|intercepted]
//
// DIR: a `--target web` output directory (default pkg/web): DIR/flagship_segment.js is loaded as an
// ES module, the .wasm next to it. OUT (default target/bench-page/results.json) is read by
// bench/sdk.mjs for the top of BENCHMARKS.md.
//
// The official SDK 5.2.0 moves only its Decision API (`decisionApiUrl`); its other URLs are
// hard-coded: `Flagship.start` awaits `GET https://cdn.flagship.io/{envId}/accountSettings.json`
// in Decision API mode, activate goes to `https://decision.flagship.io/v2/activate`, hits to
// `https://events.flagship.io`. By default (`--hardcoded mapped`) Chromium resolves *.flagship.io
// and *.abtasty.com to an HTTPS listener of this same server (self-signed certificate made with
// openssl, `--host-resolver-rules`, `ignoreHTTPSErrors`), so those requests are real requests that
// Chromium's throttling applies to, like every other. `--hardcoded intercepted` answers them
// instead through CDP Fetch interception (instantly, unthrottled: only to compare).
import { build } from 'esbuild'
import { chromium as playwrightChromium } from 'playwright-core'
import { createServer } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { root, decision } from '../tests/e2e/ship-support.mjs'
import { summary } from './page-report.mjs'
import { PROFILES, TYPES, gzipFiles, median, rank } from './page-common.mjs'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : fallback
}
const LOADS = Number(arg('loads', 15))
const WARMUP = 1
const LINGER_MS = 600 // after the result: catch the requests each side sends after its first flag
const OURS_DIR = path.resolve(arg('ours', path.join(root, 'pkg/web')))
const JSON_OUT = path.resolve(arg('json', path.join(root, 'target/bench-page/results.json')))
const HARDCODED = arg('hardcoded', 'mapped')
if (!['mapped', 'intercepted'].includes(HARDCODED)) throw new Error('--hardcoded: mapped or intercepted')
const OUT = path.join(root, 'target/bench-page')
const ENV_ID = 'benchenv0123456789ab'
const API_KEY = 'benchkey0123456789abcdefghijklmnopqrstuv'
const ANON = '5a1b2c3d-0000-4000-a000-000000000001'
const RESULT_TAG = '__bench_page_result__'
const FLAGS = { btnColor: 'blue', discount: 20, banner: true }
// Hosts the official SDK calls that no option moves (see the top of this file).
const HOSTS = ['*.flagship.io', '*.abtasty.com']
// A minimal account-settings file: no Emotion AI, no troubleshooting (so no further requests).
const ACCOUNT_SETTINGS = { accountSettings: { enabledXPC: false, enabled1V1T: false, eaiCollectEnabled: false, eaiActivationEnabled: false } }
const loadAtStart = loadavg()
if (!(LOADS > 0)) throw new Error('--loads must be a positive number')

// ---------------------------------------------------------------------------------------------
// Files, precompressed once.
const { files, put, walk } = gzipFiles()
if (!existsSync(path.join(OURS_DIR, 'flagship_segment.js'))) throw new Error(`${OURS_DIR}/flagship_segment.js not found: run ./run build, or pass --ours DIR`)
walk(OURS_DIR, '/ours/')

mkdirSync(OUT, { recursive: true })
const theirsFile = path.join(OUT, 'flagship.js')
await build({
  stdin: { contents: "export { Flagship, DecisionMode, LogLevel } from '@flagship.io/js-sdk'\n", resolveDir: root, sourcefile: 'theirs-entry.js' },
  outfile: theirsFile,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
  logLevel: 'error',
  logOverride: { 'empty-import-meta': 'silent' },
})
put('/theirs/flagship.js', readFileSync(theirsFile), TYPES['.js'])

// The same fake loaded analytics.js on both pages (the shape of bench/ours.js).
const SEGMENT = `
const ANON = ${JSON.stringify(ANON)};
const user = { id: () => null, anonymousId: () => ANON, traits: () => ({}) };
window.analytics = { initialized: true, user: () => user, on() {}, off() {} };`
const page = (title, body, head = '') => `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${title}</title>${head}
<script type="module">
${body.trim()}
</script>
</head><body></body></html>
`
// The result goes out as one console message: the benchmark neither polls the page nor has
// Playwright inject its helper script into it while the clock runs.
const finish = `
window.result = { ms, value, marks, timeOrigin: performance.timeOrigin };
} catch (e) {
  window.result = { error: String(e && e.stack || e), timeOrigin: performance.timeOrigin };
}
console.log('${RESULT_TAG}', JSON.stringify(window.result));`
// A build whose start() needs no init() still gets init() called when it exports one. Two pages:
// as most pages are (no hint), and with the README's hint (a `modulepreload` of the module, which
// an inline module script like this one gains nothing from; a page whose bundle imports the
// module does).
const oursPage = (title, head) => Buffer.from(page(title, `
import * as flagship from './ours/flagship_segment.js';
try {
const marks = { script: performance.now() };
${SEGMENT}
if (typeof flagship.default === 'function') await flagship.default();
marks.loaded = performance.now();
const fs = await flagship.start({
  envId: ${JSON.stringify(ENV_ID)},
  apiKey: ${JSON.stringify(API_KEY)},
  endpoints: { decision: location.origin, events: location.origin + '/events' },
  logLevel: 'none',
});
marks.decided = performance.now();
const value = fs.getFlag('btnColor', 'grey');
const ms = performance.now();
${finish}`, head))
put('/ours.html', oursPage('flagship-segment'), TYPES['.html'])
put('/ours-hint.html', oursPage('flagship-segment, hint', `<link rel="modulepreload" href="./ours/flagship_segment.js">`), TYPES['.html'])
put('/theirs.html', Buffer.from(page('@flagship.io/js-sdk', `
import { Flagship, DecisionMode, LogLevel } from './theirs/flagship.js';
try {
const marks = { script: performance.now() };
${SEGMENT}
const visitorId = window.analytics.user().anonymousId();
await Flagship.start(${JSON.stringify(ENV_ID)}, ${JSON.stringify(API_KEY)}, {
  fetchNow: false,
  decisionMode: DecisionMode.DECISION_API,
  logLevel: LogLevel.NONE,
  decisionApiUrl: location.origin + '/v2/',
});
marks.loaded = performance.now();
const visitor = Flagship.newVisitor({ visitorId, hasConsented: true });
await visitor.fetchFlags();
marks.decided = performance.now();
const value = visitor.getFlag('btnColor').getValue('grey');
const ms = performance.now();
${finish}`)), TYPES['.html'])

// ---------------------------------------------------------------------------------------------
// The server: static files, the Decision API, activate, events. Same origin for everything.
// The HTTPS listener answers the official SDK's hard-coded hosts (mapped onto it by Chromium's
// host resolver): cross-origin for the page, so CORS headers and preflights there.
let served = [] // requests of the current load: {method, host, path, status}
const handler = (tls) => (req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    const url = new URL(req.url, 'http://127.0.0.1')
    const p = url.pathname
    const cors = tls
      ? { 'access-control-allow-origin': req.headers.origin ?? '*', 'access-control-allow-headers': '*', 'access-control-allow-methods': 'GET, POST, OPTIONS' }
      : {}
    const reply = (status, headers, body) => {
      served.push({ method: req.method, host: req.headers.host, path: p, status })
      res.writeHead(status, { 'cache-control': 'no-store', ...cors, ...headers })
      res.end(body)
    }
    if (tls) {
      if (req.method === 'OPTIONS') return reply(204, {}, '')
      if (req.method === 'GET' && p.endsWith('/accountSettings.json')) return reply(200, { 'content-type': 'application/json' }, JSON.stringify(ACCOUNT_SETTINGS))
    }
    const file = req.method === 'GET' && files.get(p)
    if (file) return reply(200, { 'content-type': file.type, 'content-encoding': 'gzip', 'content-length': file.body.length }, file.body)
    if (req.method === 'POST' && /^\/v2\/[^/]+\/campaigns$/.test(p)) {
      let visitor
      try { visitor = JSON.parse(Buffer.concat(chunks).toString()).visitor_id } catch {}
      const body = JSON.stringify(decision(visitor, FLAGS))
      return reply(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, body)
    }
    if (req.method === 'POST' && p === '/v2/activate') return reply(204, {}, '')
    if (p === '/events' || p.startsWith('/events/')) return reply(200, { 'content-type': 'application/json' }, '{}')
    if (tls && req.method === 'POST') return reply(200, { 'content-type': 'application/json' }, '{}') // hits, troubleshooting, usage
    reply(404, { 'content-type': 'text/plain' }, 'not found')
  })
}
const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
const server = await listen(createServer(handler(false)))
const origin = `http://127.0.0.1:${server.address().port}`
const tlsDir = path.join(OUT, 'tls')
mkdirSync(tlsDir, { recursive: true })
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
  '-subj', '/CN=flagship-segment bench', '-addext', `subjectAltName=${HOSTS.map((h) => `DNS:${h}`).join(',')}`,
  '-keyout', path.join(tlsDir, 'key.pem'), '-out', path.join(tlsDir, 'cert.pem')], { stdio: 'ignore' })
const tlsServer = await listen(createTlsServer({ key: readFileSync(path.join(tlsDir, 'key.pem')), cert: readFileSync(path.join(tlsDir, 'cert.pem')) }, handler(true)))

// ---------------------------------------------------------------------------------------------
// One load: fresh context, CDP session, throttling, navigation, result, bytes.
// The launcher of tests/e2e/support/browser.mjs (Debian's Chromium, never a download), plus the
// host mapping for the official SDK's hard-coded hosts.
const browser = await playwrightChromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  timeout: 30_000,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
    ...(HARDCODED === 'mapped' ? [`--host-resolver-rules=${HOSTS.map((h) => `MAP ${h} 127.0.0.1:${tlsServer.address().port}`).join(',')}`] : []),
  ],
})
const kind = (u) => {
  const p = u.startsWith(origin) ? new URL(u).pathname : u
  if (p.endsWith('.html')) return 'html'
  if (p.endsWith('.wasm')) return 'wasm'
  if (p.startsWith('/theirs/')) return 'bundle'
  if (p === '/ours/flagship_segment.js') return 'glue js'
  if (p.startsWith('/ours/')) return 'glue js (imported)'
  if (p.endsWith('/accountSettings.json')) return 'account settings'
  if (/\/campaigns/.test(p)) return 'decision API'
  if (/\/activate/.test(p)) return 'activate'
  if (p.startsWith('/events') || /events\./.test(p)) return 'events'
  return 'other'
}

async function load(side, profile) {
  served = []
  const context = await browser.newContext({ ignoreHTTPSErrors: HARDCODED === 'mapped' })
  const tab = await context.newPage()
  const cdp = await context.newCDPSession(tab)
  const requests = new Map()
  cdp.on('Network.requestWillBeSent', (e) => {
    if (e.request.url.startsWith('data:')) return
    requests.set(e.requestId, { url: e.request.url, method: e.request.method, start: e.timestamp, wall: e.wallTime, type: e.type })
  })
  cdp.on('Network.responseReceived', (e) => {
    const r = requests.get(e.requestId)
    if (r) Object.assign(r, { status: e.response.status, encoding: e.response.headers['content-encoding'] ?? e.response.headers['Content-Encoding'], protocol: e.response.protocol })
  })
  cdp.on('Network.loadingFinished', (e) => {
    const r = requests.get(e.requestId)
    if (r) Object.assign(r, { end: e.timestamp, bytes: e.encodedDataLength })
  })
  cdp.on('Network.loadingFailed', (e) => {
    const r = requests.get(e.requestId)
    if (r) Object.assign(r, { end: e.timestamp, failed: e.errorText })
  })
  const intercepted = []
  cdp.on('Fetch.requestPaused', (e) => {
    const { method, url } = e.request
    intercepted.push({ method, url })
    const cors = [
      { name: 'access-control-allow-origin', value: '*' },
      { name: 'access-control-allow-headers', value: '*' },
      { name: 'access-control-allow-methods', value: 'GET, POST, OPTIONS' },
    ]
    let status = 200
    let body = '{}'
    if (method === 'OPTIONS' || /\/v2\/activate/.test(url)) (status = 204), (body = '')
    else if (url.endsWith('/accountSettings.json')) body = JSON.stringify(ACCOUNT_SETTINGS)
    else if (/\/campaigns/.test(url)) body = JSON.stringify(decision(JSON.parse(e.request.postData ?? '{}').visitor_id, FLAGS))
    cdp
      .send('Fetch.fulfillRequest', {
        requestId: e.requestId,
        responseCode: status,
        responseHeaders: [...cors, { name: 'content-type', value: 'application/json' }],
        body: Buffer.from(body).toString('base64'),
      })
      .catch(() => {})
  })
  await cdp.send('Network.enable')
  if (HARDCODED === 'intercepted') await cdp.send('Fetch.enable', { patterns: HOSTS.map((h) => ({ urlPattern: `https://${h}/*`, requestStage: 'Request' })) })
  if (profile.network) await cdp.send('Network.emulateNetworkConditions', profile.network)
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: profile.cpuRate })
  const errors = []
  tab.on('pageerror', (e) => errors.push(e.message))
  const resulted = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${side} (${profile.label}): no result in 60 s\n${errors.join('\n')}`)), 60_000)
    tab.on('console', (m) => {
      const text = m.text()
      if (!text.startsWith(RESULT_TAG)) return errors.push(`${m.type()}: ${text}`)
      clearTimeout(timer)
      resolve(JSON.parse(text.slice(RESULT_TAG.length + 1)))
    })
  })
  await tab.goto(`${origin}/${side}.html`, { waitUntil: 'commit', timeout: 60_000 })
  const result = await resulted
  if (result.error || result.value !== 'blue') {
    throw new Error(`${side} (${profile.label}): ${result.error ?? `read ${JSON.stringify(result.value)}`}\n${errors.join('\n')}`)
  }
  await tab.waitForTimeout(LINGER_MS)
  // CPU throttle check: the same fixed loop on both pages, after the measurement.
  const cpuCheck = await tab.evaluate(() => {
    const t = performance.now()
    let s = 0
    for (let i = 0; i < 3e6; i++) s += Math.sqrt(i)
    return s > 0 ? performance.now() - t : -1
  })
  await context.close()
  // BENCH_PAGE_DEBUG=1: every request of every load, as the server and CDP saw it.
  if (process.env.BENCH_PAGE_DEBUG) console.log(side, profile.key, JSON.stringify({ served, requests: [...requests.values()] }, null, 1))

  // CDP timestamps are monotonic seconds; map the page's clock onto them through the document
  // request's wallTime: cutoff = the moment the flag was in hand.
  const all = [...requests.values()]
  const doc = all.find((r) => r.type === 'Document')
  const toPage = (ts) => (ts - doc.start) * 1000 + (doc.wall * 1000 - result.timeOrigin)
  for (const r of all) Object.assign(r, { startMs: toPage(r.start), endMs: r.end === undefined ? undefined : toPage(r.end) })
  const before = all.filter((r) => r.endMs !== undefined && r.endMs <= result.ms + 0.5)
  const after = all.filter((r) => !before.includes(r))
  for (const r of before) {
    if (r.failed || r.status >= 400) throw new Error(`${side}: ${r.method} ${r.url} failed before the first flag: ${r.failed ?? r.status}`)
    if (r.url.startsWith(origin) && files.has(new URL(r.url).pathname) && r.encoding !== 'gzip') throw new Error(`${side}: ${r.url} not gzip`)
  }
  // Sequential rounds: requests grouped while they overlap; a request starting after every
  // earlier one ended opens a new round.
  let rounds = 0
  let roundEnd = -Infinity
  for (const r of [...before].sort((a, b) => a.startMs - b.startMs)) {
    if (r.startMs >= roundEnd) rounds++
    roundEnd = Math.max(roundEnd, r.endMs)
  }
  const short = (u) => (u.startsWith(origin) ? u.slice(origin.length) : u)
  return {
    ms: result.ms,
    marks: result.marks,
    cpuCheck,
    rounds,
    bytes: before.reduce((a, r) => a + r.bytes, 0),
    before: before.map((r) => ({ path: short(r.url).replace(/\?.*/, ''), method: r.method, kind: kind(r.url), bytes: r.bytes, start: r.startMs, end: r.endMs })),
    after: after.map((r) => ({ method: r.method, url: short(r.url).replace(/\?.*/, ''), status: r.status, startedBefore: r.startMs <= result.ms, failed: r.failed })),
    intercepted,
    served,
  }
}

// ---------------------------------------------------------------------------------------------
// Runs: per profile, warm-up then LOADS per side, sides alternated.
const sides = ['ours', 'ours-hint', 'theirs']
const profiles = []
for (const profile of PROFILES) {
  console.log(`\n== ${profile.label}: ${WARMUP} warm-up + ${LOADS} loads per side`)
  for (let i = 0; i < WARMUP; i++) for (const side of sides) await load(side, profile)
  const loads = Object.fromEntries(sides.map((side) => [side, []]))
  for (let i = 0; i < LOADS; i++) {
    for (const side of i % 2 ? [...sides].reverse() : sides) {
      const l = await load(side, profile)
      loads[side].push(l)
      process.stdout.write(`${side} ${l.ms.toFixed(0)}  `)
    }
  }
  process.stdout.write('\n')
  const summarise = (ls) => {
    const ms = ls.map((l) => l.ms)
    // Per URL: median bytes, start and end over the loads (the set of URLs is the same each load).
    const byPath = new Map()
    for (const l of ls) for (const u of l.before) {
      const key = `${u.method} ${u.path}`
      if (!byPath.has(key)) byPath.set(key, { path: u.path, method: u.method, kind: u.kind, bytes: [], start: [], end: [], loads: 0 })
      const e = byPath.get(key)
      e.bytes.push(u.bytes), e.start.push(u.start), e.end.push(u.end), e.loads++
    }
    const before = [...byPath.values()]
      .map((e) => ({ path: e.path, method: e.method, kind: e.kind, loads: e.loads, bytes: median(e.bytes), start: median(e.start), end: median(e.end) }))
      .sort((a, b) => a.start - b.start)
    const afterBy = new Map() // one entry per request kind: in how many loads, started before the flag in how many
    for (const l of ls) {
      for (const a of l.after) {
        const key = JSON.stringify({ method: a.method, url: a.url, status: a.status, failed: a.failed })
        const e = afterBy.get(key) ?? { loads: new Set(), startedBefore: 0 }
        e.loads.add(l)
        e.startedBefore += a.startedBefore ? 1 : 0
        afterBy.set(key, e)
      }
    }
    return {
      ms,
      median: median(ms),
      p10: rank(ms, 0.1),
      p90: rank(ms, 0.9),
      min: Math.min(...ms),
      max: Math.max(...ms),
      marks: Object.fromEntries(Object.keys(ls[0].marks).map((k) => [k, median(ls.map((l) => l.marks[k]))])),
      bytes: median(ls.map((l) => l.bytes)),
      // The gzip bodies of the JS and wasm fetched before the first flag (no HTML, API or headers).
      moduleGzip: before.filter((u) => ['glue js', 'glue js (imported)', 'wasm', 'bundle'].includes(u.kind)).reduce((a, u) => a + files.get(u.path).gzip, 0),
      rounds: median(ls.map((l) => l.rounds)),
      requestsBefore: median(ls.map((l) => l.before.length)),
      before,
      after: [...afterBy].map(([k, e]) => ({ ...JSON.parse(k), loads: e.loads.size, startedBefore: e.startedBefore })),
      intercepted: [...new Set(ls.flatMap((l) => l.intercepted.map((i) => `${i.method} ${i.url.replace(/\?.*/, '')}`)))],
      cpuCheck: median(ls.map((l) => l.cpuCheck)),
    }
  }
  const s = Object.fromEntries(sides.map((side) => [side, summarise(loads[side])]))
  profiles.push({
    key: profile.key,
    label: profile.label,
    network: profile.network,
    cpuRate: profile.cpuRate,
    sides: s,
    ratio: s.ours.median / s.theirs.median,
    ratioHint: s['ours-hint'].median / s.theirs.median,
    cpuCheck: median(sides.flatMap((side) => loads[side]).map((l) => l.cpuCheck)),
  })
}
const chromium = browser.version()
await browser.close()
await Promise.all([server, tlsServer].map((s) => new Promise((resolve) => s.close(resolve))))

// ---------------------------------------------------------------------------------------------
// Results.
const version = (p) => JSON.parse(readFileSync(path.join(root, 'node_modules', p, 'package.json'), 'utf8')).version
const BUILD_INPUTS = ['src', 'js', 'Cargo.toml', 'Cargo.lock', 'scripts/package.mjs']
const git = (...a) => execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim()
let os = 'unknown'
try { os = execFileSync('sh', ['-c', '. /etc/os-release && echo "$PRETTY_NAME"'], { encoding: 'utf8' }).trim() } catch {}
const external = (p, s, list) => [...new Set(p.sides[s][list].map((u) => `${u.method} ${u.path ?? u.url}`).filter((u) => !u.split(' ')[1].startsWith('/')))]
const externalBefore = [...new Set(profiles.flatMap((p) => sides.flatMap((s) => external(p, s, 'before'))))]
const externalAfter = [...new Set(profiles.flatMap((p) => sides.flatMap((s) => external(p, s, 'after'))))]
const interceptedAll = [...new Set(profiles.flatMap((p) => sides.flatMap((s) => p.sides[s].intercepted)))]
const code = (xs) => xs.map((u) => `\`${u}\``).join(', ') || 'none'
const hardcodedNote = HARDCODED === 'mapped'
  ? `The official SDK ${version('@flagship.io/js-sdk')} moves only its Decision API (\`decisionApiUrl\`); its other URLs are hard-coded, so Chromium resolved ${HOSTS.map((h) => `\`${h}\``).join(' and ')} to an HTTPS listener of the same server (\`--host-resolver-rules\`, a self-signed certificate the contexts accept): those were real requests, throttled like the others, nothing was intercepted. Before the first flag: ${code(externalBefore)}; after it: ${code(externalAfter)}. A real visitor also pays DNS, TCP and TLS set-up for each extra origin, which Chromium's emulation does not model (it adds its latency per request).`
  : `The official SDK ${version('@flagship.io/js-sdk')}'s hard-coded URLs (only \`decisionApiUrl\` moves) were answered by CDP \`Fetch\` interception on ${HOSTS.map((h) => `\`https://${h}/*\``).join(', ')} only, instantly and unthrottled: ${code(interceptedAll)}.${externalBefore.length ? ` Of these, ${code(externalBefore)} came before the first flag, so this mode flatters the official SDK.` : ''}`
const results = {
  meta: {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    commit: git('rev-parse', 'HEAD'),
    // The last commit that changed what ./run build compiles: the build these figures are for.
    sourceCommit: git('log', '-1', '--format=%H', '--', ...BUILD_INPUTS),
    dirty: git('status', '--porcelain', '--', ...BUILD_INPUTS) !== '',
    oursDir: path.relative(root, OURS_DIR) || '.',
    oursFiles: Object.fromEntries([...files].filter(([p]) => p.startsWith('/ours/')).map(([p, f]) => [p, { raw: f.raw, gzip: f.gzip }])),
    theirsBundle: { raw: files.get('/theirs/flagship.js').raw, gzip: files.get('/theirs/flagship.js').gzip },
    sdkVersion: version('@flagship.io/js-sdk'),
    loads: LOADS,
    warmup: WARMUP,
    lingerMs: LINGER_MS,
    chromium,
    playwright: version('playwright-core'),
    esbuild: version('esbuild'),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown CPU',
    cores: cpus().length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    os,
    loadavgStart: loadAtStart,
    loadavgEnd: loadavg(),
    hardcoded: HARDCODED,
    externalBefore,
    externalAfter,
    interceptedRequests: interceptedAll,
    hardcodedNote,
  },
  profiles,
}
mkdirSync(path.dirname(JSON_OUT), { recursive: true })
writeFileSync(JSON_OUT, JSON.stringify(results, null, 2) + '\n')

console.log(`\nload average (1/5/15 min): ${loadAtStart.map((l) => l.toFixed(2)).join(' / ')} at the start, ${loadavg().map((l) => l.toFixed(2)).join(' / ')} at the end (${cpus().length} cores, shared)`)
console.log(`ours: ${results.meta.oursDir}; official: @flagship.io/js-sdk ${results.meta.sdkVersion}, esbuild bundle ${results.meta.theirsBundle.raw} B raw / ${results.meta.theirsBundle.gzip} B gzip`)
for (const p of profiles) {
  console.log(`${p.label}: in-page marks (median ms from navigation) ours ${JSON.stringify(roundAll(p.sides.ours.marks))}, official ${JSON.stringify(roundAll(p.sides.theirs.marks))}; CPU check loop ${p.cpuCheck.toFixed(1)} ms`)
}
console.log(hardcodedNote)
console.log()
console.log(summary(results))
console.log(`results: ${path.relative(process.cwd(), JSON_OUT) || JSON_OUT}`)

function roundAll(o) {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v)]))
}
