// Completes pkg/ after the two wasm-pack builds (./run build): package.json, README, changelog,
// licences, the server entries (pkg/server/, one per runtime), the React entry (pkg/react/), the
// web build in two stages (pkg/web/flagship_segment.js, carrying the first stage's .wasm, and
// pkg/web/flagship_segment_full.js, the --target web glue bundled), and the classic script-tag
// build pkg/web/flagship-segment.js (js/script-tag.js bundled by esbuild, minified, no eval).
// Idempotent: it rewrites what it owns.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = new URL("..", import.meta.url).pathname;
const pkg = `${root}pkg/`;

// The [package] table of Cargo.toml is the single source of name, version, licence and words.
const cargo = readFileSync(`${root}Cargo.toml`, "utf8").split(/^\[/m).find((t) => t.startsWith("package]"));
const field = (name) => {
  const m = cargo.match(new RegExp(`^${name}\\s*=\\s*(.+)$`, "m"));
  return m && JSON.parse(m[1]);
};

const version = field("version");

// The package's entry points, one row each: an entry's `exports` subpath, its files and its types
// all come from its row, so adding an entry is adding a row.
//   path         the subpath under `exports` ("." is the package name itself)
//   types, js    its declarations and its module (`types` is listed first in `exports`, as
//                TypeScript requires)
//   runtimes     instead of `js`, one module per runtime, by `exports` condition, in the order
//                they are tried (a runtime matches several: Bun and Deno also match `node`);
//                `default` last
//   uses         the other files it loads at run time, packed with it (a trailing "/" is a folder)
//   sideEffects  importing it does something a bundler must keep even when nothing is imported
//   node         the Node.js versions the entry needs, for an entry that runs in Node (a server
//                helper, say); `engines.node` is derived from these. Browser entries leave it out.
//   peers        packages the entry imports but does not ship (`{ name: range }`), listed in
//                `peerDependencies`; all of them optional (`peerDependenciesMeta`), since the
//                package's other entries work without them.
// A row with `file` instead of `types` and `js` exports a plain file (a .wasm a page may preload
// or a bundler import as a URL).
const mainWasm = ["flagship_segment_bg.wasm", "flagship_segment_bg.wasm.d.ts", "flagship_segment_bucketing.wasm"];
// The web build's full module (its glue and .wasm) is loaded by its first stage at run time.
const webWasm = [...mainWasm, "flagship_segment_full.js"].map((f) => `web/${f}`);
const ENTRIES = [
  // Bundler build: the glue imports the .wasm as an ES module (webpack 5 asyncWebAssembly,
  // vite-plugin-wasm, ...) and instantiates it on import.
  { path: ".", types: "flagship_segment.d.ts", js: "flagship_segment.js", uses: ["flagship_segment_bg.js", ...mainWasm, "snippets/"], sideEffects: true },
  // The --target web build: call its default export (init) first, or let a bundler that
  // understands `new URL(..., import.meta.url)` find the .wasm.
  { path: "./web", types: "web/flagship_segment.d.ts", js: "web/flagship_segment.js", uses: webWasm },
  // The classic script-tag build: sets window.FlagshipSegment; its types declare that global.
  { path: "./web/flagship-segment.js", types: "web/flagship-segment.d.ts", js: "web/flagship-segment.js", uses: webWasm, sideEffects: true },
  { path: "./web/flagship_segment_bg.wasm", file: "web/flagship_segment_bg.wasm" },
  { path: "./web/flagship_segment_bucketing.wasm", file: "web/flagship_segment_bucketing.wasm" },
  // decideFromCookies for server rendering (js/server/), with its own .wasm (src/server.rs): one
  // shared core and, per runtime, the few lines that load the .wasm the way that runtime can.
  {
    path: "./server",
    types: "server/index.d.ts",
    runtimes: {
      workerd: "server/workerd.mjs",
      "edge-light": "server/edge-light.mjs",
      deno: "server/deno.mjs",
      bun: "server/bun.mjs",
      node: "server/node.mjs",
      default: "server/fetch.mjs",
    },
    uses: ["server/core.mjs", "server/flagship_segment_server.wasm"],
    node: ">=18",
  },
  // The server's .wasm itself, for a runtime no condition covers (the `wasm` option).
  { path: "./server/flagship_segment_server.wasm", file: "server/flagship_segment_server.wasm" },
  // FlagshipSegmentProvider, useFlag, useFlagship (js/react.mjs): loads the ./web build lazily,
  // on the client only; React itself is the app's. Its types import React's.
  { path: "./react", types: "react/index.d.ts", js: "react/index.mjs", uses: ["web/flagship_segment.js", "web/flagship_segment.d.ts", ...webWasm], peers: { react: ">=18", "@types/react": ">=18" } },
];
// Packed with every entry; CHANGELOG.md is what the registry page links as the release notes.
const DOCS = ["README.md", "CHANGELOG.md", "LICENSE-MIT", "LICENSE-APACHE"];

const rel = (file) => `./${file}`;
const modulesOf = (e) => (e.runtimes ? Object.values(e.runtimes) : [e.js]);
for (const e of ENTRIES.filter((e) => e.runtimes)) {
  if (Object.keys(e.runtimes).at(-1) !== "default") throw new Error(`${e.path}: the \`default\` runtime must come last`);
}
const exportsMap = Object.fromEntries([
  ...ENTRIES.map((e) => [
    e.path,
    e.file
      ? rel(e.file)
      : { types: rel(e.types), ...Object.fromEntries(Object.entries(e.runtimes ?? { default: e.js }).map(([c, f]) => [c, rel(f)])) },
  ]),
  ["./package.json", "./package.json"],
]);
const files = [...new Set(ENTRIES.flatMap((e) => (e.file ? [e.file] : [e.types, ...modulesOf(e), ...(e.uses ?? [])])).concat(DOCS))];
const nodeRanges = [...new Set(ENTRIES.map((e) => e.node).filter(Boolean))];
if (nodeRanges.length > 1) throw new Error(`entries need different Node.js ranges (${nodeRanges.join(", ")}): give them one`);
const peers = {};
for (const entry of ENTRIES) {
  for (const [name, range] of Object.entries(entry.peers ?? {})) {
    if (peers[name] !== undefined && peers[name] !== range) throw new Error(`entries need different ranges of ${name} (${peers[name]}, ${range}): give them one`);
    peers[name] = range;
  }
}
const bare = ENTRIES.find((e) => e.path === ".");
const scriptTag = ENTRIES.find((e) => e.path === "./web/flagship-segment.js");

const manifest = {
  name: field("name"),
  version,
  description: field("description"),
  license: field("license"),
  keywords: field("keywords"),
  type: "module",
  ...(nodeRanges.length && { engines: { node: nodeRanges[0] } }),
  ...(Object.keys(peers).length && {
    peerDependencies: peers,
    peerDependenciesMeta: Object.fromEntries(Object.keys(peers).map((name) => [name, { optional: true }])),
  }),
  // For tools that read no `exports`: the bundler build.
  main: rel(bare.js),
  module: rel(bare.js),
  types: rel(bare.types),
  exports: exportsMap,
  // CDNs that serve npm packages open the script-tag build by default.
  unpkg: rel(scriptTag.js),
  jsdelivr: rel(scriptTag.js),
  files,
  // The rest is side-effect free.
  sideEffects: ENTRIES.filter((e) => e.sideEffects).map((e) => rel(e.js)),
};
writeFileSync(`${pkg}package.json`, `${JSON.stringify(manifest, null, 2)}\n`);
for (const file of DOCS) copyFileSync(`${root}${file}`, `${pkg}${file}`);
copyFileSync(`${root}js/script-tag.d.ts`, `${pkg}web/flagship-segment.d.ts`);
// The server entry is written by hand (./run build puts its .wasm beside it): js/server/ as is.
for (const file of readdirSync(`${root}js/server`)) copyFileSync(`${root}js/server/${file}`, `${pkg}server/${file}`);
// So is the React entry; it imports ../web/flagship_segment.js, the web build below.
mkdirSync(`${pkg}react`, { recursive: true });
copyFileSync(`${root}js/react.mjs`, `${pkg}react/index.mjs`);
copyFileSync(`${root}js/react.d.ts`, `${pkg}react/index.d.ts`);

// js/web/full.js exports the glue's setBucketingEngineSource, which the glue imports from the copy
// wasm-bindgen wrote to pkg/web/snippets/<crate>-<hash>/js/: resolved to that copy, so that the
// URL set is the one the module uses.
const webGlue = `${pkg}web/flagship_segment.js`;
const glue = readFileSync(webGlue, "utf8");
// The glue is replaced by the first stage's entry below: a second run would bundle that.
if (glue.startsWith("/* flagship-segment ")) {
  console.error("pkg/web/flagship_segment.js is already the bundle: run ./run build, which runs wasm-pack first");
  process.exit(1);
}
const imported = glue.match(/["'](\.\/snippets\/[^"']+\/js\/bucketing-engine\.js)["']/);
const loaderCopy = imported ? `${pkg}web/${imported[1].slice(2)}` : undefined;
const banner = { js: `/* flagship-segment ${version} | MIT OR Apache-2.0 */` };
const common = { bundle: true, minify: true, target: "es2020", legalComments: "none", banner, logLevel: "warning" };

// The bucketing engine's loader looks for the engine three levels up from its own copy in
// snippets/ (where wasm-bindgen puts it). Bundled into the web builds, it sits next to the engine:
// a bundler that resolves `new URL(literal, import.meta.url)` (webpack 5 fails on a missing file)
// must find it there.
const engineBeside = {
  name: "engine-beside",
  setup(build) {
    build.onLoad({ filter: /bucketing-engine\.js$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      const from = '"../../../flagship_segment_bucketing.wasm"';
      if (!source.includes(from)) throw new Error(`${args.path}: the engine's default URL moved; update engine-beside`);
      return { contents: source.replace(from, '"./flagship_segment_bucketing.wasm"'), loader: "js" };
    });
  },
};

// The full module: js/web/full.js with the glue, its snippets and the read cache, one file.
await build({
  ...common,
  entryPoints: [`${root}js/web/full.js`],
  plugins: [
    engineBeside,
    {
      name: "full-module",
      setup(build) {
        build.onResolve({ filter: /^__GLUE__$/ }, () => ({ path: webGlue }));
        build.onResolve({ filter: /^\.\.\/bucketing-engine\.js$/ }, (args) =>
          loaderCopy && args.importer === `${root}js/web/full.js` ? { path: loaderCopy } : undefined);
      },
    },
  ],
  outfile: `${pkg}web/flagship_segment_full.js`,
  format: "esm",
});

// The first stage's .wasm (./run build puts it in target/first-stage/), gzip then base64 inside
// the entry: HTTP compression adds nearly nothing to that, and the page makes no request for it.
const firstStage = readFileSync(`${root}target/first-stage/flagship_segment_first.wasm`);
const firstStageText = gzipSync(firstStage, { level: 9 }).toString("base64");
const firstStagePlugin = {
  name: "first-stage",
  setup(build) {
    build.onLoad({ filter: /js\/web\/first-stage\.js$/ }, (args) => ({
      contents: readFileSync(args.path, "utf8").replace('"__FIRST_STAGE_WASM__"', JSON.stringify(firstStageText)),
      loader: "js",
    }));
  },
};
const define = { __VERSION__: JSON.stringify(version) };

// The web entry: the first stage and the page's handle; the full module stays a file of its own.
const webEntry = `${pkg}web/flagship_segment.entry.js`;
await build({ ...common, entryPoints: [`${root}js/web/entry.js`], plugins: [firstStagePlugin, engineBeside], define, outfile: webEntry, format: "esm" });

await build({
  ...common,
  entryPoints: [`${root}js/script-tag.js`],
  plugins: [firstStagePlugin, engineBeside],
  outfile: `${pkg}web/flagship-segment.js`,
  format: "iife",
  define,
  // The entry's `new URL(..., import.meta.url)` defaults are never reached: the script passes
  // init() the .wasm URL it derived from document.currentScript.
  logOverride: { "empty-import-meta": "silent" },
});
renameSync(webEntry, webGlue);
rmSync(`${pkg}web/snippets`, { recursive: true, force: true });

// The entry's declarations are the glue's, but for what the two-stage loader changes: init()
// and initSync() load nothing the page could use.
const declarations = readFileSync(`${pkg}web/flagship_segment.d.ts`, "utf8");
const loaderTypes = `
/** Where the full module's .wasm is served from (or its bytes, or the compiled module), as \`init()\` takes it. */
export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;
export type SyncInitInput = BufferSource | WebAssembly.Module;

/**
 * Compiles the first stage (begun on import) and, given one, records where the full module's
 * .wasm is (\`{ module_or_path }\`): the bucketing engine and flagship_segment_full.js are then
 * looked for next to that URL.
 */
export default function init(module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<void>;
/** Records the full module's .wasm (its bytes or the compiled module) for when it loads. */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): void;
`;
const cut = declarations.indexOf("export type InitInput");
if (cut < 0) throw new Error("pkg/web/flagship_segment.d.ts: wasm-bindgen's InitInput not found");
// The entry exports no class: `start()` resolves to an object with the class's members, so the
// type is an interface (an `import { FlagshipSegment }` used as a value would be undefined).
const classDeclaration = "export class FlagshipSegment {\n    private constructor();\n";
if (!declarations.includes(classDeclaration)) throw new Error("pkg/web/flagship_segment.d.ts: the FlagshipSegment class not found");
const webDeclarations = declarations.slice(0, cut).replace(classDeclaration, "export interface FlagshipSegment {\n");
writeFileSync(`${pkg}web/flagship_segment.d.ts`, webDeclarations + loaderTypes);

console.log(`pkg/package.json, README, changelog, licences, pkg/server/, pkg/react/, pkg/web/flagship_segment.js (first stage), flagship_segment_full.js and flagship-segment.js written (${version})`);
