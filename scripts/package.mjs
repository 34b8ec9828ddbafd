// Completes pkg/ after the two wasm-pack builds (./run build): package.json, README and licences,
// and the classic script-tag build pkg/web/flagship-segment.js (js/script-tag.js bundled with the
// --target web glue by esbuild, minified, no eval). Idempotent: it rewrites what it owns.
import { copyFileSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
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
const manifest = {
  name: field("name"),
  version,
  description: field("description"),
  license: field("license"),
  repository: { type: "git", url: field("repository") },
  keywords: field("keywords"),
  type: "module",
  // Bundler build: the glue imports the .wasm as an ES module (webpack 5 asyncWebAssembly,
  // vite-plugin-wasm, ...). `./web` is the --target web build: call its default export (init)
  // first, or let a bundler that understands `new URL(..., import.meta.url)` find the .wasm.
  main: "./flagship_segment.js",
  module: "./flagship_segment.js",
  types: "./flagship_segment.d.ts",
  exports: {
    ".": { types: "./flagship_segment.d.ts", default: "./flagship_segment.js" },
    "./web": { types: "./web/flagship_segment.d.ts", default: "./web/flagship_segment.js" },
    "./web/*": "./web/*",
    "./package.json": "./package.json",
  },
  // CDNs that serve npm packages open the script-tag build by default.
  unpkg: "./web/flagship-segment.js",
  jsdelivr: "./web/flagship-segment.js",
  files: [
    "flagship_segment_bg.wasm",
    "flagship_segment_bg.wasm.d.ts",
    "flagship_segment_bucketing.wasm",
    "flagship_segment.js",
    "flagship_segment_bg.js",
    "flagship_segment.d.ts",
    "snippets/",
    "web/flagship_segment_bg.wasm",
    "web/flagship_segment_bg.wasm.d.ts",
    "web/flagship_segment_bucketing.wasm",
    "web/flagship_segment.js",
    "web/flagship_segment.d.ts",
    "web/flagship-segment.js",
    "web/flagship-segment.d.ts",
    "README.md",
    "LICENSE-MIT",
    "LICENSE-APACHE",
  ],
  // The bundler entry instantiates the wasm on import and the script-tag build sets a global:
  // a bundler must keep both even when nothing is imported from them. The rest is side-effect free.
  sideEffects: ["./flagship_segment.js", "./web/flagship-segment.js"],
};
writeFileSync(`${pkg}package.json`, `${JSON.stringify(manifest, null, 2)}\n`);
for (const file of ["README.md", "LICENSE-MIT", "LICENSE-APACHE"]) copyFileSync(`${root}${file}`, `${pkg}${file}`);
copyFileSync(`${root}js/script-tag.d.ts`, `${pkg}web/flagship-segment.d.ts`);

// js/script-tag.js imports js/bucketing-engine.js (setBucketingEngineUrl) while the glue imports
// the copy wasm-bindgen wrote to pkg/web/snippets/<crate>-<hash>/js/: two modules, two URL
// settings. The script's import is resolved to the copy the glue names, so the bundle holds one.
const glue = readFileSync(`${pkg}web/flagship_segment.js`, "utf8");
const imported = glue.match(/["'](\.\/snippets\/[^"']+\/js\/bucketing-engine\.js)["']/);
const loaderCopy = imported ? `${pkg}web/${imported[1].slice(2)}` : undefined;
const oneLoader = {
  name: "one-bucketing-engine-loader",
  setup(build) {
    build.onResolve({ filter: /^\.\/bucketing-engine\.js$/ }, (args) =>
      loaderCopy && args.importer === `${root}js/script-tag.js` ? { path: loaderCopy } : undefined);
  },
};

// The --target web build as shipped: js/web-entry.js bundled with the glue and its snippets into
// pkg/web/flagship_segment.js (one request, minified, the .wasm fetched on import). Written next
// to the glue first, which the script-tag build below still reads; then it replaces the glue.
const webGlue = `${pkg}web/flagship_segment.js`;
const webBundle = `${pkg}web/flagship_segment.bundle.js`;
const webEntry = {
  name: "web-entry",
  setup(build) {
    build.onResolve({ filter: /^__GLUE__$/ }, () => ({ path: webGlue }));
    build.onResolve({ filter: /^\.\/bucketing-engine\.js$/ }, (args) =>
      loaderCopy && args.importer === `${root}js/web-entry.js` ? { path: loaderCopy } : undefined);
  },
};
await build({
  entryPoints: [`${root}js/web-entry.js`],
  plugins: [webEntry],
  outfile: webBundle,
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2020",
  legalComments: "none",
  banner: { js: `/* flagship-segment ${version} | MIT OR Apache-2.0 */` },
  logLevel: "warning",
});

await build({
  entryPoints: [`${root}js/script-tag.js`],
  plugins: [oneLoader],
  outfile: `${pkg}web/flagship-segment.js`,
  bundle: true,
  format: "iife",
  minify: true,
  target: "es2020",
  legalComments: "none",
  define: { __VERSION__: JSON.stringify(version) },
  // The glue's `new URL(..., import.meta.url)` default is never reached: the loader always passes
  // the .wasm URL it derived from document.currentScript.
  logOverride: { "empty-import-meta": "silent" },
  banner: { js: `/* flagship-segment ${version} | MIT OR Apache-2.0 */` },
  logLevel: "warning",
});
renameSync(webBundle, webGlue);
rmSync(`${pkg}web/snippets`, { recursive: true, force: true });
console.log(`pkg/package.json, README, licences, pkg/web/flagship_segment.js (bundled) and pkg/web/flagship-segment.js written (${version})`);
