// The classic script-tag build (pkg/web/flagship-segment.js) in headless Chromium, next to the real
// analytics.js 2.0 loaded by a snippet, in both orders. Needs `./run build` first.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { API_KEY, ENV_ID, launch, pkgDir, routeFlagship, routeSegment, segmentLoader, serve, until, watch } from './ship-support.mjs'

let browser, server

const tag = (attributes = `data-env-id="${ENV_ID}" data-api-key="${API_KEY}"`) =>
  `<script src="/assets/flagship-segment.js" ${attributes}></script>`
const html = (head) => ({ type: 'text/html', body: `<!doctype html><html><head>${head}</head><body></body></html>` })

before(async () => {
  browser = await launch()
  server = await serve({
    // The script and its .wasm live in a directory of their own, away from the page.
    '/assets/': path.join(pkgDir, 'web'),
    // Segment's standard snippet ends with analytics.page(): that call opens the gate (without
    // it the first exposure waits for segmentKnowsTimeoutMs, as long as the test's patience).
    '/shop/script-first.html': html(`${tag()}<script>${segmentLoader([['page']])}</script>`),
    '/shop/segment-first.html': html(`<script>${segmentLoader([['identify', 'user-42']])}</script>${tag()}`),
    '/shop/no-attributes.html': html(`${tag('')}<script>${segmentLoader()}</script>`),
    '/shop/visitor-attribute.html': html(tag(`data-env-id="${ENV_ID}" data-api-key="${API_KEY}" data-visitor-id="someone"`)),
  })
})

after(async () => {
  await browser?.close()
  await server?.close()
})

async function open(file) {
  const page = await browser.newPage()
  const log = watch(page)
  const flagship = await routeFlagship(page, { btnColor: 'blue', discount: 20 })
  await routeSegment(page)
  const wasm = []
  page.on('request', (r) => r.url().endsWith('.wasm') && wasm.push(r.url()))
  await page.goto(`${server.origin}/shop/${file}`)
  return { page, log, flagship, wasm }
}

const campaignsBody = (seen) => JSON.parse(seen.find((r) => r.url.includes('/campaigns')).body)

test('script before the Segment snippet: ready resolves and reads with the anonymousId', async () => {
  const { page, log, flagship, wasm } = await open('script-first.html')
  const read = await page.evaluate(async () => {
    const fs = await window.FlagshipSegment.ready
    return {
      color: fs.getFlag('btnColor', 'grey'),
      discount: fs.getFlag('discount', 0),
      missing: fs.getFlag('missing', 'fallback'),
      status: fs.status,
      visitorId: fs.visitorId,
      segmentAnonymousId: window.analytics.user().anonymousId(),
      version: window.FlagshipSegment.version,
    }
  })
  assert.deepEqual(
    { color: read.color, discount: read.discount, missing: read.missing, status: read.status },
    { color: 'blue', discount: 20, missing: 'fallback', status: 'READY' },
    log.join('\n'),
  )
  assert.match(read.segmentAnonymousId, /^[0-9a-f-]{36}$/)
  assert.equal(read.visitorId, read.segmentAnonymousId)
  assert.equal(campaignsBody(flagship).visitor_id, read.segmentAnonymousId)
  assert.match(read.version, /^\d+\.\d+\.\d+/)
  const activation = await until(() => flagship.find((r) => r.url.includes('/v2/activate')))
  assert.ok(activation, 'the first read sends an exposure')
  // The full module, which sent it, came from the script's directory, not the page's; the first
  // stage is inside the script.
  assert.deepEqual(wasm, [`${server.origin}/assets/flagship_segment_bg.wasm`])
  assert.equal(JSON.parse(activation.body).batch[0].vid, read.segmentAnonymousId)
  assert.ok(!log.some((l) => l.startsWith('pageerror')), log.join('\n'))
  await page.close()
})

test('Segment snippet before the script: an identified visitor decides with the userId', async () => {
  const { page, log, flagship } = await open('segment-first.html')
  const read = await page.evaluate(async () => {
    const fs = await window.FlagshipSegment.ready
    return {
      color: fs.getFlag('btnColor', 'grey'),
      visitorId: fs.visitorId,
      anonymousId: fs.anonymousId,
      segmentAnonymousId: window.analytics.user().anonymousId(),
    }
  })
  assert.equal(read.color, 'blue', log.join('\n'))
  assert.equal(read.visitorId, 'user-42')
  assert.equal(read.anonymousId, read.segmentAnonymousId)
  // analytics-next replays the snippet's identify() after it loads: the module may first read
  // (and ask for) the anonymous visitor, then follows identify. Every request carries one of the
  // two identities, and the one applied, the last, is user-42's.
  const asked = flagship.filter((r) => r.url.includes('/campaigns')).map((r) => JSON.parse(r.body))
  for (const body of asked) {
    assert.ok([read.segmentAnonymousId, 'user-42'].includes(body.visitor_id), JSON.stringify(body))
  }
  const body = asked.at(-1)
  assert.equal(body.visitor_id, 'user-42')
  assert.equal(body.anonymous_id, read.segmentAnonymousId)
  assert.ok(!log.some((l) => l.startsWith('pageerror')), log.join('\n'))
  await page.close()
})

test('without data attributes nothing loads until start(); ready then resolves to that module', async () => {
  const { page, log, flagship, wasm } = await open('no-attributes.html')
  assert.equal(await page.evaluate(() => typeof window.FlagshipSegment.start), 'function')
  await page.waitForFunction(() => window.analytics && window.analytics.initialized === true)
  assert.deepEqual(wasm, [], 'no .wasm fetched before start()')
  assert.equal(flagship.length, 0)
  const read = await page.evaluate(async (options) => {
    const started = await window.FlagshipSegment.start(options)
    const ready = await window.FlagshipSegment.ready
    return { same: started === ready, color: ready.getFlag('btnColor', 'grey') }
  }, { envId: 'env-from-page', apiKey: 'key-from-page-0123456789' })
  assert.deepEqual(read, { same: true, color: 'blue' }, log.join('\n'))
  assert.match(flagship.find((r) => r.url.includes('/campaigns')).url, /\/v2\/env-from-page\/campaigns/)
  await page.close()
})

test('a visitor ID attribute is refused: ready rejects with INVALID_OPTIONS and nothing is sent', async () => {
  const { page, flagship } = await open('visitor-attribute.html')
  const error = await page.evaluate(() =>
    window.FlagshipSegment.ready.then(
      () => null,
      (e) => ({ code: e.code, message: e.message }),
    ),
  )
  assert.equal(error?.code, 'INVALID_OPTIONS')
  assert.match(error.message, /visitorId/)
  assert.equal(flagship.length, 0)
  await page.close()
})
