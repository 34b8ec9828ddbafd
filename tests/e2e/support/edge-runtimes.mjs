// Starts the app of support/edge-app.mjs in each edge runtime, each from its npm package (the
// pinned devDependencies `workerd`, `edge-runtime`, `deno`, `bun`; their binaries come from the
// registry as optional dependencies, nothing is downloaded at install or run time), serving
// the runtime's example with the probe beside it (tests/e2e/edge/host-*.js). Each runtime is one
// process on a port the OS picks; `start(name, app, env)` resolves to `{ origin, output(),
// stop() }` or rejects with what the runtime printed: a runtime that cannot start fails the test.

import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'

import { bundleForEdge } from './edge-bundle.mjs'
import { root } from './emulator.mjs'

const bin = (name) => path.join(root, 'node_modules/.bin', name)

/**
 * Spawns `cmd` and resolves once it printed an http:// origin matching `ready` (on stdout,
 * stderr or, with `controlFd`, workerd's control pipe on fd 3, whose `listen` event gives the
 * port).
 */
function spawnServer(cmd, args, { cwd, env = {}, ready, controlFd = false, timeoutMs = 30_000 }) {
  const child = spawn(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', ...(controlFd ? ['pipe'] : [])],
  })
  let printed = ''
  const output = () => printed
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${path.basename(cmd)} did not start within ${timeoutMs} ms`)), timeoutMs)
    const fail = (error) => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new Error(`${error.message}\n${printed}`))
    }
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000))])
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
    const watch = (stream) => {
      stream.setEncoding('utf8')
      stream.on('data', (chunk) => {
        printed = (printed + chunk).slice(-20_000)
        const found = ready.exec(printed)
        if (found) {
          clearTimeout(timer)
          child.removeAllListeners('exit')
          resolve({ origin: found[1], output, stop, pid: child.pid })
        }
      })
    }
    child.once('error', fail)
    child.once('exit', (code, signal) => fail(new Error(`${path.basename(cmd)} exited with ${code ?? signal}`)))
    watch(child.stdout)
    watch(child.stderr)
    if (controlFd) watch(child.stdio[3])
  })
}

/** A workerd config: the bundle and its .wasm modules, `env` as text bindings, and an outbound
 *  network that may reach 127.0.0.1 (workerd's default reaches public addresses only). */
function workerdConfig(modules, env) {
  const text = (value) => JSON.stringify(String(value))
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "network", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
${modules.map((name) => `    (name = ${text(name)}, wasm = embed ${text(name)}),`).join('\n')}
  ],
  compatibilityDate = "2025-06-01",
  bindings = [
${Object.entries(env).map(([name, value]) => `    (name = ${text(name)}, text = ${text(value)}),`).join('\n')}
  ],
  globalOutbound = "network",
);
`
}

/** Bundles `entry` of the app as wrangler does and writes its workerd config; resolves to the
 *  folder `serveWorker` serves. */
export async function bundleWorker(app, env, { entry = 'host-workerd.js', dir = 'dist-workerd' } = {}) {
  const out = path.join(app, dir)
  const { modules } = await bundleForEdge('wrangler', path.join(app, entry), out)
  writeFileSync(path.join(out, 'config.capnp'), workerdConfig(modules, env))
  return out
}

/** `workerd serve` of a folder made by `bundleWorker`: a fresh process, a cold Worker. */
export async function serveWorker(out) {
  const server = await spawnServer(bin('workerd'), ['serve', 'config.capnp', '--control-fd=3'], {
    cwd: out,
    ready: /"port":(\d+)/,
    controlFd: true,
  })
  return { ...server, origin: `http://127.0.0.1:${server.origin}` }
}

/** Cloudflare's workerd: the host bundled as wrangler does, served by `workerd serve`. */
export async function startWorkerd(app, env) {
  return serveWorker(await bundleWorker(app, env))
}

/** Vercel's Edge Runtime (npm edge-runtime): the host bundled as Next.js does for the edge. */
export async function startEdgeLight(app, env) {
  const out = path.join(app, 'dist-edge-light')
  const { file, bindings } = await bundleForEdge('next-edge', path.join(app, 'host-edge-light.js'), out)
  writeFileSync(path.join(out, 'bindings.json'), JSON.stringify(bindings))
  writeFileSync(path.join(out, 'env.json'), JSON.stringify(env))
  return spawnServer(process.execPath, [path.join(root, 'tests/e2e/support/edge-light-host.mjs'), file, 'bindings.json', 'env.json'], {
    cwd: out,
    ready: /listening on (http:\/\/127\.0\.0\.1:\d+)/,
  })
}

/** Deno (npm deno): `deno serve` of the host, with no permission but network and environment. */
export function startDeno(app, env) {
  return spawnServer(bin('deno'), ['serve', '--host', '127.0.0.1', '--port', '0', '--allow-net', '--allow-env', 'host-deno.js'], {
    cwd: app,
    // No update check (it would go to the network), and its cache inside the app.
    env: { ...env, DENO_NO_UPDATE_CHECK: '1', DENO_DIR: path.join(app, '.deno'), NO_COLOR: '1' },
    ready: /Listening on (http:\/\/127\.0\.0\.1:\d+)/,
  })
}

/** Bun (npm bun): the host, which starts Bun.serve. */
export function startBun(app, env) {
  return spawnServer(bin('bun'), ['host-bun.js'], {
    cwd: app,
    env: { ...env, DO_NOT_TRACK: '1', NO_COLOR: '1' },
    ready: /listening on (http:\/\/127\.0\.0\.1:\d+)/,
  })
}

/** The runtimes by the package's `exports` condition that picks their entry. */
export const RUNTIMES = { workerd: startWorkerd, 'edge-light': startEdgeLight, deno: startDeno, bun: startBun }
