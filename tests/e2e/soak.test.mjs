// The soak of bench/soak.mjs at a count a test can afford (issue 12, part 5): one page with the
// real analytics-next and the module does a few hundred units (60 flag reads, one hit, identify
// + reset every tenth unit), each in its own task. Every hit reaches the collector exactly once,
// the page never throws, the module holds no more JS values at the end than after warm-up, and
// the JS heap grows by less than a leak of one closure per unit would make it grow.
//
// The heap figure is the JS data the page keeps (objects, closures, arrays, strings: from a heap
// snapshot, without compiled code, which the JIT adds in steps of tens of KiB at moments of its
// choosing), and the module's share of it: analytics-next itself keeps about 7 B per unit here
// (its priority queue remembers the ID of every event it dispatched, `seen`), so the same units
// run on a page without the module, and the difference is what is bounded. Measured that way the
// figure is the same to the byte from one run to the next.
//
// Check that it can fail: SOAK_LEAK=closure node --test tests/e2e/soak.test.mjs (each unit then
// keeps one closure alive in the page, about 60 B) must fail on the heap bound.

import assert from 'node:assert/strict'
import { test } from 'node:test'

import { withEmulatorAndBrowser } from './support/suite.mjs'
import { drain, grewMost, measure, measureData, notDeliveredOnce, openSoakPage, runUnits } from './support/soak.mjs'

/** Units before the first measurement (the JIT, caches and the first identities settle), and the
 *  two windows measured after it. */
const WARMUP = 200
const WINDOW = 200
const CHECKPOINTS = [WARMUP, WARMUP + WINDOW, WARMUP + 2 * WINDOW]
/** Bytes of JS data per unit the module may add. Measured here: 0.0 to 0.3 (the figure is
 *  exact from one run to the next); one closure kept per unit is about 60 B, one small array
 *  about 30 B. */
const MAX_BYTES_PER_UNIT = 20

let emulator
let browser
let collector
withEmulatorAndBrowser((started) => ({ emulator, browser, collector } = started), { collector: true })

/** Runs the checkpoints on one page; the measurements at each. */
async function soak(module) {
  const leak = module ? (process.env.SOAK_LEAK ?? null) : null
  // After a reset the units' hits are for a visitor Segment has sent nothing about, held by the
  // gate until its timeout: 1 s rather than 5, so that draining before a measurement is quick.
  const options = { segmentKnowsTimeoutMs: 1000 }
  const soakPage = await openSoakPage(browser, emulator, collector, { module, leak, options })
  const { page, cdp, errors, console: output, context } = soakPage
  try {
    const points = []
    let done = 0
    for (const at of CHECKPOINTS) {
      await runUnits(page, done, at)
      done = at
      if (module) await drain(page, collector)
      else await page.waitForTimeout(300)
      points.push({ at, ...(await measure(page, cdp, { module, samples: 1 })), data: await measureData(cdp) })
    }
    assert.deepEqual(errors, [], 'uncaught errors in the page')
    return { points, diagnosis: module ? await page.evaluate(() => window.fs.diagnose()) : null }
  } catch (error) {
    error.message += `\n--- page console ---\n${output.slice(-40).join('\n')}`
    throw error
  } finally {
    await context.close()
  }
}

/** JS data bytes per unit from checkpoint `i` to checkpoint `j`. */
const growth = ({ points }, i, j) => (points[j].data.bytes - points[i].data.bytes) / (points[j].at - points[i].at)

test('a long-lived page: every hit delivered once, no growth the module could be blamed for', { timeout: 180_000 }, async () => {
  const ours = await soak(true)
  const units = CHECKPOINTS.at(-1)

  assert.deepEqual(notDeliveredOnce(collector, 0, units), [], 'hits not delivered exactly once')
  assert.equal(collector.delivered().length, units, 'the collector received other hits')
  assert.deepEqual(ours.diagnosis.hits, { queued: 0, sent: units, dropped: 0 })
  assert.equal(ours.diagnosis.activations.dropped, 0)
  const activations = (await emulator.log()).activations.length
  assert.equal(activations, ours.diagnosis.activations.sent, 'activations the emulator did not receive, or received twice')

  // A JS value Rust forgets to drop (a closure, a promise, a listener) stays in wasm-bindgen's
  // table. Drained, the count is the same at every checkpoint (measured: to the unit); a few are
  // allowed for a timer or a request that happens to be pending, a leak per unit would be 400.
  const held = ours.points.map((p) => p.externrefs)
  assert.ok(held.at(-1) - held[0] <= 4, `JS values held by the module: ${held.join(' → ')}`)

  const base = await soak(false)
  const shares = [[0, 1], [1, 2]].map(([i, j]) => growth(ours, i, j) - growth(base, i, j))
  const share = growth(ours, 0, 2) - growth(base, 0, 2)
  const figures =
    `JS data with the module ${ours.points.map((p) => p.data.bytes).join(' → ')} B, ` +
    `without ${base.points.map((p) => p.data.bytes).join(' → ')} B at ${CHECKPOINTS.join('/')} units ` +
    `(heap used with the module ${ours.points.map((p) => p.heap).join(' → ')} B); ` +
    `the module's share ${share.toFixed(1)} B/unit (per window ${shares.map((s) => s.toFixed(1)).join(', ')})`
  console.log(`soak: ${figures}`)
  assert.ok(
    share < MAX_BYTES_PER_UNIT,
    `the JS heap grows with the units: ${figures}; grew most: ${grewMost(ours.points[0].data, ours.points.at(-1).data)}`,
  )
})
