// What the page-level benchmarks share (bench/page.mjs, bench/repeat.mjs): the throttling
// profiles, the precompressed static files, and the order statistics. Kept in one place so that
// "Slow 4G + CPU 4×" means the same thing in every figure that quotes it.
import { readFileSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { gzipSync } from 'node:zlib'

/** Chromium's own throttling, applied through CDP before navigation (DevTools' "Slow 4G", a mid phone's CPU). */
export const PROFILES = [
  {
    key: 'slow4g',
    label: 'Slow 4G + CPU 4×',
    network: { offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8 },
    cpuRate: 4,
  },
  { key: 'none', label: 'unthrottled', network: null, cpuRate: 1 },
]

export const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
}

/**
 * Static files gzip -9'd once, as a CDN would serve them: `files` maps a URL path to
 * `{type, body (gzip), raw, gzip}`; `put` adds one, `walk` a directory under a URL prefix.
 */
export function gzipFiles() {
  const files = new Map()
  const put = (urlPath, data, type) => {
    const body = gzipSync(data, { level: 9 })
    files.set(urlPath, { type, body, raw: data.length, gzip: body.length })
  }
  const walk = (dir, prefix) => {
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name)
      if (statSync(file).isDirectory()) walk(file, `${prefix}${name}/`)
      else put(`${prefix}${name}`, readFileSync(file), TYPES[path.extname(name)] ?? 'application/octet-stream')
    }
  }
  return { files, put, walk }
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/** Nearest-rank quantile. */
export const rank = (xs, q) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(q * xs.length) - 1)]
