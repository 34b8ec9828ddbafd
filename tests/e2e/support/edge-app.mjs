// The app the edge tests and the Worker bench run, made as a newcomer would: `npm pack` of pkg/,
// the tarball installed (offline: it has no dependencies) into a throwaway folder under
// target/, then examples/edge/ and the hosts of tests/e2e/edge/ copied next to it. Every runtime
// resolves `flagship-segment/server` from that node_modules through the package's `exports`,
// so each one gets the entry its condition picks. Bundlers also find the repository's
// node_modules up the tree (Next.js's `next/server` for the middleware).

import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'

import { root } from './emulator.mjs'

const run = (cmd, args, cwd, env = {}) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })

/** Makes the app in target/<name>/ and resolves to its folder. Needs `./run build` (pkg/). */
export function makeEdgeApp(name) {
  const app = path.join(root, 'target', name)
  rmSync(app, { recursive: true, force: true })
  mkdirSync(app, { recursive: true })
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', app], path.join(root, 'pkg')))
  writeFileSync(path.join(app, 'package.json'), `${JSON.stringify({ name: 'flagship-segment-edge-check', private: true, type: 'module' }, null, 2)}\n`)
  run('npm', ['install', `./${packed.filename}`], app, {
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_package_lock: 'false',
  })
  cpSync(path.join(root, 'examples/edge'), app, { recursive: true })
  cpSync(path.join(root, 'tests/e2e/edge'), app, { recursive: true })
  return app
}
