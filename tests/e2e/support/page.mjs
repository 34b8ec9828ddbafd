// What a test page does through the real libraries, written once: load analytics-next from the
// bundle and the module from pkg/web, both from the emulator's origin.

import { API_KEY, ENV_ID } from './emulator.mjs'

export const WRITE_KEY = 'e2e-write-key'

/**
 * Loads analytics-next and initialises the module. Afterwards the page has `window.analytics`
 * (the loaded Analytics instance) and `window.flagshipSegment` (the module).
 *
 * `settings` says where analytics-next gets its project settings, and so where it sends calls:
 * - "inline": `cdnSettings` given to `load`, pointing at the emulator (no settings request);
 * - "emulator-cdn": `cdnURL` at the emulator, whose settings point back at itself;
 * - "production": nothing given, so cdn.segment.com and api.segment.io (the test routes them).
 */
export async function loadLibraries(page, emulator, { settings = 'inline' } = {}) {
  await page.evaluate(
    async ({ settings, origin, apiHost, writeKey }) => {
      const { AnalyticsBrowser } = await import('/vendor/segment.js')
      const module = await import('/pkg/web/flagship_segment.js')
      await module.default()
      const options = { writeKey }
      if (settings === 'inline') {
        options.cdnSettings = { integrations: { 'Segment.io': { apiKey: writeKey, apiHost, protocol: 'http' } } }
      } else if (settings === 'emulator-cdn') {
        options.cdnURL = origin
      }
      const [analytics] = await AnalyticsBrowser.load(options)
      window.analytics = analytics
      window.flagshipSegment = module
    },
    { settings, origin: emulator.origin, apiHost: `${emulator.host}/v1`, writeKey: WRITE_KEY },
  )
}

/**
 * Starts the module with the loaded instance, against the emulator unless `productionEndpoints`
 * (then with the module's defaults, AB Tasty's hosts). Resolves with the status after start.
 */
export function startModule(page, emulator, { productionEndpoints = false, ...options } = {}) {
  return page.evaluate(
    async ({ envId, apiKey, endpoints, options }) => {
      window.fs = await window.flagshipSegment.start({
        envId,
        apiKey,
        ...(endpoints && { endpoints }),
        analytics: window.analytics,
        ...options,
      })
      return window.fs.status
    },
    {
      envId: ENV_ID,
      apiKey: API_KEY,
      endpoints: productionEndpoints ? null : { decision: emulator.origin, events: emulator.origin },
      options,
    },
  )
}

/** Segment's IDs as the page sees them right now. */
export function segmentIds(page) {
  return page.evaluate(() => ({
    userId: window.analytics.user().id() ?? null,
    anonymousId: window.analytics.user().anonymousId() ?? null,
  }))
}

/** Waits until the module is READY for `visitorId` (its decision for that visitor applied). */
export async function waitUntilReady(page, visitorId, timeout = 10_000) {
  try {
    await page.waitForFunction(
      (id) => window.fs.status === 'READY' && window.fs.visitorId === id,
      visitorId,
      { timeout, polling: 25 },
    )
  } catch (error) {
    const state = await page.evaluate(() => ({
      status: window.fs.status,
      visitorId: window.fs.visitorId,
      lastError: window.fs.lastError,
    }))
    error.message += `\nwanted READY for ${visitorId}, module has ${JSON.stringify(state)}`
    throw error
  }
}
