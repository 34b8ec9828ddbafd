// The demo page: the real analytics-next (bundled from npm into vendor/segment.js by ./run build)
// and the module built by wasm-pack (pkg/web), both served by the emulator with everything else.

import { AnalyticsBrowser } from '/vendor/segment.js'
import init, { start } from '/pkg/web/flagship_segment.js'

const WRITE_KEY = 'demo-write-key'
const PRICE = 120

const $ = (id) => document.getElementById(id)

// Segment's settings given inline, so nothing is asked of Segment's CDN; its calls go to the
// emulator's Segment-shaped endpoint. (`cdnURL: location.origin` works as well: the emulator
// serves /v1/projects/{writeKey}/settings pointing back at itself.)
const analytics = AnalyticsBrowser.load({
  writeKey: WRITE_KEY,
  cdnSettings: {
    integrations: { 'Segment.io': { apiKey: WRITE_KEY, apiHost: `${location.host}/v1`, protocol: location.protocol.slice(0, -1) } },
  },
})

analytics.page()

let fs
let segment

try {
  await init()
  // The npm way: hand the AnalyticsBrowser over. A page with Segment's snippet instead has a
  // global `window.analytics`; leaving `analytics` out makes the module read that global
  // (`globalKey` renames it).
  fs = await start({
    envId: 'demo-env',
    apiKey: 'demo-key',
    // Production pages leave `endpoints` out: the defaults are AB Tasty's hosts.
    endpoints: { decision: location.origin, events: location.origin },
    analytics,
    // The `plan` trait set by identify becomes targeting context (the Pro banner campaign).
    traits: ['plan'],
    logLevel: 'info',
    // ?gate=off shows what the seen-by-Segment gate prevents: a fresh visitor's first exposure
    // reaching AB Tasty before Segment knows the visitor, and the connector dropping it.
    ensureSegmentKnows: new URLSearchParams(location.search).get('gate') === 'off' ? 'off' : 'wait',
  })
  ;[segment] = await analytics
} catch (error) {
  showIdentity()
  $('module-error').textContent = `${error.code ?? 'ERROR'}: ${error.message}`
  throw error
}

fs.on('change', () => showIdentity())
fs.on('flags', () => applyFlags())
for (const button of document.querySelectorAll('button')) button.disabled = false
showIdentity()
applyFlags()
pollEmulator()

$('identify-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const userId = $('user-id').value.trim()
  if (!userId) return
  analytics.identify(userId, { plan: $('plan').value }).then(showIdentity)
})

$('reset').addEventListener('click', () => {
  analytics.reset()
  // reset() forgets the user and mints a new anonymousId that Segment has sent nothing with yet.
  // The module holds its exposures for that ID until Segment has sent a call with it (AB Tasty's
  // connector would drop them otherwise); this page call does, as a site's next page view would.
  analytics.page()
  showIdentity()
})

$('purchase').addEventListener('click', async () => {
  const discount = fs.getFlag('discount', 0)
  const revenue = Math.round(PRICE * (1 - discount / 100))
  analytics.track('Order Completed', { order_id: `demo-${Date.now()}`, revenue, currency: 'EUR' })
  fs.track('purchase', { label: 'demo', value: revenue })
  // A hit leaves at the end of the task that made it, held until Segment knows the visitor;
  // flush() resolves once it has left, so the demo's panel shows it sent.
  await fs.flush()
})

/** Both sides of the identity: what Segment holds, and what the module uses. */
function showIdentity() {
  const user = segment?.user()
  $('segment-anonymous-id').textContent = user?.anonymousId() ?? '…'
  $('segment-user-id').textContent = user?.id() ?? 'none (anonymous)'
  if (!fs) return
  $('module-visitor-id').textContent = fs.visitorId ?? 'none'
  $('module-anonymous-id').textContent = fs.anonymousId ?? 'none'
  const status = $('module-status')
  status.textContent = fs.status
  status.dataset.status = fs.status
  // Until Segment has sent a call with this visitor, the module holds its exposures and hits:
  // AB Tasty's connector would drop them.
  const seen = fs.diagnose().seenBySegment
  $('seen-by-segment').textContent = seen === null ? 'n/a' : seen ? 'yes' : 'not yet: exposures and hits held'
  const error = fs.lastError
  $('module-error').textContent = error ? `${error.code}: ${error.message}` : 'none'
}

