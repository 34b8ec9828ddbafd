// The soak workload, written once for tests/e2e/soak.test.mjs (a few hundred units, asserted) and
// bench/soak.mjs (thousands, printed): one long-lived page with the real analytics-next and the
// module, doing units of work, each in a task of its own, then measured after a forced GC.
//
// One unit: 60 flag reads (present keys, missing keys, reads with exposure off), one hit, and
// every tenth unit `analytics.identify(…)` then `analytics.reset()`, so identities, decisions
// and exposures churn as on a site where people log in and out.

import { newPage, openBlank } from './browser.mjs'
import { loadLibraries, startModule } from './page.mjs'

/**
 * Opens the soak page: analytics-next, and with `module` (the default) flagship-segment started
 * with hits sent to `collector` (and start `options`). Without it the same page runs the units' Segment calls alone,
 * the baseline that says what analytics-next itself keeps. Resolves with the page, its console
 * and errors, and a DevTools session for GC and heap figures.
 *
 * `leak` (`"closure"` or `"array"`) makes each unit keep one closure or one small array alive,
 * on purpose: how to check that a measurement catches a leak of that size.
 */
export async function openSoakPage(browser, emulator, collector, { module = true, leak = null, options = {} } = {}) {
  const opened = await newPage(browser)
  const { context, page } = opened
  await openBlank(page, emulator.origin)
  await loadLibraries(page, emulator)
  if (module) {
    const status = await startModule(page, emulator, {
      endpoints: { decision: emulator.origin, events: collector.url },
      ...options,
    })
    if (status !== 'READY') throw new Error(`module status after start: ${status}`)
  }
  await page.evaluate(async ([withModule, leak]) => {
    // The full module's .wasm, once it has taken over from the first stage (a flush waits for
    // that): its glue's init() resolves with the exports of the instance it made.
    if (withModule) await window.fs.flush()
    const glue = await import('/pkg/web/flagship_segment_full.js')
    const wasm = withModule ? await glue.default() : null
    const PRESENT = ['btnColor', 'newCheckout']
    const PRESENT_DEFAULTS = ['none', false]
    const MISSING = ['soakMissingA', 'soakMissingB']
    const kept = []
    window.soak = {
      /** The wasm memory's size, and how many JS values the module holds (wasm-bindgen's
       *  externref table: a value Rust forgets to drop stays there, and alive in the JS heap). */
      wasmStats() {
        const table = wasm.__wbindgen_externrefs
        let held = 0
        for (let i = 0; i < table.length; i++) if (table.get(i) !== undefined) held++
        return { wasmBytes: wasm.memory.buffer.byteLength, externrefs: held }
      },
      refused: 0,
      tracked: 0,
      /** Units `from`..`to` (exclusive), each in its own task. */
      async run(from, to) {
        const fs = withModule ? window.fs : null
        for (let i = from; i < to; i++) {
          if (fs) {
            for (let r = 0; r < 20; r++) {
              fs.getFlag(PRESENT[r & 1], PRESENT_DEFAULTS[r & 1])
              fs.getFlag(MISSING[r & 1], 0)
              fs.getFlag('bannerText', '', false)
            }
            if (fs.track(`soak-${i}`, { label: 'soak', value: 1 })) this.tracked++
            else this.refused++
          }
          if (leak === 'closure') kept.push(() => i)
          else if (leak === 'array') kept.push([i])
          if (i % 10 === 9) {
            await window.analytics.identify(`soak-user-${i}`, { plan: 'free' })
            window.analytics.reset()
          }
          await new Promise((resolve) => setTimeout(resolve, 0))
        }
      },
    }
  }, [module, leak])
  const cdp = await context.newCDPSession(page)
  return { ...opened, cdp }
}

/** Runs units `from`..`to` in the page. */
export function runUnits(page, from, to) {
  return page.evaluate(([from, to]) => window.soak.run(from, to), [from, to])
}

/**
 * Waits until every hit tracked so far is answered by the collector and the module's queues are
 * empty, so a measurement sees no queued work. Throws on a refused `track`.
 */
