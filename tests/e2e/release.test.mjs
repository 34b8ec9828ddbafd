// The release path, outside the browser: `./run version X.Y.Z` on a copy of the files it edits,
// and the package lint (scripts/lint-package.mjs, publint + attw) on the packed tarball as built
// and on copies broken the ways it must refuse. Needs `./run build` (pkg/).
import { before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pkgDir, root } from './ship-support.mjs'

const work = path.join(root, 'target/release-check')
const manifest = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'))
let tarball

before(() => {
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work, { recursive: true })
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: pkgDir, encoding: 'utf8' }))
  tarball = path.join(work, packed.filename)
})

/** Runs `cmd` and returns its exit status and output, whatever the status. */
function attempt(cmd, args, cwd) {
  const { status, stdout, stderr } = spawnSync(cmd, args, { cwd, encoding: 'utf8' })
  return { status, output: `${stdout}${stderr}` }
}

const lint = (file) => attempt(process.execPath, [path.join(root, 'scripts/lint-package.mjs'), file], root)

/** A copy of the packed tarball with `change(dir)` applied to its unpacked `package/` folder. */
function broken(name, change) {
  const dir = path.join(work, name)
  mkdirSync(dir, { recursive: true })
  execFileSync('tar', ['-xzf', tarball, '-C', dir])
  change(path.join(dir, 'package'))
  const file = path.join(work, `${name}.tgz`)
  execFileSync('tar', ['-czf', file, '-C', dir, 'package'])
  return file
}

const editJson = (file, edit) => writeFileSync(file, JSON.stringify(edit(JSON.parse(readFileSync(file, 'utf8'))), null, 2))

test('the package as built passes publint and attw on every export', () => {
  const { status, output } = lint(tarball)
  assert.equal(status, 0, output)
  for (const subpath of Object.keys(manifest.exports).filter((s) => !s.endsWith('.wasm'))) {
    const name = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`
    assert.ok(output.includes(`"${name}"`), `attw did not check ${name}\n${output}`)
  }
})

test('the lint refuses types that are not shipped, a wildcard export, a missing .wasm and an empty changelog section', () => {
  const cases = [
    ['types-missing', (dir) => editJson(path.join(dir, 'package.json'), (m) => {
      m.exports['./web'].types = './web/nowhere.d.ts'
      return m
    }), /publint --strict .* failed|attw .* failed/],
    ['wildcard', (dir) => editJson(path.join(dir, 'package.json'), (m) => ({ ...m, exports: { ...m.exports, './web/*': './web/*' } })),
      /exports\["\.\/web\/\*"\] is a pattern/],
    ['wasm-missing', (dir) => rmSync(path.join(dir, 'web/flagship_segment_bucketing.wasm')),
      /web\/flagship_segment_bucketing\.wasm is not in the tarball/],
    ['changelog-empty', (dir) => {
      const file = path.join(dir, 'CHANGELOG.md')
      writeFileSync(file, readFileSync(file, 'utf8').replace(`## ${manifest.version}\n`, `## ${manifest.version}\n\n## 0.0.1\n`))
    }, new RegExp(`no entries under "## ${manifest.version.replace(/\./g, '\\.')}"`)],
  ]
  for (const [name, change, expected] of cases) {
    const { status, output } = lint(broken(name, change))
    assert.equal(status, 1, `${name}: the lint passed\n${output}`)
    assert.match(output, expected, name)
  }
})

test('./run version sets Cargo.toml, Cargo.lock, the README tarball name and a changelog heading; refuses a bad or unchanged version', () => {
  const copy = path.join(work, 'repo')
  mkdirSync(copy, { recursive: true })
  for (const entry of ['run', 'Cargo.toml', 'Cargo.lock', 'README.md', 'CHANGELOG.md', 'src', 'examples']) {
    cpSync(path.join(root, entry), path.join(copy, entry), { recursive: true })
  }
  const read = (file) => readFileSync(path.join(copy, file), 'utf8')
  const old = manifest.version
  const next = `${Number(old.split('.')[0]) + 1}.0.0`
  const before = { readme: read('README.md'), changelog: read('CHANGELOG.md') }
  assert.ok(before.readme.includes(`flagship-segment-${old}.tgz`), 'the README names the current tarball')

  const { status, output } = attempt('./run', ['version', next], copy)
  assert.equal(status, 0, output)
  assert.match(read('Cargo.toml'), new RegExp(`^\\[package\\]\\nname = "flagship-segment"\\nversion = "${next}"$`, 'm'))
  assert.match(read('Cargo.lock'), new RegExp(`name = "flagship-segment"\\nversion = "${next}"\\n`))
  assert.equal(read('README.md'), before.readme.replaceAll(`flagship-segment-${old}.tgz`, `flagship-segment-${next}.tgz`))
  assert.equal(read('CHANGELOG.md'), before.changelog.replace(`## ${old}\n`, `## ${next}\n\n## ${old}\n`))

  const after = ['Cargo.toml', 'Cargo.lock', 'README.md', 'CHANGELOG.md'].map(read)
  assert.equal(attempt('./run', ['version', next], copy).status, 1, 'the same version again')
  assert.equal(attempt('./run', ['version', 'v2'], copy).status, 2, 'not semver')
  assert.deepEqual(['Cargo.toml', 'Cargo.lock', 'README.md', 'CHANGELOG.md'].map(read), after, 'a refusal changes nothing')
})
