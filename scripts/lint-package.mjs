// Lints the packed tarball as the ecosystem does (./run lint-package, and ./run test after the
// build): publint (--strict: its warnings fail too) and @arethetypeswrong/cli with the esm-only
// profile (the package is ESM-only), both pinned in package.json's devDependencies. Every subpath
// in `exports` is checked: attw gets the list of module entries explicitly (a wildcard subpath
// would be skipped by it, so one is refused here), and a plain-file entry must be in the tarball.
// The changelog must have a heading for the packed version. Exits non-zero on any finding.
//
//   node scripts/lint-package.mjs target/flagship-segment-<version>.tgz
import { execFileSync, spawnSync } from "node:child_process";
import path from "node:path";

const root = new URL("..", import.meta.url).pathname;
const tarball = process.argv[2];
if (!tarball) {
  console.error("usage: node scripts/lint-package.mjs <tarball>");
  process.exit(2);
}
const bin = (name) => path.join(root, "node_modules/.bin", name);
const read = (file) => execFileSync("tar", ["-xOzf", tarball, `package/${file}`], { encoding: "utf8" });
const packed = new Set(
  execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n").filter(Boolean).map((f) => f.replace(/^package\//, "")),
);
const manifest = JSON.parse(read("package.json"));

const problems = [];
const modules = [];
for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
  if (subpath.includes("*")) {
    problems.push(`exports["${subpath}"] is a pattern: list its files as subpaths so each one is checked`);
  } else if (typeof target === "string" && !/\.(m?js|json)$/.test(target)) {
    // A plain file (a .wasm): no types to check, but it must ship.
    if (!packed.has(target.replace(/^\.\//, ""))) problems.push(`exports["${subpath}"] → ${target} is not in the tarball`);
  } else {
    modules.push(subpath);
  }
}
if (modules.length === 0) problems.push("no module entry in exports");

const changelog = packed.has("CHANGELOG.md") ? read("CHANGELOG.md") : "";
// "## 0.2.0" (optionally followed by a date), then something other than the next heading.
const heading = new RegExp(`^## ${manifest.version.replace(/\./g, "\\.")}(?:[ \\t][^\\n]*)?\\n+[^#\\s]`, "m");
if (!heading.test(changelog)) problems.push(`CHANGELOG.md (packed) has no entries under "## ${manifest.version}"`);

const step = (title, cmd, args) => {
  console.log(`\n-- ${title}`);
  const { status } = spawnSync(cmd, args, { stdio: "inherit", cwd: root });
  if (status !== 0) problems.push(`${title} failed (exit ${status})`);
};
step(`publint --strict ${tarball}`, bin("publint"), ["run", "--strict", tarball]);
step(`attw --profile esm-only (entries: ${modules.join(" ")})`, bin("attw"), [
  "--profile", "esm-only", "--no-summary", "--no-color", "--entrypoints", ...modules, "--", tarball,
]);

if (problems.length) {
  console.error(`\npackage lint: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exit(1);
}
console.log(`\npackage lint: ${manifest.name}@${manifest.version}: publint and attw clean on ${modules.length} module entries; ${Object.keys(manifest.exports).length} exports checked`);
