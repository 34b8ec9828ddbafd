// The frame every end-to-end file shares: one emulator and one browser for the file, the
// emulator's log cleared before each test, both stopped at the end.

import { after, before, beforeEach } from 'node:test'

import { launch } from './browser.mjs'
import { startEmulator } from './emulator.mjs'

/** Registers the hooks; `use` receives `{emulator, browser}` once both are up. */
export function withEmulatorAndBrowser(use) {
  let emulator
  let browser
  before(async () => {
    emulator = await startEmulator()
    browser = await launch()
    use({ emulator, browser })
  })
  after(async () => {
    await browser?.close()
    await emulator?.stop()
  })
  beforeEach(() => emulator.reset())
}
