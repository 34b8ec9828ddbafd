// Issue 21 end to end: the web build's two stages with the real analytics-next and the emulator.
// The first flag comes from the first stage, carried inside pkg/web/flagship_segment.js, with no
// other file of the module fetched before it; the full module is fetched after and takes the
// visit over with the same decision (no second request) for the same identity, or decides again
// when Segment changed meanwhile; what the page did in between reaches AB Tasty once.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'

import { newPage, openBlank } from './support/browser.mjs'
import { pkgDir } from './ship-support.mjs'
import { withEmulatorAndBrowser } from './support/suite.mjs'
import { loadLibraries, segmentIds, startModule } from './support/page.mjs'

let emulator
let browser
withEmulatorAndBrowser((started) => ({ emulator, browser } = started))

/** The module's own files a page fetched, with when (ms since the test's start). */
function moduleRequests(page) {
  const seen = []
  const t0 = Date.now()
  page.on('request', (r) => {
    const { pathname } = new URL(r.url())
    if (/flagship_segment/.test(pathname)) seen.push({ path: pathname, at: Date.now() - t0 })
  })
  return seen
}

/** Holds every request for the full module's glue until `release()`. */
async function holdFullModule(page) {
  let release
  const released = new Promise((resolve) => (release = resolve))
  await page.route('**/flagship_segment_full.js', async (route) => {
    await released
    await route.continue()
  })
  return release
}

async function withPage(body) {
  const opened = await newPage(browser)
  try {
    await body(opened)
    assert.deepEqual(opened.errors, [], 'uncaught errors in the page')
  } catch (error) {
    error.message += `\n--- page console ---\n${opened.console.slice(-30).join('\n')}\n--- emulator ---\n${emulator.output().slice(-3_000)}`
    throw error
  } finally {
    await opened.context.close()
  }
}

const campaignsFor = (log) => log.decisions.filter((d) => d.endpoint === 'campaigns').map((d) => d.visitorId)

/** Records the `change` and `flags` events the page's handle fires, in `window.heard`. */
const listenToTheHandle = (page) =>
  page.evaluate(() => {
    window.heard = []
    // What a listener reads from the handle is what it would render.
    window.fs.on('change', ({ visitorId, reason }) => window.heard.push({ event: 'change', visitorId, reason, reads: window.fs.visitorId }))
    window.fs.on('flags', () => window.heard.push({ event: 'flags', reads: window.fs.visitorId }))
  })

test('the first flag needs no other file; the full module takes over with no second decision and sends the early exposure once', { timeout: 60_000 }, async () => {
  await withPage(async ({ page }) => {
    const requests = moduleRequests(page)
    await openBlank(page, emulator.origin)
    await loadLibraries(page, emulator)
    const release = await holdFullModule(page)
    assert.equal(await startModule(page, emulator), 'READY')
    const { anonymousId } = await segmentIds(page)
    const first = await page.evaluate(() => ({
      color: window.fs.getFlag('btnColor', 'none'),
      visitorId: window.fs.visitorId,
      stage: window.fs.diagnose().stage,
    }))
    assert.equal(first.stage, 'first', 'answered by the first stage')
    assert.equal(first.visitorId, anonymousId)
    await listenToTheHandle(page)
    assert.notEqual(first.color, 'none')
    assert.deepEqual(
      requests.map((r) => r.path),
      ['/pkg/web/flagship_segment.js', '/pkg/web/flagship_segment_full.js'],
      'the entry, then (after the first flag) the full module; no .wasm yet',
    )
    release()
    // Segment's page call opens the gate; a flush runs on the full module once it has taken over.
    await page.evaluate(async () => {
      await window.analytics.page()
      await window.fs.flush()
    })
    const after = await page.evaluate(() => ({ stage: window.fs.diagnose().stage, visitorId: window.fs.visitorId, color: window.fs.getFlag('btnColor', 'none') }))
    assert.deepEqual(after, { stage: undefined, visitorId: anonymousId, color: first.color }, 'the full module, same visitor, same flags')
    assert.deepEqual(await page.evaluate(() => window.heard), [], 'nothing changed for the page: no change, no flags event')
    const log = await emulator.waitForLog((l) => l.activations.length >= 1, { what: 'the early exposure' })
    assert.deepEqual(campaignsFor(log), [anonymousId], 'one decision: the full module used the first stage\'s')
    await page.waitForTimeout(1_000)
    const activations = (await emulator.log()).activations
    assert.equal(activations.length, 1, `activations: ${JSON.stringify(activations)}`)
    assert.equal(activations[0].visitorId ?? activations[0].vid, anonymousId)
    assert.ok(requests.some((r) => r.path === '/pkg/web/flagship_segment_bg.wasm'))
  })
})

