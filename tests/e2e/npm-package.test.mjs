// The npm package as a user gets it, following README.md literally: `npm pack` pkg/ into target/
// (what `./run pack` writes), copy the tarball into a throwaway app under target/ and run the
// README's install command there, write the README's vite.config.js, `vite build`, serve dist/
// and read flags in headless Chromium. One page reads a flag through both entries
// (`flagship-segment`, the bundler build via vite-plugin-wasm, and `flagship-segment/web`, which
// Vite handles with no plugin); the other is the README's quick start, as written but for the
// environment ID and API key a user fills in, on a page with a Segment loader, with the Flagship and
// Segment hosts answered by the local emulator. The blocks are found in README.md by their
// `<!-- readme-test: NAME -->` markers. Vite and the plugin are the root devDependencies (versions
// pinned in package-lock.json); the install runs with npm offline, so nothing but the local file
// is fetched. The typed usage file is also checked against the installed package, resolved
// through its `exports` as a user's tsc would. Needs `./run build` and the emulator binary.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, execSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import path from 'node:path'
import { API_KEY, ENV_ID, launch, pkgDir, root, routeFlagship, routeSegment, segmentLoader, serve, until, watch } from './ship-support.mjs'
import { newPage } from './support/browser.mjs'
import { API_KEY as EMULATOR_KEY, ENV_ID as EMULATOR_ENV, startEmulator } from './support/emulator.mjs'

const work = path.join(root, 'target/npm-e2e')
const app = path.join(work, 'app')
const manifest = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'))
const readme = readFileSync(path.join(root, 'README.md'), 'utf8')
let packed, browser, server, emulator

const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

/** The fenced code block right after `<!-- readme-test: NAME -->` in README.md. */
function readmeBlock(name) {
  const found = readme.match(new RegExp(`<!-- readme-test: ${name} -->\\s*\`\`\`[a-z]*\\n([\\s\\S]*?)\\n\`\`\``))
  if (!found) throw new Error(`README.md has no code block marked <!-- readme-test: ${name} -->`)
  return found[1]
}

before(async () => {
  rmSync(work, { recursive: true, force: true })
  mkdirSync(app, { recursive: true })
  // `./run pack`'s step after the build: the same command, the same file.
  ;[packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', path.join(root, 'target')], pkgDir))

  // A newcomer's app: a package.json, the tarball copied in, then the README's install command.
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({
    name: 'flagship-segment-vite-check',
    private: true,
    type: 'module',
  }, null, 2))
  copyFileSync(path.join(root, 'target', packed.filename), path.join(app, packed.filename))
  const install = readmeBlock('install').split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean)
  assert.ok(install.length > 0, 'the README install block is empty')
  for (const command of install) {
    const [tarball] = command.match(/\S+\.tgz\b/) ?? []
    if (tarball) {
      assert.equal(path.basename(tarball), packed.filename, `the README installs ${tarball}; ./run pack writes target/${packed.filename}`)
    }
    // Offline as far as the registry goes: the only dependency is the local tarball.
    execSync(command, {
      cwd: app,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' },
    })
  }

  writeFileSync(path.join(app, 'vite.config.js'), readmeBlock('vite-config'))
  // The README's config as written, with this app's two pages as inputs.
  writeFileSync(path.join(app, 'vite.pages.config.js'), `import { mergeConfig } from 'vite'
import readme from './vite.config.js'
export default mergeConfig(readme, { build: { rollupOptions: { input: ['index.html', 'quick-start.html'] } } })
`)
  writeFileSync(path.join(app, 'index.html'), `<!doctype html><html><head>
<script type="module" src="/main.js"></script></head><body></body></html>
`)
  writeFileSync(path.join(app, 'main.js'), `import { start } from 'flagship-segment'
import init, { start as startWeb } from 'flagship-segment/web'

// Segment, loaded, as far as identity goes.
const user = { id: () => 'user-vite', anonymousId: () => 'anon-vite', traits: () => ({}) }
window.analytics = { initialized: true, user: () => user, on() {}, off() {} }

const options = { envId: '${ENV_ID}', apiKey: '${API_KEY}' }
try {
  const bundler = await start(options)
  document.body.dataset.bundler = bundler.getFlag('btnColor', 'grey')
  await init()
  const web = await startWeb(options)
  document.body.dataset.web = web.getFlag('btnColor', 'grey')
  document.body.dataset.visitor = web.visitorId
} catch (e) {
  document.body.dataset.error = String(e && e.message)
}
`)
  // The quick start: the page carries a Segment loader (with the page() call Segment's snippet
  // makes), then the README's module, in which a user fills in the environment ID and API key.
  const quickStart = readmeBlock('quick-start')
  assert.match(quickStart, /YOUR_ENV_ID/)
  assert.match(quickStart, /YOUR_API_KEY/)
  writeFileSync(path.join(app, 'quick-start.html'), `<!doctype html><html><head>
<script>${segmentLoader([['page']])}</script>
<script type="module" src="/quick-start.js"></script></head><body></body></html>
`)
  writeFileSync(path.join(app, 'quick-start.js'), `${quickStart.replaceAll('YOUR_ENV_ID', EMULATOR_ENV).replaceAll('YOUR_API_KEY', EMULATOR_KEY)}

// Added by the test: what the quick start read.
window.quickStart = { color, visitorId: fs.visitorId, status: fs.status }
`)
  run(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'vite.pages.config.js', '--logLevel', 'warn'], app)
  emulator = await startEmulator()
  browser = await launch()
  server = await serve({ '/': path.join(app, 'dist') })
})

