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
})
