// Runs one bundled edge function (support/edge-bundle.mjs, tool "next-edge") in Vercel's Edge
// Runtime, the npm `edge-runtime` package, doing what the platform does around it: the function's
// WebAssembly bindings compiled outside the function and bound as globals, its environment on
// `process.env`, and code generation off (Vercel refuses `WebAssembly.compile` of bytes and
// `eval` in edge functions). Prints `listening on <url>` once the server is up.
//
//   node edge-light-host.mjs <edge-function.js> <bindings.json> <env.json>
import { readFile } from 'node:fs/promises'
import { EdgeRuntime, runServer } from 'edge-runtime'

const [code, bindings, env] = await Promise.all(process.argv.slice(2, 5).map((file) => readFile(file, 'utf8')))
const modules = {}
for (const { name, file } of JSON.parse(bindings)) modules[name] = await WebAssembly.compile(await readFile(file))

const runtime = new EdgeRuntime({
  codeGeneration: { strings: false, wasm: false },
  extend: (context) => Object.assign(context, modules, { process: { env: JSON.parse(env) } }),
})
runtime.evaluate(code)
const server = await runServer({ runtime, host: '127.0.0.1', port: 0 })
console.log(`listening on ${server.url}`)
