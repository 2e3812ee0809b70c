/**
 * Runs the official MCP conformance suite (pinned versions) over every client scenario whose name starts
 * with `auth/`, against test/conformance/client.ts. No expected-failures file: every scenario must pass. A scenario
 * that passed only on its retry is named in the output with why its first run failed (a diagnostic on its test and
 * one summary line on stderr), so a flaky scenario is never hidden by the retry.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../..', import.meta.url))
const client = `${process.execPath} --conditions=mcp-oauth-source ${join(root, 'test/conformance/client.ts')}`
const out = mkdtempSync(join(tmpdir(), 'mcp-oauth-conformance-'))
after(() => rmSync(out, { recursive: true, force: true }))

const suites = [
  {
    version: '0.2.0-alpha.12',
    bin: join(root, 'node_modules/@modelcontextprotocol/conformance/dist/index.js'),
    atLeast: 33,
  },
  { version: '0.1.16', bin: join(root, 'node_modules/conformance-legacy/dist/index.js'), atLeast: 22 },
]

async function scenarios(bin: string): Promise<string[]> {
  const { stdout } = await run(process.execPath, [bin, 'list'], { cwd: root })
  return [...new Set(stdout.match(/auth\/[a-z0-9-]+/g) ?? [])].sort()
}

interface Outcome {
  ok: boolean
  output: string
  retried?: string
}

async function runScenario(bin: string, scenario: string): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [bin, 'client', '--command', client, '--scenario', scenario, '--timeout', '90000', '-o', out],
      { cwd: root, timeout: 120_000, maxBuffer: 32 * 1024 * 1024 },
    )
    const output = stdout + stderr
    return { ok: /OVERALL: PASSED/.test(output), output }
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string }
    return { ok: false, output: `${err.stdout ?? ''}${err.stderr ?? ''}` }
  }
}

/** The lines that say why a run failed (checks, client exit, timeouts, the client's own error). */
function summary(output: string): string {
  return output
    .split('\n')
    .filter((l) => /FAIL|failed|Error|CLIENT|timed out|Timeout|exited/i.test(l))
    .slice(-20)
    .join('\n')
}

for (const suite of suites) {
  describe(`conformance ${suite.version}: client auth/ scenarios`, async () => {
    const names = await scenarios(suite.bin)
    it(`lists at least ${suite.atLeast} auth/ scenarios`, () => {
      assert.ok(names.length >= suite.atLeast, `only ${names.length}: ${names.join(', ')}`)
    })
    // Three at a time: the suite starts its own servers per scenario and the machine is small.
    const results = new Map<string, Promise<Outcome>>()
    let next = 0
    const workers = Array.from({ length: 3 }, async () => {
      while (next < names.length) {
        const name = names[next++]!
        // One retry, recorded: on a loaded 2-core CI machine a scenario can time out; a real failure fails twice.
        const p = runScenario(suite.bin, name).then(async (first) =>
          first.ok ? first : { ...(await runScenario(suite.bin, name)), retried: first.output },
        )
        results.set(name, p)
        await p
      }
    })
    const all = Promise.all(workers)
    const retried: string[] = []
    for (const name of names) {
      it(name, async (t) => {
        while (!results.has(name)) await new Promise((r) => setTimeout(r, 50))
        const r = await results.get(name)!
        if (r.ok && r.retried !== undefined) {
          retried.push(name)
          t.diagnostic(`${name} passed only on its retry; the first run failed with:\n${summary(r.retried)}`)
        }
        assert.ok(r.ok, `${name} failed:\n${summary(r.output)}`)
      })
    }
    after(() => {
      if (retried.length)
        process.stderr.write(
          `conformance ${suite.version}: passed only on retry: ${retried.join(', ')} (see each test's diagnostic)\n`,
        )
    })
    after(() => all)
  })
}
