// Bundles the two React examples with esbuild, against the package built in pkg/ (./run build):
//
//   node examples/build.mjs [--out DIR] [--development]
//
// into DIR (default target/examples):
//   spa/    index.html (analytics-next from npm), snippet.html (Segment's snippet), their bundles
//           and the module's .wasm files: serve the folder as static files.
//   ssr/    server.mjs (run it with Node) and public/, the client bundle it serves.
// The SPA's settings are read from the environment now (FLAGSHIP_ENV_ID, FLAGSHIP_API_KEY,
// SEGMENT_WRITE_KEY, FLAGSHIP_EMULATOR); the server reads the same variables when it starts.
// --development bundles React's development build (StrictMode's double effects, hydration
// warnings); the default is the production build, minified.
//
// In an app of your own, `flagship-segment` is installed in node_modules and resolves by itself:
// the `fromPkg` plugin below only maps it to this repository's pkg/. esbuild does not follow
// `new URL("…", import.meta.url)`, so the .wasm files and the web build's full module
// (flagship_segment_full.js) are copied next to the bundles, where the module's code looks for
// them (Vite and webpack 5 find them without help).
import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const pkg = path.join(root, "pkg");

const WASM = ["flagship_segment_bg.wasm", "flagship_segment_bucketing.wasm", "flagship_segment_full.js"];

/** Resolves `flagship-segment` and its subpaths through pkg/package.json's `exports`, as a
 *  bundler does once the package is installed: the first of a subpath's conditions that is
 *  among `conditions` (the server entry has one module per runtime). With `external`, the
 *  bundle imports the files where they are (the server entry reads its .wasm from next to
 *  itself). */
function fromPkg({ external = false, conditions = ["import", "default"] } = {}) {
  const { exports } = JSON.parse(readFileSync(path.join(pkg, "package.json"), "utf8"));
  return {
    name: "flagship-segment-from-pkg",
    setup(build) {
      build.onResolve({ filter: /^flagship-segment(\/.*)?$/ }, (args) => {
        const subpath = `.${args.path.slice("flagship-segment".length)}`;
        const target = exports[subpath];
        if (!target) return { errors: [{ text: `pkg/package.json exports no "${subpath}"` }] };
        const file = typeof target === "string" ? target : target[Object.keys(target).find((c) => conditions.includes(c))];
        return { path: path.join(pkg, file), external };
      });
    },
  };
}

/** Builds both examples into `out`; `env` gives the SPA's settings (default process.env). */
export async function buildExamples({ out = path.join(root, "target/examples"), development = false, env = process.env } = {}) {
  rmSync(out, { recursive: true, force: true });
  const mode = development ? "development" : "production";
  const browser = {
    bundle: true,
    splitting: true,
    format: "esm",
    target: "es2020",
    jsx: "automatic",
    minify: !development,
    legalComments: "none",
    logLevel: "warning",
    plugins: [fromPkg()],
    define: { "process.env.NODE_ENV": JSON.stringify(mode) },
  };
  const setting = (name) => (env[name] === undefined ? "undefined" : JSON.stringify(env[name]));

  const spa = path.join(out, "spa");
  await build({
    ...browser,
    entryPoints: [path.join(here, "spa/with-npm.jsx"), path.join(here, "spa/with-snippet.jsx")],
    outdir: spa,
    define: {
      ...browser.define,
      ...Object.fromEntries(
        ["FLAGSHIP_ENV_ID", "FLAGSHIP_API_KEY", "SEGMENT_WRITE_KEY", "FLAGSHIP_EMULATOR"].map((name) => [`process.env.${name}`, setting(name)]),
      ),
    },
  });
  for (const page of ["index.html", "snippet.html"]) copyFileSync(path.join(here, "spa", page), path.join(spa, page));

  const ssr = path.join(out, "ssr");
  const assets = path.join(ssr, "public");
  await build({ ...browser, entryPoints: [path.join(here, "ssr/client.jsx")], outdir: assets });
  await build({
    entryPoints: [path.join(here, "ssr/server.jsx")],
    outfile: path.join(ssr, "server.mjs"),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node18",
    jsx: "automatic",
    logLevel: "warning",
    // React comes from node_modules at run time; flagship-segment's entries stay files of pkg/.
    packages: "external",
    plugins: [fromPkg({ external: true, conditions: ["node", "import", "default"] })],
  });

  for (const dir of [spa, assets]) {
    mkdirSync(dir, { recursive: true });
    for (const file of WASM) copyFileSync(path.join(pkg, "web", file), path.join(dir, file));
  }
  return { spa, ssr };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: "string" }, development: { type: "boolean" } } });
  const { spa, ssr } = await buildExamples({ out: values.out && path.resolve(values.out), development: values.development });
  console.log(`examples built: ${path.relative(process.cwd(), spa)}/ (static files), ${path.relative(process.cwd(), ssr)}/server.mjs`);
}
