/**
 * The bin run by a Node.js older than package.json's `engines.node` (the system Node 20 of CI and many machines):
 * one line on stderr naming the version needed, the version found and how to get a newer one; exit 1; no stack.
 * The old Node is found on PATH; off CI a machine without one skips, in CI it fails (test/support/environment.ts).
 */
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { accessSync, constants, readFileSync, realpathSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { need } from '../support/environment.ts'

const bin = fileURLToPath(new URL('../../bin/mcp-oauth.js', import.meta.url))
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  engines: { node: string }
}
const [needMajor, needMinor] = /(\d+)\.(\d+)/.exec(pkg.engines.node)!.slice(1).map(Number) as [number, number]

/** A `node` on PATH, other than the one running this test, whose version is below engines.node. */
function oldNode(): { path: string; version: string } | undefined {
  const self = realpathSync(process.execPath)
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue
    const path = join(dir, process.platform === 'win32' ? 'node.exe' : 'node')
    let real: string
    try {
      accessSync(path, constants.X_OK)
      real = realpathSync(path)
    } catch {
      continue
    }
    if (real === self) continue
    let version: string
    try {
      version = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 20_000 }).trim()
    } catch {
      continue
    }
    const m = /^v(\d+)\.(\d+)\.\d+/.exec(version)
    if (!m) continue
    const [major, minor] = [Number(m[1]), Number(m[2])]
    if (major < needMajor || (major === needMajor && minor < needMinor))
      return { path, version: version.slice(1) }
  }
  return undefined
}

describe('the bin on a Node.js older than engines.node', () => {
  const old = oldNode()
  for (const args of [['--version'], ['serve', '--help'], ['users', 'add', 'someone'], ['status']]) {
    it(`mcp-oauth ${args.join(' ')}: one line naming both versions and the fix, exit 1`, (t) => {
      if (!need(t, `a Node.js older than ${pkg.engines.node} on PATH`, old !== undefined)) return
      const run = spawnSync(old!.path, [bin, ...args], { encoding: 'utf8', timeout: 30_000, input: '' })
      assert.equal(run.status, 1, run.stderr)
      assert.equal(run.stdout, '')
      const lines = run.stderr.split('\n')
      assert.equal(lines.length, 2, `one line and its newline:\n${run.stderr}`)
      assert.equal(lines[1], '')
      const line = lines[0]!
      assert.ok(line.includes(pkg.engines.node), `names the version needed: ${line}`)
      assert.ok(line.includes(old!.version), `names the version found: ${line}`)
      assert.match(
        line,
        /install Node \d+\.\d+ or newer from https:\/\/nodejs\.org or with your version manager/,
      )
      assert.doesNotMatch(line, /ERR_|node:sqlite|Error/)
    })
  }
})
