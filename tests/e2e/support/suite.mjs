// The frame every end-to-end file shares: one emulator and one browser for the file, the
// emulator's log cleared before each test, both stopped at the end. With `collector`, also an
// events collector the test controls (support/collector.mjs), reset before each test.

import { after, before, beforeEach } from 'node:test'

import { launch } from './browser.mjs'
import { COLLECTOR_BROWSER_ARGS, startCollector } from './collector.mjs'
import { startEmulator } from './emulator.mjs'

/** Registers the hooks; `use` receives `{emulator, browser, collector}` once they are up. */
export function withEmulatorAndBrowser(use, { collector: withCollector = false } = {}) {
  let emulator
  let browser
  let collector
  before(async () => {
    emulator = await startEmulator()
    if (withCollector) collector = await startCollector({ forwardTo: emulator })
    browser = await launch({ args: withCollector ? COLLECTOR_BROWSER_ARGS : [] })
    use({ emulator, browser, collector })
  })
  after(async () => {
    await browser?.close()
    await collector?.stop()
    await emulator?.stop()
  })
  beforeEach(async () => {
    collector?.reset()
    await emulator.reset()
  })
}
