// The failure flagship-segment exists to prevent: a page that talks to Flagship with a visitor
// ID of its own (as a Flagship snippet minting its own ID would) sends events AB Tasty's
// SegmentIO connector cannot attach to any Segment profile, so they are dropped. The module's
// own exposure, in the same page and for the same variation, goes through.

import assert from 'node:assert/strict'
import { test } from 'node:test'

import { newPage, openBlank } from './support/browser.mjs'
import { ENV_ID } from './support/emulator.mjs'
import { withEmulatorAndBrowser } from './support/suite.mjs'
import { loadLibraries, segmentIds, startModule, waitUntilReady } from './support/page.mjs'

let emulator
let browser
withEmulatorAndBrowser((started) => ({ emulator, browser } = started))

test("an activation and a hit sent with a made-up visitor ID are dropped; the module's are not", { timeout: 60_000 }, async () => {
  const { context, page, console: output } = await newPage(browser)
  try {
    await openBlank(page, emulator.origin)
    // Settings from the emulator's CDN endpoint this time, so that path is exercised too.
    await loadLibraries(page, emulator, { settings: 'emulator-cdn' })
    const { anonymousId } = await segmentIds(page)
    assert.equal(await startModule(page, emulator), 'READY')
    await waitUntilReady(page, anonymousId)
    // The module's exposure waits for Segment's page call (its seen-by-Segment gate).
    const meta = await page.evaluate(() => {
      void window.analytics.page()
      window.fs.getFlag('btnColor', 'none')
      return window.fs.flagMetadata('btnColor')
    })
    assert.ok(meta, 'btnColor has no campaign')

    // The bypass: same variation, but its own visitor ID, straight to the emulator.
    const ownId = await page.evaluate(
      async ({ envId, caid, vaid }) => {
        const ownId = `own-${crypto.randomUUID()}`
        const post = (path, body) =>
          fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
        const activation = await post('/v2/activate', { cid: envId, batch: [{ vid: ownId, aid: null, caid, vaid, qt: 0 }] })
        const hit = await post('/events', { cid: envId, ds: 'APP', t: 'EVENT', vid: ownId, ec: 'Action Tracking', ea: 'purchase' })
        if (activation.status !== 204 || hit.status !== 200) throw new Error(`bypass answered ${activation.status}/${hit.status}`)
        return ownId
      },
      { envId: ENV_ID, caid: meta.variationGroupId, vaid: meta.variationId },
    )

    const log = await emulator.waitForLog((log) => log.activations.length === 2 && log.hits.length === 1, {
      what: "the module's and the bypass's items",
    })
    assert.deepEqual(
      log.dropped.map((d) => ({ source: d.source, vid: d.vid, reason: d.reason })).sort((a, b) => a.source.localeCompare(b.source)),
      [
        { source: 'activation', vid: ownId, reason: 'vid was never sent by Segment' },
        { source: 'hit', vid: ownId, reason: 'vid was never sent by Segment' },
      ],
    )
    assert.equal(log.counters.dropped, 2)
    assert.deepEqual(
      log.forwarded.map((f) => ({ event: f.event, anonymousId: f.anonymousId, variation: f.properties.variation_id })),
      [{ event: 'Experiment Viewed', anonymousId, variation: meta.variationId }],
      "the module's exposure must be the one forwarded",
    )
    assert.deepEqual(log.rejected, [], 'the bypass items must be well-formed, so only the ID is at fault')
  } catch (error) {
    error.message += `\n--- page console ---\n${output.join('\n')}\n--- emulator ---\n${emulator.output().slice(-4_000)}`
    throw error
  } finally {
    await context.close()
  }
})