after(async () => {
  await browser?.close()
  await server?.close()
  await emulator?.stop()
})

test('the tarball holds both builds, their types, the script-tag build, README and licences', () => {
  const files = packed.files.map((f) => f.path).sort()
  // An entry ending in "/" is a directory (wasm-bindgen's snippets/, named by a hash).
  const entries = [...manifest.files, 'package.json']
  const matches = (entry, file) => (entry.endsWith('/') ? file.startsWith(entry) : file === entry)
  assert.deepEqual(files.filter((f) => !entries.some((e) => matches(e, f))), [], 'only manifest.files is packed')
  for (const entry of entries) assert.ok(files.some((f) => matches(entry, f)), `${entry} is packed`)
  assert.equal(packed.name, 'flagship-segment')
  assert.equal(manifest.license, 'MIT OR Apache-2.0')
  assert.match(manifest.version, /^\d+\.\d+\.\d+/)
  for (const target of [manifest.main, manifest.module, manifest.types, manifest.exports['.'].default,
    manifest.exports['.'].types, manifest.exports['./web'].default, manifest.exports['./web'].types, manifest.unpkg]) {
    assert.ok(files.includes(target.replace(/^\.\//, '')), `${target} is packed`)
  }
  assert.ok(existsSync(path.join(app, 'node_modules/flagship-segment/web/flagship_segment_bg.wasm')))
  // The README's install command installed this tarball and recorded it as the app's dependency.
  const installed = JSON.parse(readFileSync(path.join(app, 'node_modules/flagship-segment/package.json'), 'utf8'))
  assert.equal(installed.version, manifest.version)
  const { dependencies } = JSON.parse(readFileSync(path.join(app, 'package.json'), 'utf8'))
  assert.equal(dependencies?.['flagship-segment'], `file:${packed.filename}`)
})

// Bundlers resolve `new URL("literal", import.meta.url)` at build time (webpack 5 fails the build
// when the file is missing, Vite warns): every such URL in a shipped JS file must name a file
// packed at that place.
test('every new URL(literal, import.meta.url) in the shipped JS names a file that is packed there', () => {
  const files = new Set(packed.files.map((f) => f.path))
  const scripts = [...files].filter((f) => /\.m?js$/.test(f))
  let seen = 0
  for (const script of scripts) {
    const text = readFileSync(path.join(pkgDir, script), 'utf8')
    for (const [, literal] of text.matchAll(/new URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g)) {
      seen += 1
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(script), literal))
      assert.ok(files.has(target), `${script}: new URL(${JSON.stringify(literal)}, import.meta.url) names ${target}, which is not packed`)
    }
  }
  assert.ok(seen >= 4, `found ${seen} such URLs: the pattern no longer matches the shipped files`)
})

test('the installed package type-checks the typed usage files through its exports (no path mapping)', () => {
  mkdirSync(path.join(app, 'types'), { recursive: true })
  // React's types for react.tsx come from the repository's node_modules, up the tree.
  const usage = ['usage.ts', 'server.ts', 'react.tsx']
  for (const file of usage) copyFileSync(path.join(root, 'tests/types', file), path.join(app, 'types', file))
  writeFileSync(path.join(app, 'types/tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, target: 'es2022', module: 'esnext', moduleResolution: 'bundler',
      lib: ['es2022', 'dom'], types: [], skipLibCheck: false, jsx: 'react-jsx',
    },
    files: usage,
  }))
  // Throws, with tsc's diagnostics, on any error.
  run(path.join(root, 'node_modules/.bin/tsc'), ['-p', path.join(app, 'types')], app)
})

