// anonymous → identify → reset with the real analytics-next: every request the module makes
// carries the Segment ID of that moment (contract §2), and AB Tasty's connector, played by the
// emulator, forwards every activation and hit because the module's seen-by-Segment gate held
// them until Segment had sent a call with that ID.

import assert from 'node:assert/strict'
import { test } from 'node:test'

import { newPage, openBlank } from './support/browser.mjs'
import { withEmulatorAndBrowser } from './support/suite.mjs'
import { loadLibraries, segmentIds, startModule, waitUntilReady } from './support/page.mjs'

/** How long each of Segment's calls is held on its way to the emulator. */
const SEGMENT_DELAY_MS = 400

/** One flag per campaign of www/bucketing.json, each set for every visitor. */
const FLAGS = { btnColor: 'none', newCheckout: false, bannerText: '' }

let emulator
let browser
withEmulatorAndBrowser((started) => ({ emulator, browser } = started))

/** Reads every flag of FLAGS (one exposure each) and returns what the page saw. */
function readFlags(page) {
  return page.evaluate((flags) => {
    const values = {}
    const variations = []
    for (const [key, fallback] of Object.entries(flags)) {
      values[key] = window.fs.getFlag(key, fallback)
      const meta = window.fs.flagMetadata(key)
      if (meta) variations.push({ caid: meta.variationGroupId, vaid: meta.variationId })
    }
    return { values, variations }
  }, FLAGS)
}

/** Queues one EVENT hit and asks for a flush; resolves with whether the module accepted it. */
function sendHit(page, action) {
  return page.evaluate(async (action) => {
    const accepted = window.fs.track(action, { label: 'e2e', value: 1 })
    await window.fs.flush()
    return accepted
  }, action)
}

const maxSeq = (log) =>
  Math.max(0, ...['decisions', 'activations', 'hits', 'segment', 'forwarded', 'dropped'].flatMap((l) => log[l].map((e) => e.seq)))

const isConsentHit = (hit) => hit.t === 'EVENT' && hit.ea === 'fs_consent'