test('Segment changed between the stages: the full module decides for the new identity, the page hears of it; what was done before and after the change carries the identity of its moment', { timeout: 60_000 }, async () => {
  await withPage(async ({ page }) => {
    await openBlank(page, emulator.origin)
    await loadLibraries(page, emulator)
    const release = await holdFullModule(page)
    assert.equal(await startModule(page, emulator), 'READY')
    const before = await segmentIds(page)
    await listenToTheHandle(page)
    const made = await page.evaluate(async () => {
      window.fs.getFlag('btnColor', 'none')
      window.fs.track('before-reset')
      await window.analytics.reset()
      return {
        // Served by the first stage from the old identity's flags: not an exposure of the new one.
        read: window.fs.getFlag('btnColor', 'none'),
        tracked: window.fs.track('after-reset'),
      }
    })
    assert.equal(made.tracked, true)
    const after = await segmentIds(page)
    assert.notEqual(after.anonymousId, before.anonymousId)
    release()
    await page.evaluate(async () => {
      await window.analytics.page()
      await window.fs.flush()
    })
    assert.equal(await page.evaluate(() => window.fs.visitorId), after.anonymousId)
    assert.deepEqual(
      await page.evaluate(() => window.heard),
      [
        { event: 'change', visitorId: after.anonymousId, reason: 'reset', reads: after.anonymousId },
        { event: 'flags', reads: after.anonymousId },
      ],
      'the page, rendering the old identity\'s flags, hears of the change and of the new flags, as it would had the full module been up',
    )
    const log = await emulator.waitForLog((l) => campaignsFor(l).length === 2, { what: 'the new identity\'s decision' })
    assert.deepEqual(campaignsFor(log), [before.anonymousId, after.anonymousId])
    await page.evaluate(() => window.fs.getFlag('btnColor', 'none'))
    const done = await emulator.waitForLog((l) => l.activations.length >= 2 && l.hits.filter((h) => /-reset$/.test(h.ea)).length >= 2, {
      what: 'both exposures and both hits',
      timeoutMs: 15_000,
    })
    void done
    await page.waitForTimeout(1_000)
    const final = await emulator.log()
    const activated = final.activations.map((a) => a.visitorId ?? a.vid).sort()
    assert.deepEqual(activated, [before.anonymousId, after.anonymousId].sort(), 'the read before the reset, and the new identity\'s read, once each')
    const hits = Object.fromEntries(final.hits.filter((h) => /-reset$/.test(h.ea)).map((h) => [h.ea, h.vid]))
    assert.deepEqual(hits, { 'before-reset': before.anonymousId, 'after-reset': after.anonymousId })
  })
})

test('offline right after the first flag: the full module loads once back online and sends what was tracked meanwhile, once', { timeout: 60_000 }, async () => {
  await withPage(async ({ context, page }) => {
    await openBlank(page, emulator.origin)
    await loadLibraries(page, emulator)
    const release = await holdFullModule(page)
    assert.equal(await startModule(page, emulator), 'READY')
    await context.setOffline(true)
    release()
    const accepted = await page.evaluate(() => window.fs.track('tracked-offline', { label: 'staged' }))
    assert.equal(accepted, true)
    await page.waitForTimeout(1_500)
    assert.equal(await page.evaluate(() => window.fs.diagnose().stage), 'first', 'still the first stage while offline')
    await context.setOffline(false)
    await page.evaluate(async () => {
      await window.analytics.page()
      await window.fs.flush()
    })
    await emulator.waitForLog((l) => l.hits.some((h) => h.ea === 'tracked-offline'), { what: 'the hit' })
    await page.waitForTimeout(1_000)
    const hits = (await emulator.log()).hits.filter((h) => h.ea === 'tracked-offline')
    assert.equal(hits.length, 1)
    assert.equal(hits[0].vid, (await segmentIds(page)).anonymousId)
  })
})

test('init({ module_or_path }) elsewhere: the full module, its glue and the bucketing engine come from there, each once', { timeout: 60_000 }, async () => {
  await withPage(async ({ page }) => {
    const requests = moduleRequests(page)
    // The page serves the module's files from /elsewhere/ (a CDN, say); only the entry is imported from /pkg/web/.
    await page.route(`${emulator.origin}/elsewhere/*`, (route) => {
      const file = path.basename(new URL(route.request().url()).pathname)
      const type = file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript'
      return route.fulfill({ body: readFileSync(path.join(pkgDir, 'web', file)), contentType: type })
    })
    await openBlank(page, emulator.origin)
    await loadLibraries(page, emulator)
    const status = await page.evaluate(async ({ origin }) => {
      await window.flagshipSegment.default({ module_or_path: `${origin}/elsewhere/flagship_segment_bg.wasm` })
      window.fs = await window.flagshipSegment.start({
        envId: 'e2e-env', apiKey: 'e2e-key', analytics: window.analytics, mode: 'bucketing',
        endpoints: { decision: origin, events: origin, cdn: origin },
      })
      await window.analytics.page()
      window.fs.getFlag('btnColor', 'none')
      await window.fs.flush()
      return window.fs.status
    }, { origin: emulator.origin })
    assert.equal(status, 'READY')
    const paths = requests.map((r) => r.path)
    assert.deepEqual(
      paths.filter((p) => p !== '/pkg/web/flagship_segment.js').sort(),
      ['/elsewhere/flagship_segment_bg.wasm', '/elsewhere/flagship_segment_bucketing.wasm', '/elsewhere/flagship_segment_full.js'].sort(),
      `each once, from where init() said: ${paths.join(', ')}`,
    )
    const log = await emulator.waitForLog((l) => l.activations.length >= 1, { what: 'the exposure' })
    assert.deepEqual(campaignsFor(log), [], 'decided locally')
  })
})

