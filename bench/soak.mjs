// Soak benchmark: one long-lived page with the real analytics-next and flagship-segment doing
// thousands of units of work (tests/e2e/support/soak.mjs: 60 flag reads, one hit, and every
// tenth unit identify + reset), each in its own task. At every checkpoint the page's queues are
// drained, a full GC is forced through CDP, and the JS heap used (Runtime.getHeapUsage), the JS
// data in it (a heap snapshot without compiled code, hidden classes and Blink's objects: what the
// page keeps, without the JIT's steps), the wasm memory and the JS values the module holds
// (wasm-bindgen's externref table) are read. The same units without the module (analytics-next's identify and
// reset alone) give the baseline: what the page's other library keeps. Figures, not pass/fail;
// the run fails only when a hit is not delivered exactly once or the page throws.
// Run with `./run bench` (after `./run build` and the emulator build).
//
//   node bench/soak.mjs [--units 3000] [--from 300] [--every 300] [--no-baseline | --baseline-only]
import { loadavg } from 'node:os'

import { launch } from '../tests/e2e/support/browser.mjs'
import { COLLECTOR_BROWSER_ARGS, startCollector } from '../tests/e2e/support/collector.mjs'
import { startEmulator } from '../tests/e2e/support/emulator.mjs'
import { drain, measure, measureData, notDeliveredOnce, openSoakPage, runUnits } from '../tests/e2e/support/soak.mjs'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const UNITS = arg('units', 3000)
const FROM = arg('from', 300)
const EVERY = arg('every', 300)
const BASELINE = !process.argv.includes('--no-baseline')
const OURS = !process.argv.includes('--baseline-only')
if (!(FROM > 0 && UNITS > FROM && EVERY > 0)) throw new Error('need 0 < --from < --units and --every > 0')

const checkpoints = [FROM]
while (checkpoints.at(-1) < UNITS) checkpoints.push(Math.min(UNITS, checkpoints.at(-1) + EVERY))

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`
/** Least-squares slope of `ys` over `xs`: bytes per unit, less swayed by one step than two ends. */
function slope(xs, ys) {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b) / n
  const my = ys.reduce((a, b) => a + b) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my)
    den += (xs[i] - mx) ** 2
  }
  return num / den
}

async function soak(browser, emulator, collector, module) {
  const label = module ? 'analytics-next + flagship-segment' : 'analytics-next alone (baseline)'
  console.log(`\n${label}: ${UNITS} units, checkpoints every ${EVERY} from ${FROM}`)
  console.log('  units   run ms   JS heap used     JS data   wasm memory   JS values held by the module')
  const soakPage = await openSoakPage(browser, emulator, collector, { module })
  const { page, cdp, errors, context } = soakPage
  const rows = []
  let done = 0
  for (const at of checkpoints) {
    const started = Date.now()
    await runUnits(page, done, at)
    const ms = Date.now() - started
    if (module) await drain(page, collector)
    else await page.waitForTimeout(300)
    done = at
    const m = await measure(page, cdp, { module })
    m.data = (await measureData(cdp)).bytes
    rows.push({ at, ...m })
    const wasm = module ? kb(m.wasm).padStart(11) : '          -'
    const refs = module ? String(m.externrefs).padStart(6) : '     -'
    console.log(`  ${String(at).padStart(5)}  ${String(ms).padStart(7)}   ${kb(m.heap).padStart(12)}  ${kb(m.data).padStart(10)}   ${wasm}   ${refs}`)
  }
  const first = rows[0]
  const last = rows.at(-1)
  const perUnit = (last.heap - first.heap) / (last.at - first.at)
  const fitted = slope(rows.map((r) => r.at), rows.map((r) => r.heap))
  const data = (last.data - first.data) / (last.at - first.at)
  console.log(`  JS heap used: ${perUnit.toFixed(1)} B/unit from ${first.at} to ${last.at} units (least squares over the checkpoints: ${fitted.toFixed(1)} B/unit)`)
  console.log(`  JS data: ${data.toFixed(1)} B/unit from ${first.at} to ${last.at} units`)
  const result = { perUnit, fitted, data, errors: errors.length }
  if (module) {
    const mid = rows[Math.floor(rows.length / 2)]
    console.log(
      `  wasm memory: ${kb(first.wasm)} at ${first.at}, ${kb(mid.wasm)} at ${mid.at}, ${kb(last.wasm)} at ${last.at} units ` +
        `(+${kb(last.wasm - first.wasm)} over the run, +${kb(last.wasm - mid.wasm)} over its second half)`,
    )
    console.log(`  JS values held by the module: ${first.externrefs} at ${first.at}, ${last.externrefs} at ${last.at} units`)
    const wrong = notDeliveredOnce(collector, 0, UNITS)
    const diagnosis = await page.evaluate(() => window.fs.diagnose())
    const activations = (await emulator.log()).activations.length
    console.log(
      `  hits: ${UNITS} tracked, ${collector.delivered().length} delivered, ${wrong.length} not exactly once` +
        `${wrong.length ? ` (${wrong.slice(0, 5).join(', ')}…)` : ''}; diagnose(): ${JSON.stringify(diagnosis.hits)}`,
    )
    console.log(
      `  activations: ${diagnosis.activations.sent} sent, ${activations} received by the emulator, ` +
        `${diagnosis.activations.dropped} dropped; sent before Segment knew the visitor: ${diagnosis.sentBeforeSegmentKnew}`,
    )
    Object.assign(result, { wrong: wrong.length, wasmGrowth: last.wasm - first.wasm })
  }
  if (errors.length) console.log(`  page errors: ${errors.map(String).join('; ')}`)
  await context.close()
  return result
}

const emulator = await startEmulator()
const collector = await startCollector({ forwardTo: emulator })
const browser = await launch({ args: COLLECTOR_BROWSER_ARGS })
let failed = false
try {
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  const ours = OURS ? await soak(browser, emulator, collector, true) : null
  failed = ours !== null && (ours.wrong > 0 || ours.errors > 0)
  if (BASELINE) {
    const base = await soak(browser, emulator, collector, false)
    failed ||= base.errors > 0
    if (ours) {
      console.log(
        `\nthe module's share of the growth: JS heap used ${(ours.perUnit - base.perUnit).toFixed(1)} B/unit ` +
          `(least squares: ${(ours.fitted - base.fitted).toFixed(1)} B/unit), JS data ${(ours.data - base.data).toFixed(1)} B/unit`,
      )
      console.log('target: < 40 B/unit of JS heap, wasm memory flat after warm-up')
    }
  }
  console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
} finally {
  await browser.close()
  await collector.stop()
  await emulator.stop()
}
if (failed) {
  console.error('soak: a hit was not delivered exactly once, or the page threw')
  process.exit(1)
}
