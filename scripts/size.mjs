// Bytes we ship, raw / gzip -9 (zlib level 9) / brotli (quality 11), per build: the ES-module web
// build (pkg/web/flagship_segment.js, the first stage inside, then flagship_segment_full.js and
// the .wasm) and the classic script-tag build (pkg/web/flagship-segment.js, then the same two),
// each with what a page downloads before its first flag; the npm default (bundler) build for reference;
// then the bucketing engine (pkg/web/flagship_segment_bucketing.wasm, fetched only in
// `mode: "bucketing"`, its loader being part of the glue) and what a bucketing-mode page loads;
// last the server entry (pkg/server/), which no page downloads.
// `--json` prints the figures as JSON. `--twiggy` then rebuilds the same release .wasm with names
// (wasm-bindgen --keep-debug, wasm-opt with Cargo.toml's flags plus -g) and prints twiggy's top
// items and a breakdown by crate and module, and the engine's top items (from the unoptimised
// engine ./run build keeps in target/bucketing-engine/); twiggy must be on PATH.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const repo = new URL("..", import.meta.url).pathname;
const root = `${repo}pkg/`;

export function measure(path) {
  const bytes = readFileSync(path);
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length,
  };
}

/** The bucketing engine's .wasm (same file in pkg/ and pkg/web/). */
export const ENGINE = `${root}web/flagship_segment_bucketing.wasm`;

const sum = (a, b) => ({ raw: a.raw + b.raw, gzip: a.gzip + b.gzip, brotli: a.brotli + b.brotli });

export function report() {
  const wasm = measure(`${root}web/flagship_segment_bg.wasm`);
  const full = measure(`${root}web/flagship_segment_full.js`);
  // The web builds start in two stages: the entry file (the first stage's .wasm inside it) is
  // all a page downloads before its first flag; the full module's glue and .wasm come after.
  const staged = (entry) => {
    const first = measure(`${root}web/${entry}`);
    return { beforeFirstFlag: first, wasm, js: sum(first, full) };
  };
  const builds = {
    "web (ES module)": staged("flagship_segment.js"),
    "script tag": staged("flagship-segment.js"),
    "bundler (npm default)": {
      wasm: measure(`${root}flagship_segment_bg.wasm`),
      js: sum(measure(`${root}flagship_segment.js`), measure(`${root}flagship_segment_bg.js`)),
    },
  };
  for (const build of Object.values(builds)) {
    build.total = sum(build.wasm, build.js);
    build.beforeFirstFlag ??= build.total;
  }
  return builds;
}

/** The first stage's .wasm as built (./run build), before it is compressed into the web entry. */
const FIRST_STAGE = `${repo}target/first-stage/flagship_segment_first.wasm`;

