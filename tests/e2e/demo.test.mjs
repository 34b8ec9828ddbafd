// The demo page as a visitor uses it, under its own strict Content-Security-Policy: flags applied
// to the store, identify as a Pro user, reset, buy. Leaves a screenshot in target/e2e/demo.png
// (a CI artifact) taken after the Pro user's decision.

import assert from 'node:assert/strict'
import { mkdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { after, before, beforeEach, test } from 'node:test'

import { launch, newPage } from './support/browser.mjs'
import { root, startEmulator } from './support/emulator.mjs'

const SCREENSHOT = path.join(root, 'target/e2e/demo.png')

let emulator
let browser
let variations

before(async () => {
  // No API key check, as with ./run demo: the page's demo key must not matter.
  emulator = await startEmulator({ apiKey: null })
  browser = await launch()
  const file = JSON.parse(await readFile(path.join(root, 'www/bucketing.json'), 'utf8'))
  variations = new Map(
    file.campaigns.flatMap((c) => c.variationGroups.flatMap((g) => g.variations.map((v) => [v.id, v.modifications.value]))),
  )
})

after(async () => {
  await browser?.close()
  await emulator?.stop()
})

beforeEach(() => emulator.reset())

const text = (page, selector) => page.locator(selector).textContent()

/** `#1f6feb` → `rgb(31, 111, 235)`, as getComputedStyle reports colours. */
function rgb(hex) {
  const n = Number.parseInt(hex.slice(1), 16)
  return `rgb(${n >> 16}, ${(n >> 8) & 255}, ${n & 255})`
}

/** Waits until the page shows the module READY for the visitor that Segment's IDs call for. */
async function waitForVisitor(page, visitorId) {
  await page.waitForFunction(
    (id) =>
      document.getElementById('module-status').dataset.status === 'READY' &&
      document.getElementById('module-visitor-id').textContent === id,
    visitorId,
  )
}

/** Waits until the emulator has `count` activations for `vid`, all forwarded, and returns them. */
async function exposuresOf(vid, count) {
  const log = await emulator.waitForLog(
    (log) =>
      log.activations.filter((a) => a.vid === vid).length >= count &&
      log.forwarded.length + log.dropped.length >= log.activations.length,
    { what: `${count} exposures of ${vid}` },
  )
  assert.deepEqual(log.dropped, [], 'the connector dropped an item of the demo')
  return log.activations.filter((a) => a.vid === vid)
}

test('the demo applies the decision, follows identify and reset, and tracks a purchase', { timeout: 90_000 }, async () => {
  const { context, page, console: output, errors } = await newPage(browser)
  await page.setViewportSize({ width: 1280, height: 900 })
  try {
    await page.goto(`${emulator.origin}/`)

    // Anonymous: the store shows the variation the emulator decided and the module exposed.
    await page.locator('#segment-anonymous-id').filter({ hasNotText: '…' }).waitFor()
    const anonymousId = await text(page, '#segment-anonymous-id')
    await waitForVisitor(page, anonymousId)
    const exposed = await exposuresOf(anonymousId, 3)
    const colour = exposed.map((a) => variations.get(a.vaid)?.btnColor).find(Boolean)
    assert.ok(colour, 'no btnColor variation among the exposures')
    await page.waitForFunction(() => !document.getElementById('banner').hidden)
    assert.equal(await page.locator('#purchase').evaluate((b) => getComputedStyle(b).backgroundColor), rgb(colour))
    assert.equal(await text(page, '#banner'), 'Spring sale: 20% off everything')
    assert.equal(await text(page, '#checkout-flow'), 'New one-page checkout')
    assert.match(await text(page, '#flags'), /btnColor.*Checkout button colour/)

    // Identify as a Pro user: the trait becomes targeting context and the Pro banner wins.
    await page.fill('#user-id', 'user-demo')
    await page.selectOption('#plan', 'pro')
    await page.click('#identify-form button')
    await waitForVisitor(page, 'user-demo')
    assert.equal(await text(page, '#module-anonymous-id'), anonymousId)
    await page.locator('#banner').filter({ hasText: 'Thanks for being Pro' }).waitFor()
    assert.equal(await text(page, '#price'), '€102.00')
    const identified = await exposuresOf('user-demo', 3)
    assert.ok(identified.every((a) => a.aid === anonymousId))
    // The live panel catches up within its one-second poll.
    await page.waitForFunction(
      (n) => document.querySelector('[data-counter="forwarded"] strong')?.textContent === String(n),
      identified.length + exposed.length,
      { timeout: 5_000 },
    )
    await mkdir(path.dirname(SCREENSHOT), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })

    // Reset: a new anonymous visitor, whose exposures the connector also forwards because the
    // module holds them until Segment's page call for the new ID has gone out.
    await page.click('#reset')
    await page.waitForFunction(
      (old) => {
        const id = document.getElementById('segment-anonymous-id').textContent
        return id !== old && id !== '…' && document.getElementById('segment-user-id').textContent.startsWith('none')
      },
      anonymousId,
    )
    const newAnonymousId = await text(page, '#segment-anonymous-id')
    await waitForVisitor(page, newAnonymousId)
    await exposuresOf(newAnonymousId, 3)
    await page.locator('#banner').filter({ hasText: 'Spring sale' }).waitFor()
    await page.locator('#seen-by-segment').filter({ hasText: 'yes' }).waitFor()

    // Buy: Segment's own track, and the module's hit under the same identity.
    await page.click('#purchase')
    const log = await emulator.waitForLog(
      (log) =>
        log.segment.some((c) => c.type === 'track' && c.event === 'Order Completed' && c.anonymousId === newAnonymousId) &&
        log.forwarded.some((f) => f.source === 'hit' && f.event === 'purchase'),
      { what: 'the purchase' },
    )
    const hit = log.hits.find((h) => h.ea === 'purchase')
    assert.deepEqual({ vid: hit.vid, cuid: hit.cuid ?? null, ev: hit.ev }, { vid: newAnonymousId, cuid: null, ev: 120 })
    assert.deepEqual(log.dropped, [])
    assert.deepEqual(log.rejected, [])

    assert.deepEqual(errors, [], 'uncaught errors in the demo')
    // The page declares a strict policy; the demo must live within it.
    assert.deepEqual(output.filter((line) => /Content Security Policy/i.test(line)), [])
  } catch (error) {
    error.message += `\n--- page console ---\n${output.join('\n')}\n--- emulator ---\n${emulator.output().slice(-4_000)}`
    throw error
  } finally {
    await context.close()
  }
})
