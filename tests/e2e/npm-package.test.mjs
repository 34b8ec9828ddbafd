// The npm package as a user gets it: `npm pack` pkg/, install the tarball into a throwaway Vite
// app under target/, `vite build` it, serve dist/ and read a flag in headless Chromium through
// both entries (`flagship-segment`, the bundler build via vite-plugin-wasm, and
// `flagship-segment/web`, which Vite handles with no plugin). Vite and the plugin are the root
// devDependencies (versions pinned in package-lock.json); the app installs only the tarball, so
// nothing but the local file is fetched. The typed usage file is also checked against the
// installed package, resolved through its `exports` as a user's tsc would. Needs `./run build`.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import path from 'node:path'
import { API_KEY, ENV_ID, launch, pkgDir, root, routeFlagship, serve, until, watch } from './ship-support.mjs'

const work = path.join(root, 'target/npm-e2e')
const app = path.join(work, 'app')
const manifest = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'))
let packed, browser, server

const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

before(async () => {
  rmSync(work, { recursive: true, force: true })
  mkdirSync(app, { recursive: true })
  ;[packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], pkgDir))

  writeFileSync(path.join(app, 'package.json'), JSON.stringify({
    name: 'flagship-segment-vite-check',
    private: true,
    type: 'module',
    dependencies: { 'flagship-segment': `file:../${packed.filename}` },
  }, null, 2))
  writeFileSync(path.join(app, 'vite.config.js'), `import { defineConfig } from 'vite'
import wasm from 'vite-plugin-wasm'
export default defineConfig({ plugins: [wasm()], build: { target: 'esnext' }, logLevel: 'warn' })
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
  // Offline as far as the registry goes: the only dependency is the local tarball.
  run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--offline'], app)
  run(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build'], app)
  browser = await launch()
  server = await serve({ '/': path.join(app, 'dist') })
})

after(async () => {
  await browser?.close()
  await server?.close()
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
})

test('the installed package type-checks the typed usage file through its exports (no path mapping)', () => {
  mkdirSync(path.join(app, 'types'), { recursive: true })
  copyFileSync(path.join(root, 'tests/types/usage.ts'), path.join(app, 'types/usage.ts'))
  writeFileSync(path.join(app, 'types/tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, target: 'es2022', module: 'esnext', moduleResolution: 'bundler',
      lib: ['es2022', 'dom'], types: [], skipLibCheck: false,
    },
    files: ['usage.ts'],
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
  assert.ok(await until(() => seen.some((r) => r.url.includes('/v2/activate'))))
  assert.ok(!log.some((l) => l.startsWith('pageerror')), log.join('\n'))
  await page.close()
})