test('a Vite app built from the tarball reads a flag through both entries', async () => {
  const page = await browser.newPage()
  const log = watch(page)
  const seen = await routeFlagship(page, { btnColor: 'blue' })
  await page.goto(`${server.origin}/`)
  await page.waitForFunction(() => document.body.dataset.web || document.body.dataset.error)
  const data = await page.evaluate(() => ({ ...document.body.dataset }))
  assert.deepEqual(data, { bundler: 'blue', web: 'blue', visitor: 'user-vite' }, log.join('\n'))
  const asked = seen.filter((r) => r.url.includes('/campaigns')).map((r) => JSON.parse(r.body).visitor_id)
  assert.deepEqual(asked, ['user-vite', 'user-vite'])
  // This Segment never dispatches a call: the seen-by-Segment gate holds the exposures its 5 s.
  const exposed = await until(() => seen.some((r) => r.url.includes('/v2/activate')), 10_000)
  assert.ok(exposed, `${log.join('\n')}\n${seen.map((r) => r.url).join('\n')}`)
  assert.ok(!log.some((l) => l.startsWith('pageerror')), log.join('\n'))
  await page.close()
})

test("the README's quick start, installed and bundled as the README says, reads a first flag from the emulator", { timeout: 60_000 }, async () => {
  const { context, page, console: output, errors } = await newPage(browser)
  const routed = []
  const elsewhere = []
  page.on('request', (request) => {
    const { host, origin } = new URL(request.url())
    if (origin !== server.origin && !/^(decision|events)\.flagship\.io$|^(cdn|api)\.segment\.(com|io)$/.test(host)) {
      elsewhere.push(request.url())
    }
  })
  /** Answers a production host from the emulator, keeping path, query, method, headers and body. */
  const forward = async (route) => {
    const request = route.request()
    const url = new URL(request.url())
    routed.push({ url: url.href, headers: request.headers() })
    await route.fulfill({ response: await route.fetch({ url: `${emulator.origin}${url.pathname}${url.search}` }) })
  }
  // analytics.js from node_modules as Segment's CDN would serve it; its calls (under /v1) and
  // the module's default Flagship hosts go to the emulator, whose connector judges them.
  await routeSegment(page)
  await page.route(/^https:\/\/api\.segment\.io\/v1\//, forward)
  await page.route(/^https:\/\/(decision|events)\.flagship\.io\//, forward)
  try {
    await page.goto(`${server.origin}/quick-start.html`)
    const read = await (await page.waitForFunction(() => window.quickStart, null, { timeout: 20_000 })).jsonValue()
    const anonymousId = await page.evaluate(() => window.analytics.user().anonymousId())
    assert.match(anonymousId, /^[0-9a-f-]{36}$/, 'Segment minted its anonymousId')
    assert.deepEqual({ visitorId: read.visitorId, status: read.status }, { visitorId: anonymousId, status: 'READY' })

    const decisions = routed.filter((r) => r.url.startsWith(`https://decision.flagship.io/v2/${EMULATOR_ENV}/campaigns`))
    assert.equal(decisions.length, 1, 'one decision request, to the default host, for the environment filled in')
    assert.equal(decisions[0].headers['x-api-key'], EMULATOR_KEY)

    // The exposure getFlag sent names the variation the emulator's bucketing gave this visitor:
    // the colour read is that variation's, not the quick start's default.
    const log = await emulator.waitForLog(
      (log) => log.activations.some((a) => a.vid === anonymousId) && log.hits.some((h) => h.ea === 'add-to-cart'),
      { what: "the quick start's exposure and its add-to-cart hit", timeoutMs: 15_000 },
    )
    const file = JSON.parse(readFileSync(path.join(root, 'www/bucketing.json'), 'utf8'))
    const variations = new Map(file.campaigns.flatMap((c) => c.variationGroups.flatMap((g) => g.variations.map((v) => [v.id, v.modifications.value]))))
    const exposed = log.activations.filter((a) => a.vid === anonymousId)
    assert.equal(exposed.length, 1, JSON.stringify(exposed))
    assert.notEqual(read.color, 'red')
    assert.equal(read.color, variations.get(exposed[0].vaid)?.btnColor)
    // Segment knew the visitor before the exposure arrived: the connector forwarded it.
    assert.deepEqual(log.dropped, [])
    assert.ok(log.forwarded.some((f) => f.source === 'activation' && f.anonymousId === anonymousId), JSON.stringify(log.forwarded))
    assert.deepEqual(elsewhere, [], 'requests to hosts no test answers')
    assert.deepEqual(errors.map((e) => e.message), [])
  } catch (error) {
    error.message += `\n--- page console ---\n${output.join('\n')}\n--- emulator ---\n${emulator.output().slice(-4_000)}`
    throw error
  } finally {
    await page.unrouteAll({ behavior: 'ignoreErrors' })
    await context.close()
  }
})
