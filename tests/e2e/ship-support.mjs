// Shared by the shipping checks (npm-package, script-tag, csp): Debian's Chromium through
// playwright-core, a static server on 127.0.0.1, the Flagship hosts answered by `page.route`, and
// the real analytics.js 2.0 (from node_modules) behind a hand-written loader snippet. No network:
// every URL a page asks for is either on 127.0.0.1 or answered by a route.

import { createServer } from 'node:http'
import { readFile, stat } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const pkgDir = path.join(root, 'pkg')

export const ENV_ID = 'env-ship-e2e'
export const API_KEY = 'key-ship-e2e-0123456789'
export const WRITE_KEY = 'writeKeyShipE2e'

export { launch } from './support/browser.mjs'

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
}

/**
 * Serves files on 127.0.0.1 (port chosen by the OS). `mounts` maps a URL prefix to a directory
 * (`{'/': dir, '/pkg/': pkgDir}`) or, for a single URL, to `{body, type}`; `headers(url)` adds
 * response headers (a CSP, say). Resolves to `{origin, close()}`.
 */
export async function serve(mounts, { headers = () => ({}) } = {}) {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length)
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1')
    const prefix = prefixes.find((p) => url.pathname === p || (p.endsWith('/') && url.pathname.startsWith(p)))
    const mount = prefix && mounts[prefix]
    try {
      let body, type
      if (mount && typeof mount === 'object') {
        ;({ body, type } = mount)
      } else if (mount) {
        let file = path.join(mount, decodeURIComponent(url.pathname.slice(prefix.length)))
        if (!file.startsWith(mount)) throw new Error('outside the mount')
        if ((await stat(file)).isDirectory()) file = path.join(file, 'index.html')
        body = await readFile(file)
        type = TYPES[path.extname(file)] ?? 'application/octet-stream'
      } else {
        throw new Error('no mount')
      }
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store', ...headers(url) })
      res.end(body)
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' })
      res.end('not found')
    }
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}

/** A Decision API answer giving `flags` to `visitorId` from one campaign. */
export function decision(visitorId, flags) {
  return {
    visitorId,
    campaigns: [
      {
        id: 'c-ship',
        name: 'Ship',
        slug: 'ship',
        type: 'ab',
        variationGroupId: 'vg-ship',
        variationGroupName: 'Everyone',
        variation: { id: 'v-ship', name: 'B', reference: false, modifications: { type: 'FLAG', value: flags } },
      },
    ],
  }
}

/**
 * Answers the Flagship hosts from the test, instantly: `/campaigns` with `flags` for whoever is
 * asked about, `/activate` with 204, the hit collector with 200. Returns the requests seen
 * (`{url, body}`), so a test can check which visitor the module asked for.
 */
export async function routeFlagship(page, flags) {
  const seen = []
  await page.route(/^https:\/\/(decision|events|cdn)\.flagship\.io\//, async (route) => {
    const request = route.request()
    const url = request.url()
    const body = request.postData()
    seen.push({ url, body })
    if (request.method() === 'OPTIONS') {
      return route.fulfill({ status: 204, headers: cors() })
    }
    if (/\/v2\/[^/]+\/campaigns/.test(url)) {
      const visitor = JSON.parse(body).visitor_id
      return route.fulfill({ status: 200, headers: cors(), contentType: 'application/json', body: JSON.stringify(decision(visitor, flags)) })
    }
    if (url.includes('/v2/activate')) return route.fulfill({ status: 204, headers: cors() })
    return route.fulfill({ status: 200, headers: cors(), contentType: 'application/json', body: '{}' })
  })
  return seen
}

function cors() {
  return {
    'access-control-allow-origin': '*',
    'access-control-allow-headers': '*',
    'access-control-allow-methods': 'GET, POST, OPTIONS',
  }
}

const ajsDir = path.join(root, 'node_modules/@segment/analytics-next/dist/umd')

/**
 * Serves analytics.js 2.0 as Segment's CDN would (the standalone build from node_modules, its
 * lazily loaded bundles, and settings that send events nowhere but a route answering 200).
 */
export async function routeSegment(page) {
  await page.route(/^https:\/\/cdn\.segment\.com\//, async (route) => {
    const url = new URL(route.request().url())
    if (url.pathname.endsWith('/settings')) {
      return route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ integrations: { 'Segment.io': { apiKey: WRITE_KEY } }, plan: {}, edgeFunction: {} }),
      })
    }
    const name = url.pathname.endsWith('analytics.min.js') ? 'standalone.js' : path.basename(url.pathname)
    try {
      return route.fulfill({ status: 200, contentType: 'text/javascript', body: await readFile(path.join(ajsDir, name)) })
    } catch {
      return route.fulfill({ status: 404, body: '' })
    }
  })
  await page.route(/^https:\/\/api\.segment\.io\//, (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: '{"success":true}' }),
  )
}

/**
 * A page's loader for analytics.js, written for these tests (not Segment's snippet): a stub array
 * that buffers calls, then the CDN script, as real pages do. `calls` are buffered before load.
 */
export function segmentLoader(calls = []) {
  return `
(function () {
  var stub = [];
  stub.invoked = true;
  stub._writeKey = ${JSON.stringify(WRITE_KEY)};
  ['track', 'page', 'identify', 'reset', 'on', 'ready', 'register', 'setAnonymousId'].forEach(function (m) {
    stub[m] = function () { stub.push([m].concat([].slice.call(arguments))); return stub; };
  });
  window.analytics = stub;
  ${calls.map((c) => `stub.${c[0]}.apply(stub, ${JSON.stringify(c.slice(1))});`).join('\n  ')}
  var s = document.createElement('script');
  s.async = true;
  s.src = 'https://cdn.segment.com/analytics.js/v1/${WRITE_KEY}/analytics.min.js';
  document.head.appendChild(s);
})();`
}

/** Collects console lines and page errors for failure messages and assertions. */
export function watch(page) {
  const log = []
  page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`))
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`))
  return log
}

/** Polls `check` until it returns something truthy (resolved to it) or `ms` pass (undefined). */
export async function until(check, ms = 5000) {
  const deadline = Date.now() + ms
  for (;;) {
    const value = check()
    if (value || Date.now() > deadline) return value || undefined
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
