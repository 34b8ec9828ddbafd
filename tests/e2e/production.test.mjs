// The module with its default endpoints and analytics-next with its default hosts, on a browser
// whose requests to AB Tasty and Segment are answered by the test: the production URLs are
// exercised without leaving the machine. Routed requests are forwarded to the emulator, so the
// connector still judges them as in the other tests.

import assert from 'node:assert/strict'
import { test } from 'node:test'

import { newPage, openBlank } from './support/browser.mjs'
import { API_KEY, ENV_ID } from './support/emulator.mjs'
import { withEmulatorAndBrowser } from './support/suite.mjs'
import { WRITE_KEY, loadLibraries, segmentIds, startModule, waitUntilReady } from './support/page.mjs'

const ROUTED_HOSTS = ['decision.flagship.io', 'events.flagship.io', 'api.segment.io', 'cdn.segment.com']

let emulator
let browser
withEmulatorAndBrowser((started) => ({ emulator, browser } = started))

test('default endpoints: decision.flagship.io, events.flagship.io and api.segment.io, routed', { timeout: 60_000 }, async () => {
  const { context, page, console: output } = await newPage(browser)
  const routed = []
  const elsewhere = []
  page.on('request', (request) => {
    const { host, origin } = new URL(request.url())
    if (origin !== emulator.origin && !ROUTED_HOSTS.includes(host)) elsewhere.push(request.url())
  })
  /** Answers `url`'s host from the emulator, keeping path, query, method, headers and body. */
  const forward = (toPath = (pathname) => pathname) => async (route) => {
    const request = route.request()
    const url = new URL(request.url())
    routed.push({ method: request.method(), url: url.href, headers: request.headers(), body: request.postData() })
    const response = await route.fetch({ url: `${emulator.origin}${toPath(url.pathname)}${url.search}` })
    await route.fulfill({ response })
  }
  await page.route('https://decision.flagship.io/**', forward())
  await page.route('https://events.flagship.io/**', forward())
  // analytics-next's calls live under /v1, as on the emulator; anything else (its telemetry)
  // has no emulator counterpart and is answered here.
  await page.route('https://api.segment.io/**', (route) =>
    new URL(route.request().url()).pathname.startsWith('/v1/')
      ? forward()(route)
      : route.fulfill({ status: 200, contentType: 'application/json', body: '{}' }),
  )
  // The project settings analytics-next asks Segment's CDN for, with no apiHost: it then sends
  // to its default host, api.segment.io.
  await page.route(`https://cdn.segment.com/v1/projects/${WRITE_KEY}/settings`, (route) => {
    routed.push({ method: route.request().method(), url: route.request().url() })
    return route.fulfill({
      contentType: 'application/json',
      headers: { 'access-control-allow-origin': '*' },
      body: JSON.stringify({ integrations: { 'Segment.io': { apiKey: WRITE_KEY } } }),
    })
  })

  try {
    await openBlank(page, emulator.origin)
    await loadLibraries(page, emulator, { settings: 'production' })
    const { anonymousId } = await segmentIds(page)
    assert.equal(await startModule(page, emulator, { productionEndpoints: true }), 'READY')
    await waitUntilReady(page, anonymousId)
    // The module holds its exposure and hit until Segment's page call has gone out.
    const accepted = await page.evaluate(async () => {
      void window.analytics.page()
      window.fs.getFlag('btnColor', 'none')
      const accepted = window.fs.track('production-check')
      await window.fs.flush()
      return accepted
    })
    assert.equal(accepted, true, 'track() refused the hit')
    // A hit held by the gate leaves on the next flush tick (5 s by default).
    const log = await emulator.waitForLog((log) => log.activations.length === 1 && log.hits.length === 1, {
      what: 'the exposure and the hit through the routed hosts',
      timeoutMs: 15_000,
    })

    const sent = (prefix) => routed.filter((r) => r.url.startsWith(prefix))
    const campaigns = sent(`https://decision.flagship.io/v2/${ENV_ID}/campaigns`)
    assert.deepEqual(
      campaigns.map((r) => r.url),
      [`https://decision.flagship.io/v2/${ENV_ID}/campaigns?exposeAllKeys=true`],
    )
    const body = JSON.parse(campaigns[0].body)
    assert.deepEqual({ visitor_id: body.visitor_id, anonymous_id: body.anonymous_id ?? null }, { visitor_id: anonymousId, anonymous_id: null })
    assert.equal(campaigns[0].headers['x-api-key'], API_KEY)

    const activations = sent('https://decision.flagship.io/v2/activate')
    assert.equal(activations.length, 1)
    assert.deepEqual(JSON.parse(activations[0].body).batch.map((a) => a.vid), [anonymousId])

    const events = sent('https://events.flagship.io/')
    assert.equal(events.length, 1, 'hits must go to https://events.flagship.io')
    const batch = JSON.parse(events[0].body)
    assert.deepEqual(
      (batch.t === 'BATCH' ? batch.h : [batch]).map((h) => ({ vid: h.vid, cuid: h.cuid ?? null, ea: h.ea })),
      [{ vid: anonymousId, cuid: null, ea: 'production-check' }],
    )

    assert.ok(sent('https://cdn.segment.com/').length >= 1, 'analytics-next did not ask the CDN for settings')
    assert.ok(sent('https://api.segment.io/v1/p').length >= 1, "Segment's page call did not go to api.segment.io")
    assert.deepEqual(elsewhere, [], 'requests to hosts no test answers')
    assert.deepEqual(log.dropped, [])
    assert.deepEqual(
      log.forwarded.map((f) => ({ source: f.source, anonymousId: f.anonymousId })).sort((a, b) => a.source.localeCompare(b.source)),
      [
        { source: 'activation', anonymousId },
        { source: 'hit', anonymousId },
      ],
    )
  } catch (error) {
    error.message += `\n--- page console ---\n${output.join('\n')}\n--- emulator ---\n${emulator.output().slice(-4_000)}`
    throw error
  } finally {
    // A request still in flight when the test ends (analytics-next's telemetry, say) must not
    // fail the run from a route handler after the context is gone.
    await page.unrouteAll({ behavior: 'ignoreErrors' })
    await context.close()
  }
})
