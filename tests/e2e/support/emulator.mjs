// Starts the built emulator for one test file and talks to its admin endpoints.
//
// Each file gets its own process on a port the OS picks (`--port 0`), so files can run in
// parallel and never collide with a demo left running on 8787.

import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const binary = path.join(root, 'target/debug/flagship-emulator')

/** The environment of www/bucketing.json as the tests use it; the emulator answers any ID. */
export const ENV_ID = 'e2e-env'
export const API_KEY = 'e2e-key'

/**
 * Spawns the emulator and resolves once it printed its address and answers `/_emulator/log`.
 * Rejects (after killing the process) if that takes longer than `timeoutMs`. With `apiKey`
 * null it checks no key, as `./run demo` does.
 */
export async function startEmulator({ apiKey = API_KEY, timeoutMs = 15_000 } = {}) {
  for (const needed of [binary, 'pkg/web/flagship_segment.js', 'www/vendor/segment.js']) {
    if (!existsSync(path.resolve(root, needed))) {
      throw new Error(`${needed} is missing: run ./run test (or ./run build) first`)
    }
  }
  const child = spawn(
    binary,
    [
      ...['--port', '0', '--bucketing', 'www/bucketing.json', '--www', 'www', '--pkg', 'pkg'],
      ...(apiKey ? ['--api-key', apiKey] : []),
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
  )
  // Kept for the failure message: the request log says what the emulator refused and why.
  let stderr = ''
  const origin = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`emulator did not start within ${timeoutMs} ms`)), timeoutMs)
    const fail = (error) => {
      clearTimeout(timer)
      child.kill()
      reject(new Error(`${error.message}\n${stderr}`))
    }
    child.once('error', fail)
    child.once('exit', (code) => fail(new Error(`emulator exited with ${code}`)))
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-20_000)
      const found = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(stderr)
      if (found) {
        clearTimeout(timer)
        child.removeAllListeners('exit')
        resolve(found[1])
      }
    })
  })
  const emulator = {
    origin,
    host: new URL(origin).host,
    /** The journal: decisions, activations, hits, segment, forwarded, dropped, rejected. */
    async log() {
      const response = await fetch(`${origin}/_emulator/log`, { signal: AbortSignal.timeout(5_000) })
      if (!response.ok) throw new Error(`GET /_emulator/log answered ${response.status}`)
      return response.json()
    },
    async reset() {
      const response = await fetch(`${origin}/_emulator/reset`, { method: 'POST', signal: AbortSignal.timeout(5_000) })
      if (response.status !== 204) throw new Error(`POST /_emulator/reset answered ${response.status}`)
    },
    /** Polls the journal until `predicate(log)` is truthy; rejects with the last log otherwise. */
    async waitForLog(predicate, { timeoutMs = 10_000, what = 'condition' } = {}) {
      const deadline = Date.now() + timeoutMs
      let last
      while (Date.now() < deadline) {
        last = await emulator.log()
        if (predicate(last)) return last
        await new Promise((r) => setTimeout(r, 50))
      }
      throw new Error(`emulator log: ${what} not met within ${timeoutMs} ms\n${JSON.stringify(last, null, 1)}`)
    },
    /** The last lines the emulator printed (one per request), for failure messages. */
    output: () => stderr,
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000))])
      if (child.exitCode === null) child.kill('SIGKILL')
    },
  }
  await emulator.log()
  return emulator
}
