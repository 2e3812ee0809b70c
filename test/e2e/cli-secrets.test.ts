/**
 * Secrets a person may paste into a command never come back out: credentials and queries of URLs that do not
 * parse, a query handed to doctor, a header without a name, a URL with user:password, config's stderr. Real
 * `mcp-oauth` processes against a refused loopback port.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { freePort } from './authorization-server-helpers.ts'

const bin = new URL('../../bin/mcp-oauth.js', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-secrets-'))
let closed: string
before(async () => {
  closed = `127.0.0.1:${await freePort()}`
})
after(() => rmSync(dir, { recursive: true, force: true }))

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: dir, HOME: dir }
  delete env['DISPLAY']
  delete env['npm_lifecycle_event']
  const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const out = { code: null as number | null, stdout: '', stderr: '' }
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out.stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out.stderr += d))
  return new Promise((resolve) => child.on('close', (code) => resolve({ ...out, code })))
}

function assertNoSecret(text: string, secrets: string[]) {
  for (const s of secrets) assert.ok(!text.includes(s), `"${s}" leaked in:\n${text}`)
}

describe('what a person pastes is never echoed', () => {
  it('a URL that does not parse (bad port, no scheme) loses its password and query in "not a URL"', async () => {
    for (const command of ['tools', 'status', 'login', 'logout']) {
      const r = await cli([
        command,
        'https://alice:s3cret@mcp.example.com:99999/mcp?token=abc',
        '--store',
        'memory',
      ])
      assert.equal(r.code, 2, `${command}: ${r.stderr}`)
      assert.match(r.stderr, /not a URL: https:\/\/…@mcp\.example\.com:99999\/mcp…/)
      assertNoSecret(r.stdout + r.stderr, ['alice', 's3cret', 'token=abc'])
    }
    const bare = await cli(['tools', 'mcp.example.com/mcp?api_key=abc'])
    assert.equal(bare.code, 2)
    assertNoSecret(bare.stdout + bare.stderr, ['api_key', 'abc'])
    const config = await cli(['config', 'claude-desktop', 'https://alice:s3cret@h.example:99999/mcp'])
    assert.equal(config.code, 2)
    assertNoSecret(config.stdout + config.stderr, ['alice', 's3cret'])
  })

  it('a server URL with user:password is refused before anything is sent, without printing them', async () => {
    for (const command of ['tools', 'connect', 'login']) {
      const r = await cli([command, `http://alice:s3cret@${closed}/mcp`, '--store', 'memory'])
      assert.equal(r.code, 2, `${command}: ${r.stderr}`)
      assert.match(r.stderr, /carries a user name or password, which mcp-oauth never sends/)
      assert.doesNotMatch(r.stderr, /cannot reach|refused the connection/)
      assertNoSecret(r.stdout + r.stderr, ['alice', 's3cret'])
    }
  })

  it('doctor shows the server URL without its query, in text and in --json', async () => {
    const url = `http://${closed}/mcp?token=abc`
    for (const extra of [[], ['--json']]) {
      const r = await cli(['doctor', url, '--verbose', ...extra])
      assert.equal(r.code, 1, r.stderr)
      assert.match(r.stdout, new RegExp(`http://${closed.replace('.', '\\.')}/mcp`))
      assertNoSecret(r.stdout + r.stderr, ['token=abc'])
    }
  })

  it('a --header without "Name:" (a bare credential) is refused without printing it', async () => {
    const r = await cli([
      'tools',
      `http://${closed}/mcp`,
      '--header',
      'Bearer sk_live_SECRET',
      '--store',
      'memory',
    ])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /bad --header \(number 1\): it has no "Name:" part/)
    assertNoSecret(r.stdout + r.stderr, ['sk_live_SECRET'])
  })

  it('config prints the query only in the snippet the host needs, never in its stderr hint', async () => {
    const r = await cli(['config', 'claude-desktop', 'https://h.example/mcp?token=abc'])
    assert.equal(r.code, 0, r.stderr)
    assert.ok(r.stdout.includes('https://h.example/mcp?token=abc'))
    assertNoSecret(r.stderr, ['token=abc'])
    assert.match(r.stderr, /npx -y mcp-oauth-toolkit login <the URL in the snippet>/)
  })
})
