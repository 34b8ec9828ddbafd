// Debian's Chromium driven by playwright-core: the tests never download a browser.

import { chromium } from 'playwright-core'

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

/** Launches headless Chromium with ARGS, and `args` after them. */
export function launch({ args = [] } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [...ARGS, ...args],
    headless: true,
    timeout: 30_000,
  })
}

/**
 * A fresh context (no storage shared with other tests) whose pages fail the test on any
 * uncaught error, and whose console output is kept for failure messages.
 */
export async function newPage(browser) {
  const context = await browser.newContext()
  context.setDefaultTimeout(10_000)
  const page = await context.newPage()
  const console = []
  const errors = []
  page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`))
  page.on('pageerror', (e) => errors.push(e))
  return { context, page, console, errors }
}

/**
 * Opens an empty page served from `origin` (so the module, the bundle and the emulator are
 * same-origin, as on the demo) without adding a test page to www/.
 */
export async function openBlank(page, origin) {
  const url = `${origin}/__e2e_blank.html`
  await page.route(url, (route) =>
    route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>e2e</title><body></body>' }),
  )
  await page.goto(url)
}
