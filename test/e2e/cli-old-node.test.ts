/**
 * The bin run by a Node.js older than package.json's `engines.node` (the system Node 20 of CI and many machines):
 * one line on stderr naming the version needed, the version found and how to get a newer one; exit 1; no stack.
 * The old Node is found on PATH; off CI a machine without one skips, in CI it fails (test/support/environment.ts).
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { ENGINES_NODE, need, olderNodeOnPath } from '../support/environment.ts'

const bin = fileURLToPath(new URL('../../bin/mcp-oauth.js', import.meta.url))

describe('the bin on a Node.js older than engines.node', () => {
  const old = olderNodeOnPath()
  for (const args of [['--version'], ['serve', '--help'], ['users', 'add', 'someone'], ['status']]) {
    it(`mcp-oauth ${args.join(' ')}: one line naming both versions and the fix, exit 1`, (t) => {
      if (!need(t, `a Node.js older than ${ENGINES_NODE} on PATH`, old !== undefined)) return
      const run = spawnSync(old!.path, [bin, ...args], { encoding: 'utf8', timeout: 30_000, input: '' })
      assert.equal(run.status, 1, run.stderr)
      assert.equal(run.stdout, '')
      const lines = run.stderr.split('\n')
      assert.equal(lines.length, 2, `one line and its newline:\n${run.stderr}`)
      assert.equal(lines[1], '')
      const line = lines[0]!
      assert.ok(line.includes(ENGINES_NODE), `names the version needed: ${line}`)
      assert.ok(line.includes(old!.version), `names the version found: ${line}`)
      assert.match(
        line,
        /install Node \d+\.\d+ or newer from https:\/\/nodejs\.org or with your version manager/,
      )
      assert.doesNotMatch(line, /ERR_|node:sqlite|Error/)
    })
  }
})