export async function drain(page, collector, { timeoutMs = 20_000 } = {}) {
  const { tracked, refused } = await page.evaluate(() => ({ tracked: window.soak.tracked, refused: window.soak.refused }))
  if (refused) throw new Error(`${refused} track() calls refused`)
  await collector.waitFor((c) => c.delivered().length >= tracked, { timeoutMs, what: `${tracked} hits delivered` })
  // Polled from here rather than with page.waitForFunction, whose machinery would be part of
  // the heap being measured.
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const idle = await page.evaluate(() => {
      if (!window.fs) return true
      const { hits, activations } = window.fs.diagnose()
      return hits.queued === 0 && activations.queued === 0 && window.fs.status === 'READY'
    })
    if (idle) break
    if (Date.now() > deadline) throw new Error(`the module's queues did not empty within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
  // Segment's own calls of the last unit, and the answers of the module's last requests.
  await page.waitForTimeout(200)
}

/** `[median, …]` of `values`. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

/**
 * JS heap used after a full GC (the median of `samples` GC + read pairs, so one collection that
 * leaves something behind does not decide) and the wasm memory's size, in bytes, and the JS
 * values the module holds.
 */
export async function measure(page, cdp, { samples = 5, module = true } = {}) {
  const { wasmBytes: wasm, externrefs } = module
    ? await page.evaluate(() => window.soak.wasmStats())
    : { wasmBytes: 0, externrefs: 0 }
  const heaps = []
  for (let i = 0; i < samples; i++) {
    await cdp.send('HeapProfiler.collectGarbage')
    heaps.push((await cdp.send('Runtime.getHeapUsage')).usedSize)
  }
  return { heap: median(heaps), heaps, wasm, externrefs }
}

/** Node types of a heap snapshot that are not the page's data: compiled code and feedback,
 *  hidden classes, Blink's C++ objects (among them DevTools' copy of every response), roots. */
const NOT_DATA = new Set(['code', 'object shape', 'native', 'synthetic'])

/**
 * The bytes of JS data reachable in the page, from a heap snapshot (which collects garbage
 * first): objects, closures and their contexts, arrays, strings, numbers. Without compiled code,
 * which the JIT adds in steps of tens of KiB whenever it optimises a function, this grows only
 * with what the page keeps. Also the ten names (constructor, or type for the rest) that hold the
 * most bytes, for a failure message.
 */
export async function measureData(cdp) {
  const chunks = []
  const collect = (event) => chunks.push(event.chunk)
  cdp.on('HeapProfiler.addHeapSnapshotChunk', collect)
  try {
    await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false, captureNumericValue: false })
  } finally {
    cdp.off('HeapProfiler.addHeapSnapshotChunk', collect)
  }
  const { snapshot, nodes, strings } = JSON.parse(chunks.join(''))
  const fields = snapshot.meta.node_fields
  const types = snapshot.meta.node_types[0]
  const [type, name, size] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f))
  let bytes = 0
  const byName = new Map()
  for (let i = 0; i < nodes.length; i += fields.length) {
    const t = types[nodes[i + type]]
    if (NOT_DATA.has(t)) continue
    bytes += nodes[i + size]
    const key = t === 'object' || t === 'closure' ? strings[nodes[i + name]] : `(${t})`
    byName.set(key, (byName.get(key) ?? 0) + nodes[i + size])
  }
  return { bytes, byName }
}

/** The names whose bytes grew most from `a` to `b` (results of measureData). */
export function grewMost(a, b, top = 8) {
  return [...b.byName]
    .map(([key, bytes]) => [key, bytes - (a.byName.get(key) ?? 0)])
    .sort((x, y) => y[1] - x[1])
    .slice(0, top)
    .map(([key, grew]) => `${key.slice(0, 60)} +${grew} B`)
    .join(', ')
}

/** Every hit of units `from`..`to` answered exactly once: the list of those that were not. */
export function notDeliveredOnce(collector, from, to) {
  const counts = new Map()
  for (const action of collector.delivered()) counts.set(action, (counts.get(action) ?? 0) + 1)
  const wrong = []
  for (let i = from; i < to; i++) {
    const n = counts.get(`soak-${i}`) ?? 0
    if (n !== 1) wrong.push(`soak-${i} x${n}`)
  }
  return wrong
}