// Where the bytes of the optimised .wasm go, by owner. Names are demangled Rust paths.
const GROUPS = [
  [/^"function names"|^custom section|^"/, "name section (absent from the shipped .wasm)"],
  [/^data segment/, "data segments (strings, panic locations, float and unicode tables)"],
  [/flt2dec|dec2flt|fmt::float|num::bignum|<f64 as|write_number/, "f64 formatting and parsing (core::num; write_number inlines it)"],
  [/unicode|to_lowercase|to_uppercase|printable|<char as .*Debug/, "unicode (to_lowercase, char Debug escaping)"],
  [/core.*fmt|Formatter|Display|Debug|pad_integral|alloc.*fmt::format/, "core::fmt (format!, Display, panics)"],
  [/dlmalloc|__rdl_|__rust_(alloc|dealloc|realloc)/, "allocator (dlmalloc)"],
  [/externref shim|multivalue shim|^import |__wbindgen|__wbg_|wasm_bindgen|js_sys|web_sys/, "wasm-bindgen shims, imports, js-sys"],
  [/btree|hashbrown|BTreeMap|HashMap|HashSet|hash::|sort::/, "collections (BTreeMap, HashMap/HashSet + SipHash, sort)"],
  [/GenericShunt|core::iter|Map<I,F>|FilterMap|try_fold/, "iterator adapters (collect::<Result<..>> and friends)"],
  [/flagship_segment::(\w+)(::(\w+))?/, (m) => `flagship_segment::${m[1]}${["browser", "json", "bucketing", "decision"].includes(m[1]) && m[3] ? `::${m[3]}` : ""}`],
  [/core::str|<str>|str::|from_utf8|memchr/, "core::str (search, UTF-8)"],
  [/alloc::|String|Vec|RawVec/, "alloc (String, Vec)"],
];

function twiggy() {
  const named = `${repo}target/size/named`;
  mkdirSync(named, { recursive: true });
  const cargo = readFileSync(`${repo}Cargo.toml`, "utf8");
  const flags = JSON.parse(cargo.match(/^wasm-opt\s*=\s*(\[.*\])/m)[1]);
  const run = (cmd, args) => execFileSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 28 });
  run("wasm-bindgen", ["--target", "web", "--keep-debug", "--out-dir", named,
    `${repo}target/wasm32-unknown-unknown/release/flagship_segment.wasm`]);
  // binaryen 132 from node_modules, never a wasm-opt found elsewhere on PATH (toolchain.md).
  run(`${repo}node_modules/.bin/wasm-opt`, [...flags, "-g", `${named}/flagship_segment_bg.wasm`, "-o", `${named}/optimised.wasm`]);
  console.log(`\ntwiggy top (release .wasm, wasm-opt ${flags.join(" ")}, names kept):`);
  console.log(run("twiggy", ["top", "-n", "25", `${named}/optimised.wasm`]));
  const items = JSON.parse(run("twiggy", ["top", "-n", "1000000", "-f", "json", `${named}/optimised.wasm`]));
  const groups = new Map();
  for (const { name, shallow_size: size } of items) {
    let group = "other";
    for (const [pattern, label] of GROUPS) {
      const m = name.match(pattern);
      if (m) { group = typeof label === "function" ? label(m) : label; break; }
    }
    groups.set(group, (groups.get(group) || 0) + size);
  }
  const total = [...groups].filter(([g]) => !g.startsWith("name section")).reduce((a, [, v]) => a + v, 0);
  console.log(`by owner (shallow bytes; % of the ${total} bytes without the name section):`);
  for (const [group, size] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    const share = group.startsWith("name section") ? "" : `${((100 * size) / total).toFixed(1)}%`;
    console.log(`${String(size).padStart(8)} ${share.padStart(6)}  ${group}`);
  }
  const engine = `${repo}target/bucketing-engine/unoptimised.wasm`;
  if (existsSync(engine)) {
    run(`${repo}node_modules/.bin/wasm-opt`, [...flags, "-g", engine, "-o", `${named}/engine.wasm`]);
    console.log(`\ntwiggy top (bucketing engine, wasm-opt ${flags.join(" ")}, names kept):`);
    console.log(run("twiggy", ["top", "-n", "25", `${named}/engine.wasm`]));
  }
  const stage = `${repo}target/first-stage/unoptimised.wasm`;
  if (existsSync(stage)) {
    run(`${repo}node_modules/.bin/wasm-opt`, [...flags, "-g", stage, "-o", `${named}/first-stage.wasm`]);
    console.log(`\ntwiggy top (first stage, wasm-opt ${flags.join(" ")}, names kept):`);
    console.log(run("twiggy", ["top", "-n", "25", `${named}/first-stage.wasm`]));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const builds = report();
  const engine = existsSync(ENGINE) ? measure(ENGINE) : null;
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify({ ...builds, "bucketing engine": engine }, null, 2));
  } else {
    const kb = (n) => `${(n / 1024).toFixed(1)} KiB`.padStart(10);
    const line = (name, part, f) =>
      console.log(`${name.padEnd(22)} ${part.padEnd(6)} ${kb(f.raw)} ${kb(f.gzip)} ${kb(f.brotli)}   (${f.raw} / ${f.gzip} / ${f.brotli} B)`);
    console.log(`${"build".padEnd(22)} ${"part".padEnd(6)} ${"raw".padStart(10)} ${"gzip -9".padStart(10)} ${"brotli".padStart(10)}`);
    for (const [name, build] of Object.entries(builds)) {
      for (const part of ["wasm", "js", "total"]) line(part === "wasm" ? name : "", part, build[part]);
      if (build.beforeFirstFlag !== build.total) line("", "first", build.beforeFirstFlag);
    }
    console.log(`${"".padEnd(22)} (first: what a page downloads before its first flag, the entry file with the first stage inside)`);
    if (existsSync(FIRST_STAGE)) line("first stage, alone", "wasm", measure(FIRST_STAGE));
    // Fetched only in mode "bucketing"; its loader is part of the glue above.
    if (engine) {
      line("bucketing engine", "wasm", engine);
      line("web + engine", "total", sum(builds["web (ES module)"].total, engine));
    } else {
      console.log(`bucketing engine: ${ENGINE} not built`);
    }
    // flagship-segment/server runs on the server: no page downloads it.
    const server = `${root}server/flagship_segment_server.wasm`;
    if (existsSync(server)) {
      line("server module", "wasm", measure(server));
      // The shared core; each runtime's entry adds a few lines to it.
      line("", "js", measure(`${root}server/core.mjs`));
    }
  }
  if (process.argv.includes("--twiggy")) twiggy();
}