test('a read and a purchase, then a link followed before the full module loaded: the next page sends both, once', { timeout: 60_000 }, async () => {
  await withPage(async ({ page }) => {
    const next = `${emulator.origin}/__e2e_staged_next.html`
    await page.route(next, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>next</title>' }))
    await openBlank(page, emulator.origin)
    await loadLibraries(page, emulator)
    // The first page never gets its full module.
    await page.route('**/flagship_segment_full.js', () => {})
    assert.equal(await startModule(page, emulator), 'READY')
    const { anonymousId } = await segmentIds(page)
    const made = await page.evaluate(() => ({
      color: window.fs.getFlag('btnColor', 'none'),
      tracked: window.fs.track('purchase-before-load', { value: 42 }),
      refused: window.fs.track(''),
    }))
    assert.deepEqual({ tracked: made.tracked, refused: made.refused }, { tracked: true, refused: false })
    await page.goto(next)
    await page.unroute('**/flagship_segment_full.js')
    await loadLibraries(page, emulator)
    assert.equal(await startModule(page, emulator), 'READY')
    await page.evaluate(async () => {
      await window.analytics.page()
      await window.fs.flush()
    })
    const log = await emulator.waitForLog((l) => l.hits.some((h) => h.ea === 'purchase-before-load') && l.activations.length >= 1, {
      what: 'the first page\'s exposure and purchase',
    })
    await page.waitForTimeout(1_000)
    const after = await emulator.log()
    assert.equal(after.hits.filter((h) => h.ea === 'purchase-before-load').length, 1, 'the purchase, once')
    assert.equal(after.activations.length, 1, 'the exposure, once')
    assert.equal(after.hits.find((h) => h.ea === 'purchase-before-load').vid, anonymousId)
    assert.equal(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.includes(':early:')).length), 0, 'the record is gone')
    void log
  })
})

// Browsers without the newer APIs the entry prefers: without `Uint8Array.fromBase64` the stage is
// decoded by a loop, without `WebAssembly.compileStreaming` compiled once inflated, and without
// `DecompressionStream` the full module starts alone.
for (const [missing, remove, stage] of [
  ['Uint8Array.fromBase64', () => delete Uint8Array.fromBase64, 'first'],
  ['WebAssembly.compileStreaming', () => delete WebAssembly.compileStreaming, 'first'],
  ['DecompressionStream', () => delete globalThis.DecompressionStream, undefined],
]) {
  test(`without ${missing}, the first flag comes from ${stage ? 'the first stage' : 'the full module alone'}`, { timeout: 60_000 }, async () => {
    await withPage(async ({ page }) => {
      await page.addInitScript(remove)
      await openBlank(page, emulator.origin)
      await loadLibraries(page, emulator)
      // Held, so that the read below is the first stage's however fast the full module loads
      // (a loaded machine once saw it taken over already); without a stage, start() needs it.
      const release = stage ? await holdFullModule(page) : () => {}
      assert.equal(await startModule(page, emulator), 'READY')
      const { anonymousId } = await segmentIds(page)
      const read = await page.evaluate(() => ({
        gone: [typeof Uint8Array.fromBase64, typeof WebAssembly.compileStreaming, typeof globalThis.DecompressionStream].includes('undefined'),
        color: window.fs.getFlag('btnColor', 'none'),
        visitorId: window.fs.visitorId,
        stage: window.fs.diagnose().stage,
      }))
      assert.deepEqual(read, { gone: true, color: read.color, visitorId: anonymousId, stage })
      assert.notEqual(read.color, 'none')
      release()
    })
  })
}