/** Applies the flags to the store and lists the decision. Reading a flag sends its exposure. */
function applyFlags() {
  showIdentity()
  const buy = $('purchase')
  buy.style.backgroundColor = fs.getFlag('btnColor', '#57606a')
  buy.textContent = fs.getFlag('btnText', 'Buy now')
  $('checkout-flow').textContent = fs.getFlag('newCheckout', false) ? 'New one-page checkout' : 'Classic checkout'
  const bannerText = fs.getFlag('bannerText', '')
  $('banner').textContent = bannerText
  $('banner').hidden = !bannerText
  const discount = fs.getFlag('discount', 0)
  $('price').textContent = euros(PRICE * (1 - discount / 100))
  $('old-price').hidden = !discount

  // Sorted: the order of a decision's campaigns is not meaningful, and a steady table reads better.
  const flags = Object.entries(fs.getFlags()).sort(([a], [b]) => a.localeCompare(b))
  const rows = flags.map(([key, value]) => {
    const meta = fs.flagMetadata(key)
    const variation = meta ? `${meta.variationName ?? meta.variationId}${meta.isReference ? ' (reference)' : ''}` : ''
    return row([key, JSON.stringify(value), meta?.campaignName ?? meta?.campaignId ?? '', variation])
  })
  $('flags').replaceChildren(...(rows.length ? rows : [row(['no flag for this visitor'], 4)]))
}

/** The emulator's journal, merged into one timeline, refreshed every second. */
async function pollEmulator() {
  let lastSeq = -1
  for (;;) {
    try {
      if (!document.hidden) {
        const log = await (await fetch('/_emulator/log')).json()
        const entries = timeline(log)
        const top = entries[0]?.seq ?? 0
        if (top !== lastSeq) {
          lastSeq = top
          showCounters(log.counters)
          $('timeline').replaceChildren(...entries.slice(0, 60).map(timelineItem))
        }
        showIdentity()
      }
    } catch {
      // The emulator restarting is not the page's problem: try again on the next tick.
    }
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
}

function showCounters(counters) {
  const shown = [
    ['segment', 'Segment calls'],
    ['decisions', 'decisions'],
    ['activations', 'activations'],
    ['hits', 'hits'],
    ['forwarded', 'forwarded'],
    ['dropped', 'dropped'],
    ['rejected', 'rejected'],
  ]
  $('counters').replaceChildren(
    ...shown.map(([key, label]) => {
      const item = el('li', '', el('strong', '', String(counters[key] ?? 0)), ` ${label}`)
      item.dataset.counter = key
      if ((key === 'dropped' || key === 'rejected') && counters[key]) item.classList.add('bad')
      return item
    }),
  )
}

/** Every list of the journal as `{seq, at, kind, text}`, newest first. */
function timeline(log) {
  const ids = (pairs) =>
    pairs
      .filter(([, id]) => id)
      .map(([name, id]) => `${name} ${id}`)
      .join(', ')
  const describe = {
    segment: (e) => `${e.type}${e.event ? ` "${e.event}"` : ''} · ${ids([['userId', e.userId], ['anonymousId', e.anonymousId]])}`,
    decisions: (e) => `/${e.endpoint} · visitor_id ${e.visitorId}${e.anonymousId ? `, anonymous_id ${e.anonymousId}` : ''}`,
    activations: (e) => `/activate ${e.campaignId ?? e.caid} · ${ids([['vid', e.vid], ['aid', e.aid]])}`,
    hits: (e) => `${e.t}${e.ea ? ` "${e.ea}"` : ''} · ${ids([['vid', e.vid], ['cuid', e.cuid]])}`,
    forwarded: (e) => `→ Segment track "${e.event}"${experiment(e.properties)} · ${ids([['userId', e.userId], ['anonymousId', e.anonymousId]])}`,
    dropped: (e) => `✕ ${e.source} ${e.event ? `"${e.event}" ` : ''}dropped: ${e.reason} · ${ids([['vid', e.vid], ['aid', e.aid], ['cuid', e.cuid]])}`,
    rejected: (e) => `${e.method} ${e.path} → ${e.status}: ${e.reason}`,
  }
  return Object.entries(describe)
    .flatMap(([kind, text]) => (log[kind] ?? []).map((e) => ({ seq: e.seq, at: e.at, kind, text: text(e) })))
    .sort((a, b) => b.seq - a.seq)
}

function experiment(properties) {
  return properties?.experiment_name ? ` (${properties.experiment_name}: ${properties.variation_name})` : ''
}

function timelineItem({ at, kind, text }) {
  const time = new Date(at).toLocaleTimeString([], { hour12: false })
  const item = el('li', `entry ${kind}`, el('time', '', time), el('span', 'kind', kind), el('span', 'text', text))
  item.dataset.kind = kind
  return item
}

function row(cells, span) {
  const tr = el('tr', '')
  for (const cell of cells) {
    const td = el('td', span ? 'empty' : '', cell)
    if (span) td.colSpan = span
    tr.append(td)
  }
  return tr
}

/** An element with a class and children; text is always set as text, never parsed as HTML. */
function el(tag, className, ...children) {
  const node = document.createElement(tag)
  if (className) node.className = className
  node.append(...children)
  return node
}

function euros(amount) {
  return `€${amount.toFixed(2)}`
}
