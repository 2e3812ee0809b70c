/**
 * The published shape: `npm run build` compiles src/ to JavaScript whose entry points load without type
 * stripping (Node does not strip types under node_modules), and the built CLI runs.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { need, olderNodeOnPath } from '../support/environment.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-package-'))
after(() => rmSync(dir, { recursive: true, force: true }))

describe('package build', () => {
  it('compiles to dist/ whose subpath entry points and bin work without the TypeScript sources', async () => {
    // A copy of the package as npm would install it: package.json, bin, and the build; no src/.
    execFileSync(
      process.execPath,
      [
        join(root, 'node_modules/typescript/bin/tsc'),
        '-p',
        join(root, 'tsconfig.build.json'),
        '--outDir',
        join(dir, 'dist'),
      ],
      {
        cwd: root,
        stdio: 'pipe',
      },
    )
    cpSync(join(root, 'package.json'), join(dir, 'package.json'))
    cpSync(join(root, 'bin'), join(dir, 'bin'), { recursive: true })
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'))
    for (const sub of ['shared', 'client', 'server', 'authorization-server']) {
      const m = await import(pathToFileURL(join(dir, 'dist', sub, 'index.js')).href)
      assert.ok(Object.keys(m).length > 5, `${sub} exports`)
    }
    const version = execFileSync(process.execPath, [join(dir, 'bin/mcp-oauth.js'), '--version'], {
      encoding: 'utf8',
    })
    assert.match(version.trim(), /^\d+\.\d+\.\d+/)
  })

  it('on a Node.js without node:sqlite, the built authorization server imports and SQLite says which Node it needs', (t) => {
    const old = olderNodeOnPath()
    if (!need(t, 'a Node.js older than engines.node on PATH', old !== undefined)) return
    // Built by the test above; PostgreSQL storage and the rest must not need node:sqlite to load.
    const script = `const m = await import(${JSON.stringify(pathToFileURL(join(dir, 'dist/authorization-server/index.js')).href)});
      const sqlite = await import('node:sqlite').then(() => true, () => false);
      try { await m.createSqliteStorage(':memory:', { sealer: m.createSealer(m.generateStorageKey()) }); console.log(JSON.stringify({ opened: true, sqlite })) }
      catch (e) { console.log(JSON.stringify({ sqlite, name: e.name, code: e.code, message: e.message, hint: e.hint, postgres: typeof m.createPostgresStorage })) }`
    const out = execFileSync(old!.path, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      stdio: 'pipe',
    })
    const error = JSON.parse(out) as Record<string, string | boolean>
    // A Node between 22.13 and engines.node has node:sqlite: there the store simply opens.
    if (error['sqlite']) return assert.equal(error['opened'], true)
    assert.equal(error['name'], 'UnsupportedRuntimeError')
    assert.equal(error['code'], 'unsupported_runtime')
    assert.ok(String(error['message']).includes(`found Node.js ${old!.version}`), String(error['message']))
    assert.match(String(error['message']), /needs Node\.js >=\d+\.\d+/)
    assert.match(String(error['hint']), /install Node \d+\.\d+ or newer from https:\/\/nodejs\.org/)
    assert.equal(error['postgres'], 'function')
  })
})
