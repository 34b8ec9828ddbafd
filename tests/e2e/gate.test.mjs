// The seen-by-Segment gate against the real analytics-next and the emulator's connector: a fresh
// visitor's first exposure reaches AB Tasty before Segment has delivered anything about them.
// With the gate (the default) the module holds it and the connector forwards it; without, the
// connector does not know the visitor yet and drops it, which is the loss the gate prevents.

import assert from 'node:assert/strict'
import { test } from 'node:test'

import { newPage, openBlank } from './support/browser.mjs'
import { withEmulatorAndBrowser } from './support/suite.mjs'
import { loadLibraries, segmentIds, startModule, waitUntilReady } from './support/page.mjs'

/** Segment's calls are held this long on their way, as on a slow network. */
const SEGMENT_DELAY_MS = 600

let emulator
let browser
withEmulatorAndBrowser((started) => ({ emulator, browser } = started))

/** A fresh visitor's page: Segment's page call and the module's first exposure race. */
async function firstExposure(ensureSegmentKnows) {
  const { context, page } = await newPage(browser)
  try {
    await openBlank(page, emulator.origin)
    await loadLibraries(page, emulator)
    await page.route(`${emulator.origin}/v1/*`, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, SEGMENT_DELAY_MS))
      await route.continue()
    })
    const { anonymousId } = await segmentIds(page)
    assert.equal(await startModule(page, emulator, { ensureSegmentKnows }), 'READY')
    await waitUntilReady(page, anonymousId)
    await page.evaluate(() => {
      void window.analytics.page()
      window.fs.getFlag('btnColor', 'none')
    })
    await emulator.waitForLog((log) => log.activations.length >= 1 && log.segment.length >= 1, {
      what: 'the exposure and Segment page call',
      timeoutMs: 15_000,
    })
    return { log: await emulator.log(), anonymousId }
  } finally {
    await page.unrouteAll({ behavior: 'ignoreErrors' })
    await context.close()
  }
}

test('with the gate, the first exposure of a fresh visitor is forwarded', { timeout: 60_000 }, async () => {
  const { log, anonymousId } = await firstExposure('wait')
  assert.deepEqual(log.dropped, [], 'the connector dropped the exposure')
  const forwarded = log.forwarded.filter((f) => f.source === 'activation')
  assert.equal(forwarded.length, 1)
  assert.equal(forwarded[0].anonymousId, anonymousId)
})

test('without the gate, the same exposure is dropped by the connector', { timeout: 60_000 }, async () => {
  const { log } = await firstExposure('off')
  assert.ok(log.dropped.length >= 1, 'nothing dropped: the race this test stages did not happen')
  assert.equal(log.forwarded.filter((f) => f.source === 'activation').length, 0)
})