test('every request carries the Segment ID of its moment, and the connector forwards all', { timeout: 90_000 }, async () => {
  const { context, page, console: output, errors } = await newPage(browser)
  /** Per step: Segment's IDs as the page read them, and the journal window it covers. */
  const steps = []
  // Requests as the browser sent them, including any the module aborted: a stale ID in a request
  // that never reached the emulator would still be a bug.
  const sent = []
  page.on('request', (request) => {
    const url = new URL(request.url())
    if (url.origin !== emulator.origin || request.method() !== 'POST') return
    if (url.pathname.startsWith('/v2/') || url.pathname === '/' || url.pathname === '/events') {
      sent.push({ step: steps.length - 1, path: url.pathname, body: JSON.parse(request.postData() ?? 'null') })
    }
  })

  try {
    await openBlank(page, emulator.origin)
    await loadLibraries(page, emulator)

    // Nothing here waits for Segment's calls to reach the emulator: the module holds exposures
    // and hits until Segment has dispatched a call for the visitor (ensureSegmentKnows "wait"),
    // so the connector must find every ID already known. Each Segment call is made without
    // awaiting it, right before the module's reads, and is slowed down on its way: without the
    // gate the module's exposures would reach the connector first and be dropped.
    await page.route(`${emulator.origin}/v1/*`, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, SEGMENT_DELAY_MS))
      await route.continue()
    })

    // Step 1, anonymous. The module starts before Segment has sent anything.
    const anonymous = await segmentIds(page)
    assert.equal(anonymous.userId, null)
    assert.ok(anonymous.anonymousId, 'analytics-next gave no anonymousId')
    steps.push({ name: 'anonymous', ...anonymous, fromSeq: 0 })
    assert.equal(await startModule(page, emulator), 'READY', `status after start; console:\n${output.join('\n')}`)
    await page.evaluate(() => void window.analytics.page())
    await runStep(page, anonymous.anonymousId)

    // Step 2, identified: Segment's user().id() changes at once; the module follows on
    // analytics-next's identify event and fetches a decision for the userId.
    const userId = `user-${Date.now()}`
    steps.push({ name: 'identified', fromSeq: maxSeq(await emulator.log()) })
    await page.evaluate((id) => void window.analytics.identify(id, { plan: 'free' }), userId)
    const identified = await segmentIds(page)
    assert.deepEqual(identified, { userId, anonymousId: anonymous.anonymousId })
    Object.assign(steps.at(-1), identified)
    await runStep(page, userId)

    // Step 3, after reset: a new anonymousId that Segment has sent nothing with yet, made known
    // by a page call as a site's next page view would.
    steps.push({ name: 'reset', fromSeq: maxSeq(await emulator.log()) })
    await page.evaluate(() => window.analytics.reset())
    const reset = await segmentIds(page)
    assert.equal(reset.userId, null)
    assert.notEqual(reset.anonymousId, anonymous.anonymousId, 'reset kept the anonymousId')
    Object.assign(steps.at(-1), reset)
    await page.evaluate(() => void window.analytics.page())
    await runStep(page, reset.anonymousId)

    const log = await emulator.log()
    const stepOf = (seq) => steps.findLastIndex((s) => s.fromSeq < seq)
    const expected = (step) => ({
      decision: { visitorId: step.userId ?? step.anonymousId, anonymousId: step.userId ? step.anonymousId : null },
      activation: { vid: step.userId ?? step.anonymousId, aid: step.userId ? step.anonymousId : null },
      hit: { vid: step.anonymousId, cuid: step.userId },
    })

    for (const [i, step] of steps.entries()) {
      const want = expected(step)
      const decisions = log.decisions.filter((d) => stepOf(d.seq) === i)
      assert.ok(decisions.length >= 1, `no decision in step ${step.name}`)
      for (const d of decisions) {
        assert.deepEqual({ visitorId: d.visitorId, anonymousId: d.anonymousId }, want.decision, `decision in step ${step.name}`)
        assert.equal(d.endpoint, 'campaigns')
        assert.equal(d.exposeAllKeys, true)
        assert.equal(d.triggerHit, false, 'the module must leave exposure to /activate')
      }
      const activations = log.activations.filter((a) => stepOf(a.seq) === i)
      assert.deepEqual(
        activations.map((a) => ({ vid: a.vid, aid: a.aid, caid: a.caid, vaid: a.vaid })).sort(byVariation),
        step.variations.map((v) => ({ ...want.activation, ...v })).sort(byVariation),
        `activations in step ${step.name}: one per flag read, with that step's IDs`,
      )
      // Consent hits included: they name the visitor too.
      const hits = log.hits.filter((h) => stepOf(h.seq) === i)
      for (const h of hits) {
        assert.deepEqual({ vid: h.vid, cuid: h.cuid ?? null }, want.hit, `hit in step ${step.name}`)
      }
      assert.ok(hits.some((h) => h.ea === `e2e-${step.name}`), `hit of step ${step.name} not received`)

      // The browser's own view, aborted requests included.
      for (const { path, body } of sent.filter((r) => r.step === i)) {
        if (path.endsWith('/campaigns')) {
          assert.deepEqual({ visitorId: body.visitor_id, anonymousId: body.anonymous_id ?? null }, want.decision, `sent decision, ${step.name}`)
        } else if (path === '/v2/activate') {
          for (const a of body.batch) assert.deepEqual({ vid: a.vid, aid: a.aid ?? null }, want.activation, `sent activation, ${step.name}`)
        } else {
          for (const h of body.t === 'BATCH' ? body.h : [body]) {
            assert.deepEqual({ vid: h.vid, cuid: h.cuid ?? null }, want.hit, `sent hit, ${step.name}`)
          }
        }
      }
    }
    assert.equal(sent.filter((r) => r.path.endsWith('/campaigns')).length, log.decisions.length, 'decision requests the emulator never saw')

    // The connector: everything forwarded, nothing dropped, nothing refused as malformed.
    const trackedHits = log.hits.filter((h) => !isConsentHit(h))
    assert.deepEqual(log.dropped, [], 'the connector dropped something')
    assert.deepEqual(log.rejected, [], 'the emulator refused a request')
    assert.equal(log.activations.length, 9, 'three flags exposed in each of three steps')
    assert.equal(log.forwarded.length, log.activations.length + trackedHits.length)
    // Forwarded under the Segment identity of the step: the profile AB Tasty's data lands on.
    for (const f of log.forwarded) {
      const step = steps[stepOf(f.seq)]
      assert.deepEqual({ userId: f.userId, anonymousId: f.anonymousId }, { userId: step.userId, anonymousId: step.anonymousId })
      if (f.source === 'activation') {
        assert.equal(f.event, 'Experiment Viewed')
        assert.ok(f.properties.experiment_id && f.properties.variation_id, 'Experiment Viewed without its properties')
      }
    }
    // The gate opened on Segment's calls, never on its timeout.
    const diagnosis = await page.evaluate(() => window.fs.diagnose())
    assert.equal(diagnosis.sentBeforeSegmentKnew, 0, 'events went out before Segment knew the visitor')
    assert.deepEqual(errors, [], 'uncaught errors in the page')
  } catch (error) {
    error.message += `\n--- page console ---\n${output.join('\n')}\n--- emulator ---\n${emulator.output().slice(-4_000)}`
    throw error
  } finally {
    await page.unrouteAll({ behavior: 'ignoreErrors' })
    await context.close()
  }

  /** Reads the flags once the module has decided for `visitorId`, sends a hit, and waits until
   *  the emulator has every exposure and the hit of the step, so the next step starts clean. */
  async function runStep(page, visitorId) {
    const step = steps.at(-1)
    await waitUntilReady(page, visitorId)
    const { variations } = await readFlags(page)
    assert.equal(variations.length, Object.keys(FLAGS).length, `metadata missing for a flag in step ${step.name}`)
    step.variations = variations
    assert.equal(await sendHit(page, `e2e-${step.name}`), true, 'track() refused the hit')
    // Exposures leave as soon as the gate opens; a hit held by the gate leaves on the next flush
    // tick (flushIntervalMs, 5 s by default), as flush() asked while it was held does not carry
    // over. Hence the longer bound.
    await emulator.waitForLog(
      (log) =>
        log.activations.filter((a) => a.seq > step.fromSeq).length >= variations.length &&
        log.hits.some((h) => h.ea === `e2e-${step.name}`),
      { what: `exposures and hit of step ${step.name}`, timeoutMs: 15_000 },
    )
  }
})

