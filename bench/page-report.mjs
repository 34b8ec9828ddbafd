// The Markdown of the page-level benchmark (bench/page.mjs), shared by the script's own output and
// by bench/sdk.mjs, which puts it at the top of BENCHMARKS.md when target/bench-page/results.json
// exists. Pure formatting: every figure comes from the results object.

const n = (v) => Math.round(v).toLocaleString('en-US')
const ms = (v) => `${n(v)} ms`
const kb = (n) => `${(n / 1000).toFixed(1)} KB`
const x = (a, b) => `${(a / b).toFixed(2)}×`

/** Timing table: one row per profile, median (p10–p90) per side and the ratio of medians. */
export function timingTable(r) {
  const rows = r.profiles.flatMap((p) => {
    const t = p.sides.theirs
    const range = (s) => `${ms(s.median)} (${n(s.p10)}–${ms(s.p90)})`
    return [['ours', 'no hint'], ['ours-hint', "README's hint"]]
      .filter(([side]) => p.sides[side])
      .map(([side, page]) => {
        const o = p.sides[side]
        return `| ${p.label} | ${page} | ${range(o)} | ${range(t)} | ${x(o.median, t.median)} | ${x(o.p90, t.p90)} |`
      })
  })
  return [
    `| profile | page | flagship-segment, median (p10–p90) | @flagship.io/js-sdk ${r.meta.sdkVersion}, median (p10–p90) | ours / official, median | p90 |`,
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n')
}

/** Bytes received before the first flag (CDP encodedDataLength: gzip body + response headers), per URL. */
export function bytesTable(r) {
  const p = r.profiles[0]
  const lines = []
  for (const side of ['ours', 'theirs']) {
    const s = p.sides[side]
    for (const u of s.before) lines.push(`| ${side === 'ours' ? 'flagship-segment' : 'official'} | ${u.kind} | \`${u.path}\` | ${u.bytes.toLocaleString('en-US')} | ${u.start.toFixed(0)}–${u.end.toFixed(0)} ms |`)
    lines.push(`| ${side === 'ours' ? 'flagship-segment' : 'official'} | **total** | ${s.before.length} requests in ${s.rounds} sequential rounds; JS + wasm gzip bodies alone ${kb(s.moduleGzip)} | **${s.bytes.toLocaleString('en-US')}** (${kb(s.bytes)}) | |`)
  }
  return [
    `| side | what | URL | bytes | median start–end (${p.label}) |`,
    '|---|---|---|---|---|',
    ...lines,
  ].join('\n')
}

/** Requests each side made after its first flag (within the linger window), and where they went. */
export function afterList(r) {
  const p = r.profiles[0]
  return ['ours', 'theirs']
    .map((side) => {
      const after = p.sides[side].after
      const name = side === 'ours' ? 'flagship-segment' : 'official'
      if (!after.length) return `- ${name}: none`
      const one = (u) =>
        `${u.method} \`${u.url}\` in ${u.loads}/${p.sides[side].ms.length} loads` +
        (u.status ? `, answered ${u.status}` : '') +
        (u.startedBefore ? `, started before the flag was in hand in ${u.startedBefore}` : '') +
        (u.failed ? ` (CDP reports ${u.failed})` : '')
      return `- ${name}: ${after.map(one).join('; ')}`
    })
    .join('\n')
}

/** The in-page marks of each side, per profile. */
export function marks(r) {
  const one = (s) => [s.marks.script, s.marks.loaded, s.marks.decided, s.median].map(n).join(' / ')
  return r.profiles.map((p) => `${p.label}: ours ${one(p.sides.ours)}, official ${one(p.sides.theirs)}`).join('; ')
}

/**
 * The section BENCHMARKS.md starts with. `sourceCommit`: the last commit that changed the build
 * inputs where the rest of the file is measured; a different one marks these figures as stale.
 */
export function pageSection(r, { sourceCommit } = {}) {
  const m = r.meta
  const stale = sourceCommit && m.sourceCommit && sourceCommit !== m.sourceCommit
    ? ` **Stale:** measured on the build of ${m.sourceCommit.slice(0, 10)}, the rest of this file on that of ${sourceCommit.slice(0, 10)}; rerun \`./run bench-page\`.`
    : ''
  const totals = r.profiles.map((p) => `${p.label} ${kb(p.sides.ours.bytes)} vs ${kb(p.sides.theirs.bytes)}`).join(', ')
  const cpu = r.profiles.map((p) => `${p.label} ${p.cpuCheck.toFixed(1)} ms`).join(', ')
  return `## Navigation → first flag (page level)

Produced by \`./run bench-page\` (bench/page.mjs) on ${m.date}, commit ${m.commit.slice(0, 10)}${m.dirty ? ' with uncommitted changes to the build inputs' : ''};
load average (1/5/15 min) ${m.loadavgStart.map((l) => l.toFixed(2)).join(' / ')} at the start, ${m.loadavgEnd.map((l) => l.toFixed(2)).join(' / ')} at the end
(${m.cores} cores, shared with other developers). Headless Chromium ${m.chromium}. ${m.loads} fresh loads per side and profile,
sides alternated, ${m.warmup} discarded warm-up load per side and profile first.${stale}

${timingTable(r)}

Bytes received before the first flag (CDP \`Network.loadingFinished.encodedDataLength\`: the gzip -9 body plus the
response headers; totals ${totals}):

${bytesTable(r)}

Requests that ended after the first flag (within ${m.lingerMs} ms of it, ${r.profiles[0].label}):

${afterList(r)}

In-page marks, medians in ms from navigation (module script running / module ready: \`init()\`
resp. \`Flagship.start\` resolved / decision applied / flag in hand): ${marks(r)}.

**Method.** One local Node http server on 127.0.0.1 serves both pages, both modules and a Decision
API answering the same one-campaign decision for the visitor ID in the request body; the static
files are gzip -9 (precompressed once, \`content-encoding: gzip\`, \`cache-control: no-store\`, \`.wasm\`
as \`application/wasm\`). Ours is the \`--target web\` build (\`${m.oursDir}\`, its JS glue as
wasm-bindgen writes it, not minified) loaded by an inline \`<script type="module">\`: fake loaded
Segment, \`await init()\`, \`await start({envId, apiKey, endpoints})\`, \`getFlag("btnColor", "grey")\`.
Theirs is \`@flagship.io/js-sdk\` ${m.sdkVersion}'s browser ESM build bundled into one file by esbuild
(\`--bundle --minify --format=esm --platform=browser --target=es2020\`, ${kb(m.theirsBundle.gzip)} gzip),
loaded the same way: fake Segment, visitor ID from \`analytics.user().anonymousId()\`,
\`Flagship.start(..., {fetchNow: false, decisionMode: DECISION_API, decisionApiUrl: <this server>/v2/})\`,
\`newVisitor({visitorId, hasConsented: true})\`, \`await fetchFlags()\`, \`getFlag("btnColor").getValue("grey")\`.
The clock is \`performance.now()\` in the page when the flag value is in hand, so it runs from
navigation start and includes the HTML, fetching, compiling and running each module, and the
decision request (and, for the official SDK, the account-settings request \`Flagship.start\` awaits
in Decision API mode). "Sequential rounds" counts groups of overlapping requests before the first
flag, each starting after the previous group ended. Each load is a fresh browser context (cold HTTP and code cache, empty storage);
throttling is applied through a CDP session before navigation: "Slow 4G" is
\`Network.emulateNetworkConditions\` with 150 ms latency, 1.6 Mbps down, 750 kbps up (per request;
Chromium does not model TCP handshakes), "CPU 4×" is \`Emulation.setCPUThrottlingRate(4)\`. A fixed
JS loop timed in each page after its result checks the CPU throttle held across the navigation
(median: ${cpu}). ${m.hardcodedNote}
p10/p90 are nearest-rank over the ${m.loads} loads.
`
}

/** What bench/page.mjs prints at the end. */
export function summary(r) {
  return `${timingTable(r)}\n\n${bytesTable(r)}\n\nended after the first flag (${r.profiles[0].label}):\n${afterList(r)}\n\nin-page marks (script / loaded / decided / flag): ${marks(r)}\n`
}
