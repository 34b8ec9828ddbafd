// Strict Content Security Policy: the module starts and reads a flag on a page served with
//   default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' <Flagship hosts>
// through both browser builds (classic script tag and ES module), and no violation is reported.
// Controls prove the watch is not blind: an inline script, and a policy without
// 'wasm-unsafe-eval', are reported. Needs `./run build` first.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { API_KEY, ENV_ID, launch, pkgDir, routeFlagship, serve, until, watch } from './ship-support.mjs'

const CONNECT = "connect-src 'self' https://decision.flagship.io https://events.flagship.io"
const STRICT = `default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; ${CONNECT}`
const NO_WASM = `default-src 'self'; script-src 'self'; ${CONNECT}`

// Every script is a same-origin file: the first records violations before anything else runs.
const files = {
  '/watch.js': `window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || ''));
  document.documentElement.setAttribute('data-violations', String(window.__violations.length));
});`,
  // A loaded analytics.js 2.0, as far as identity goes.
  '/segment.js': `window.analytics = { initialized: true, on: function () {}, off: function () {},
  user: function () { return { id: function () { return 'user-csp'; },
    anonymousId: function () { return 'anon-csp'; }, traits: function () { return {}; } }; } };`,
  // Classic build: wait for the tag's module, then show the flag.
  '/app-classic.js': `window.FlagshipSegment.ready.then(function (fs) {
  document.body.setAttribute('data-flag', String(fs.getFlag('btnColor', 'grey')));
  document.body.setAttribute('data-status', fs.status);
}, function (e) { document.body.setAttribute('data-error', e.message); });`,
  // ES module build.
  '/app-module.js': `import init, { start } from '/pkg/web/flagship_segment.js';
try {
  await init();
  const fs = await start({ envId: '${ENV_ID}', apiKey: '${API_KEY}' });
  document.body.setAttribute('data-flag', String(fs.getFlag('btnColor', 'grey')));
  document.body.setAttribute('data-status', fs.status);
} catch (e) {
  document.body.setAttribute('data-error', String(e && e.message));
}`,
}

const page = (body) => `<!doctype html><html><head><script src="/watch.js"></script><script src="/segment.js"></script></head><body>${body}</body></html>`
const pages = {
  '/classic.html': page(`<script src="/pkg/web/flagship-segment.js" data-env-id="${ENV_ID}" data-api-key="${API_KEY}"></script><script src="/app-classic.js"></script>`),
  '/module.html': page('<script type="module" src="/app-module.js"></script>'),
  '/inline.html': page('<script>document.body.setAttribute("data-inline", "ran")</script>'),
}

let browser, server

before(async () => {
  browser = await launch()
  const mounts = { '/pkg/web/': path.join(pkgDir, 'web') }
  for (const [url, body] of Object.entries(files)) mounts[url] = { type: 'text/javascript', body }
  for (const [url, body] of Object.entries(pages)) mounts[url] = { type: 'text/html', body }
  mounts['/no-wasm/classic.html'] = mounts['/classic.html']
  server = await serve(mounts, {
    headers: (url) =>
      url.pathname.endsWith('.html')
        ? { 'content-security-policy': url.pathname.startsWith('/no-wasm/') ? NO_WASM : STRICT }
        : {},
  })
})

after(async () => {
  await browser?.close()
  await server?.close()
})

async function load(url) {
  const context = await browser.newContext() // bypassCSP stays false: the policy applies
  const tab = await context.newPage()
  const log = watch(tab)
  const flagship = await routeFlagship(tab, { btnColor: 'blue' })
  const response = await tab.goto(`${server.origin}${url}`)
  assert.ok((await response.headerValue('content-security-policy')).includes("script-src 'self'"))
  await tab.waitForFunction(
    () => document.body && (document.body.hasAttribute('data-flag') || document.body.hasAttribute('data-error') ||
      document.documentElement.hasAttribute('data-violations')),
    null,
    { timeout: 10_000 },
  )
  const state = await tab.evaluate(() => ({
    flag: document.body.getAttribute('data-flag'),
    status: document.body.getAttribute('data-status'),
    error: document.body.getAttribute('data-error'),
    inline: document.body.getAttribute('data-inline'),
    violations: window.__violations,
  }))
  return { context, tab, log, flagship, state }
}

const cspConsole = (log) => log.filter((l) => /Content Security Policy|Refused to/i.test(l))

for (const [name, url] of [['classic script tag', '/classic.html'], ['ES module', '/module.html']]) {
  test(`${name}: starts and reads a flag under a strict CSP with no violation`, async () => {
    const { context, log, flagship, state } = await load(url)
    assert.equal(state.error, null, log.join('\n'))
    assert.equal(state.flag, 'blue', log.join('\n'))
    assert.equal(state.status, 'READY')
    assert.equal(JSON.parse(flagship.find((r) => r.url.includes('/campaigns')).body).visitor_id, 'user-csp')
    // The exposure goes out too (connect-src allows it), held by the seen-by-Segment gate for
    // its 5 s (this Segment reports no call) once the full module has taken over; then nothing
    // was refused.
    assert.ok(await until(() => flagship.find((r) => r.url.includes('/v2/activate')), 10_000))
    assert.deepEqual(state.violations, [])
    assert.deepEqual(cspConsole(log), [])
    await context.close()
  })
}

test('control: an inline script on the same policy is refused and reported', async () => {
  const context = await browser.newContext()
  const tab = await context.newPage()
  const log = watch(tab)
  await tab.goto(`${server.origin}/inline.html`)
  await tab.waitForFunction(() => document.documentElement.hasAttribute('data-violations'))
  const state = await tab.evaluate(() => ({ inline: document.body.getAttribute('data-inline'), violations: window.__violations }))
  assert.equal(state.inline, null)
  assert.match(state.violations[0], /^script-src/)
  assert.ok(cspConsole(log).length > 0)
  await context.close()
})

test("control: without 'wasm-unsafe-eval' the wasm is refused and ready rejects", async () => {
  const { context, tab } = await load('/no-wasm/classic.html')
  await tab.waitForFunction(() => document.body.hasAttribute('data-error'), null, { timeout: 10_000 })
  const state = await tab.evaluate(() => ({
    flag: document.body.getAttribute('data-flag'),
    error: document.body.getAttribute('data-error'),
    violations: window.__violations,
  }))
  assert.equal(state.flag, null)
  assert.match(state.error, /WebAssembly/)
  assert.deepEqual(state.violations, ['script-src wasm-eval'])
  await context.close()
})
