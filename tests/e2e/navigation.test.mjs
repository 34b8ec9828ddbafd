// Issue 20 end to end: the most common conversion path (a purchase tracked on click, then the
// visitor follows a link) and the most common exposure path (a flag read, then a link) each reach
// AB Tasty once. AB Tasty is played by a real local server that answers 400 ms late, as over a
// phone's network (support/collector.mjs, forwarding to the emulator); a server rather than
// `page.route`, because the keepalive requests of a page going away pass no interception. The
// next page of the site loads the module again and stays open 35 s, past the 30 s after which
// an earlier version sent such items a second time.

import assert from 'node:assert/strict'
import { test } from 'node:test'

import { newPage, openBlank } from './support/browser.mjs'
import { withEmulatorAndBrowser } from './support/suite.mjs'
import { loadLibraries, startModule } from './support/page.mjs'

let emulator
let browser
let collector
withEmulatorAndBrowser((started) => ({ emulator, browser, collector } = started), { collector: true })

const PHONE_ROUND_TRIP_MS = 400
const NEXT_PAGE_OPEN_MS = 35_000

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** The real libraries on a page of the site, with AB Tasty's hosts played by the collector. */
async function startOn(page) {
  await loadLibraries(page, emulator)
  const status = await startModule(page, emulator, {
    endpoints: { decision: collector.origin, events: collector.url },
  })
  assert.equal(status, 'READY')
  // Segment knows the visitor (its page call), so nothing is held by the gate.
  await page.evaluate(() => window.analytics.page())
}

/**
 * Opens a page of the site with a link to another, runs `act` on it, follows the link (a real
 * navigation: `pagehide`, then the next document), starts the module on the next page, and keeps
 * it open. Resolves with the page's console for failure messages.
 */
async function actThenFollowALink(act) {
  const opened = await newPage(browser)
  const { context, page } = opened
  try {
    const next = `${emulator.origin}/__e2e_next.html`
    await page.route(next, (route) =>
      route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>next</title><body>next page</body>' }),
    )
    await openBlank(page, emulator.origin)
    await page.evaluate((href) => {
      const link = document.createElement('a')
      link.href = href
      link.id = 'next'
      link.textContent = 'next'
      document.body.append(link)
    }, next)
    await startOn(page)
    // What the visitor does just before clicking, in the same task as the click handler would.
    await page.evaluate(act)
    await Promise.all([page.waitForURL(next), page.click('#next')])
    await startOn(page)
    const openedAt = Date.now()
    await sleep(NEXT_PAGE_OPEN_MS)
    const after = await page.evaluate(() => window.fs.diagnose())
    assert.deepEqual(opened.errors, [], 'uncaught errors in the page')
    return { openedAt, after }
  } catch (error) {
    error.message += `\n--- page console ---\n${opened.console.slice(-30).join('\n')}\n--- collector ---\n${collector.describe()}`
    throw error
  } finally {
    await context.close()
  }
}

// The two visitors act side by side, each in a browser context of its own, so that the 35 s are
// paid once (one test: the collector and the emulator's log are reset before each test).
test('a purchase tracked, or a flag read, just before following a link reaches AB Tasty once', { timeout: 120_000 }, async () => {
  collector.latencyMs = PHONE_ROUND_TRIP_MS
  const [purchase, exposure] = await Promise.all([
    actThenFollowALink(() => {
      if (!window.fs.track('purchase', { label: 'checkout', value: 42 })) throw new Error('track refused')
    }),
    actThenFollowALink(() => {
      window.fs.getFlag('btnColor', 'grey')
    }),
  ])
  const log = await emulator.log()

  // track("purchase"), then a link.
  assert.equal(collector.carrying('purchase').length, 1, `requests carrying the purchase:\n${collector.describe()}`)
  assert.equal(collector.count('purchase'), 1, 'the purchase answered 2xx once')
  assert.equal(log.hits.filter((h) => h.ea === 'purchase').length, 1, 'the purchase in AB Tasty once')
  assert.equal(purchase.after.hits.queued, 0, 'nothing left for a later page')

  // getFlag (an exposure), then a link.
  const activations = collector.arrived.filter((r) => r.actions.some((a) => a.startsWith('activate:')))
  assert.equal(activations.length, 1, `activation requests:\n${collector.describe()}`)
  const [variation] = activations[0].actions
  assert.equal(collector.count(variation), 1, 'the activation answered 2xx once')
  assert.equal(log.activations.length, 1, `activations in AB Tasty: ${JSON.stringify(log.activations)}`)
  assert.equal(exposure.after.activations.queued, 0, 'nothing left for a later page')
})
