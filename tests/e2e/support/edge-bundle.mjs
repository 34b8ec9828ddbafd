// Bundles an edge entry the way the platform's own tool does before deploying it, so that the
// tests run what a user would ship: esbuild (which wrangler uses, and which bundles like Next.js
// for this purpose) with the platform's export conditions, and `.wasm` imports turned into what
// the platform binds at deploy time. Nothing here is the package's: it only follows the
// published rules of each tool.
//
// - `wrangler`: conditions `workerd`, `worker`, `browser`; an imported `.wasm` (or `.wasm?module`)
//   stays an import and ships as a module of the Worker (wrangler's CompiledWasm rule), which
//   workerd hands to the import compiled.
// - `next-edge`: conditions `edge-light`, `worker`, `browser`; `import x from "….wasm?module"`
//   becomes a global binding that the edge sandbox fills with the compiled module before the
//   function runs (Next.js's middleware manifest lists it; Vercel and `next start` bind it). The
//   output is a script (no ES module syntax), as an edge function is evaluated.

import { createHash } from 'node:crypto'
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { build } from 'esbuild'

import { root } from './emulator.mjs'

const WASM = /\.wasm(\?module)?$/

/** wrangler's CompiledWasm rule: each .wasm copied next to the bundle, imported by its name. */
function wasmAsWorkerModule(outdir, modules) {
  return {
    name: 'wasm-as-worker-module',
    setup(build) {
      build.onResolve({ filter: WASM }, (args) => {
        const file = path.resolve(args.resolveDir, args.path.replace(/\?module$/, ''))
        const name = path.basename(file)
        copyFileSync(file, path.join(outdir, name))
        modules.add(name)
        return { path: `./${name}`, external: true }
      })
    },
  }
}

/** Next.js's `?module` import: a global named after the file's hash, bound by the sandbox. */
function wasmAsEdgeBinding(bindings) {
  return {
    name: 'wasm-as-edge-binding',
    setup(build) {
      build.onResolve({ filter: WASM }, (args) => ({
        path: path.resolve(args.resolveDir, args.path.replace(/\?module$/, '')),
        namespace: 'edge-wasm-binding',
      }))
      build.onLoad({ filter: /.*/, namespace: 'edge-wasm-binding' }, (args) => {
        const name = `wasm_${createHash('sha1').update(readFileSync(args.path)).digest('hex')}`
        bindings.set(name, args.path)
        return { contents: `export default globalThis[${JSON.stringify(name)}];`, loader: 'js' }
      })
    },
  }
}

/**
 * Bundles `entry` (a file of the app) into `outdir` for `tool` ("wrangler" or "next-edge").
 * Resolves to `{ file, modules }` (wrangler: the .wasm module names next to the bundle) or
 * `{ file, bindings }` (next-edge: `[{ name, file }]` to compile and bind).
 */
export async function bundleForEdge(tool, entry, outdir) {
  mkdirSync(outdir, { recursive: true })
  const common = {
    entryPoints: [entry],
    bundle: true,
    platform: 'neutral',
    mainFields: ['browser', 'module', 'main'],
    target: 'es2022',
    logLevel: 'warning',
  }
  if (tool === 'wrangler') {
    const modules = new Set()
    const file = path.join(outdir, 'worker.mjs')
    await build({
      ...common,
      outfile: file,
      format: 'esm',
      conditions: ['workerd', 'worker', 'browser'],
      plugins: [wasmAsWorkerModule(outdir, modules)],
    })
    return { file, modules: [...modules] }
  }
  if (tool === 'next-edge') {
    const bindings = new Map()
    const file = path.join(outdir, 'edge-function.js')
    await build({
      ...common,
      outfile: file,
      format: 'iife',
      conditions: ['edge-light', 'worker', 'browser'],
      // next/server as Next.js compiles it for the edge (its ES build of the two classes).
      alias: { 'next/server': path.join(root, 'tests/e2e/support/next-server-edge.js') },
      plugins: [wasmAsEdgeBinding(bindings)],
    })
    return { file, bindings: [...bindings].map(([name, wasm]) => ({ name, file: wasm })) }
  }
  throw new Error(`unknown tool ${tool}`)
}