test('consent, identify and hits during the first stage reach AB Tasty as the full module would send them', { timeout: 60_000 }, async () => {
  await withPage(async ({ page }) => {
    await openBlank(page, emulator.origin)
    await loadLibraries(page, emulator)
    const release = await holdFullModule(page)
    assert.equal(await startModule(page, emulator, { consent: false }), 'READY')
    const { anonymousId } = await segmentIds(page)
    const made = await page.evaluate(async () => {
      const fs = window.fs
      const results = { withoutConsent: fs.track('no-consent') }
      fs.getFlag('btnColor', 'none') // no consent: not an exposure
      fs.setConsent(true)
      fs.getFlag('btnColor', 'none')
      results.anonymous = fs.track('stage-anonymous')
      await window.analytics.identify('user-stage')
      results.identified = fs.track('stage-identified')
      results.nan = fs.transaction({ id: 'T-nan', affiliation: 'shop', revenue: NaN })
      return results
    })
    assert.deepEqual(made, { withoutConsent: false, anonymous: true, identified: true, nan: false })
    release()
    await page.evaluate(async () => {
      await window.analytics.page()
      await window.fs.flush()
    })
    const log = await emulator.waitForLog(
      (l) => l.activations.length >= 1 && l.hits.filter((h) => /^stage-/.test(h.ea)).length >= 2,
      { what: 'the exposure and both hits', timeoutMs: 15_000 },
    )
    void log
    await page.waitForTimeout(1_000)
    const final = await emulator.log()
    assert.equal(final.activations.length, 1, 'the read made with consent, once')
    assert.equal(final.activations[0].visitorId ?? final.activations[0].vid, anonymousId, 'made before identify')
    const hits = final.hits.filter((h) => /^stage-/.test(h.ea)).map((h) => ({ ea: h.ea, vid: h.vid, cuid: h.cuid ?? null }))
    assert.deepEqual(hits.sort((a, b) => a.ea.localeCompare(b.ea)), [
      { ea: 'stage-anonymous', vid: anonymousId, cuid: null },
      { ea: 'stage-identified', vid: anonymousId, cuid: 'user-stage' },
    ])
    assert.equal(final.hits.filter((h) => h.ea === 'fs_consent').length, 1, 'the consent hit, once')
    assert.ok(!final.hits.some((h) => h.ea === 'no-consent' || h.tid === 'T-nan'))
    assert.equal(await page.evaluate(() => window.fs.visitorId), 'user-stage')
  })
})

// The record a hidden page leaves is taken back when it is shown again: removed if still there
// (the page sends what it held itself), dropped if another page took it in meanwhile (here
// another tab, the record aged past the five minutes after which a tab counts as closed).
for (const takenElsewhere of [false, true]) {
  test(`hidden before its full module loaded, then shown again${takenElsewhere ? ' after another tab sent its record' : ''}: each hit reaches AB Tasty once`, { timeout: 60_000 }, async () => {
    await withPage(async ({ context, page }) => {
      await openBlank(page, emulator.origin)
      await loadLibraries(page, emulator)
      const release = await holdFullModule(page)
      assert.equal(await startModule(page, emulator), 'READY')
      const action = takenElsewhere ? 'purchase-taken' : 'purchase-kept'
      const visibility = (state) =>
        page.evaluate((state) => {
          Object.defineProperty(document, 'visibilityState', { value: state, configurable: true })
          document.dispatchEvent(new Event('visibilitychange'))
        }, state)
      const records = () => page.evaluate(() => Object.keys(localStorage).filter((k) => k.includes(':early:')))
      await page.evaluate((action) => window.fs.track(action, { value: 1 }), action)
      await visibility('hidden')
      const [record] = await records()
      assert.ok(record, 'a record for the next page')
      if (takenElsewhere) {
        await page.evaluate((key) => {
          const stored = JSON.parse(localStorage.getItem(key))
          localStorage.setItem(key, JSON.stringify({ ...stored, at: Date.now() - 6 * 60_000 }))
        }, record)
        const other = await context.newPage()
        await openBlank(other, emulator.origin)
        await loadLibraries(other, emulator)
        assert.equal(await startModule(other, emulator), 'READY')
        await other.evaluate(async () => {
          await window.analytics.page()
          await window.fs.flush()
        })
        await emulator.waitForLog((l) => l.hits.some((h) => h.ea === action), { what: 'the other tab sending the record', timeoutMs: 15_000 })
        assert.deepEqual(await records(), [], 'taken in')
      }
      await visibility('visible')
      assert.deepEqual(await records(), [], 'taken back')
      release()
      await page.evaluate(async () => {
        await window.analytics.page()
        await window.fs.flush()
      })
      await emulator.waitForLog((l) => l.hits.some((h) => h.ea === action), { what: action, timeoutMs: 15_000 })
      await page.waitForTimeout(1_500)
      const sent = (await emulator.log()).hits.filter((h) => h.ea === action)
      assert.equal(sent.length, 1, `${action}: ${JSON.stringify(sent)}`)
    })
  })
}