function byVariation(a, b) {
  return `${a.caid}/${a.vaid}`.localeCompare(`${b.caid}/${b.vaid}`)
}

// A fresh visitor whose page() reached Segment before the module started: its event fired before
// anyone listened, and the gate recognises the call from the page's Resource Timing instead
// (src/browser/earlier_calls.rs), so the first exposure is not held for segmentKnowsTimeoutMs.
test('a Segment call dispatched before start() opens the gate', { timeout: 60_000 }, async () => {
  const { context, page } = await newPage(browser)
  try {
    await openBlank(page, emulator.origin)
    await loadLibraries(page, emulator)
    await page.evaluate(() => window.analytics.page())
    const { anonymousId } = await segmentIds(page)
    await emulator.waitForLog((log) => log.segment.some((c) => c.anonymousId === anonymousId), { what: "Segment's page call" })
    assert.equal(await startModule(page, emulator), 'READY')
    await page.evaluate(() => window.fs.getFlag('btnColor', 'none'))
    await emulator.waitForLog((log) => log.activations.length === 1, { what: 'the first exposure within 2 s', timeoutMs: 2_000 })
    assert.equal(await page.evaluate(() => window.fs.diagnose().sentBeforeSegmentKnew), 0)
  } finally {
    await context.close()
  }
})
