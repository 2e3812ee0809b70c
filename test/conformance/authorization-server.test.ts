/**
 * The official MCP conformance suite's authorization-server scenarios against `mcp-oauth serve`. The suite
 * prints an authorization URL and waits for the callback; a headless agent signs in and consents through
 * the real HTML forms and delivers the callback.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, test } from 'node:test'
import {
  freePort,
  HeadlessAgent,
  registerClient,
  type ServeProcess,
  spawnServe,
} from '../e2e/authorization-server-helpers.ts'

const require = createRequire(import.meta.url)
const conformanceBin = join(
  dirname(require.resolve('@modelcontextprotocol/conformance/package.json')),
  'dist/index.js',
)
const user = { username: 'alice', password: 'correct horse battery' }

let serve: ServeProcess
before(async () => {
  serve = await spawnServe([
    '--port',
    '0',
    '--store',
    'memory',
    '--quiet',
    '--user',
    `${user.username}:${user.password}`,
  ])
})
after(async () => {
  await serve?.stop()
})

test('conformance 0.2.0-alpha.12 authorization-server scenarios all pass against mcp-oauth serve', async () => {
  const port = await freePort()
  const redirect = `http://127.0.0.1:${port}/callback`
  const client = await registerClient(serve.ready.issuer, [redirect])
  const output = mkdtempSync(join(tmpdir(), 'mcp-oauth-conformance-'))
  try {
    const child = spawn(
      process.execPath,
      [
        conformanceBin,
        'authorization',
        '--url',
        serve.ready.issuer,
        '--client-id',
        client['client_id'],
        '--resource',
        serve.ready.mcp,
        '--port',
        String(port),
        '-o',
        output,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stdout = ''
    let signedIn: Promise<void> | undefined
    child.stderr.resume()
    child.stdout.on('data', (chunk) => {
      stdout += chunk
      const url = stdout.split('\n').find((line) => line.startsWith(`${serve.ready.issuer}/auth?`))
      if (url && !signedIn) {
        signedIn = (async () => {
          const { callback } = await new HeadlessAgent().authorize(url.trim(), redirect, user)
          await fetch(callback)
        })()
      }
    })
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    await signedIn
    assert.equal(code, 0, stdout)
    const checks = readdirSync(output).flatMap((dir) =>
      JSON.parse(readFileSync(join(output, dir, 'checks.json'), 'utf8')),
    )
    const byId = new Map(checks.map((c: { id: string; status: string }) => [c.id, c.status]))
    assert.equal(byId.get('authorization-server-metadata'), 'SUCCESS')
    assert.equal(byId.get('authorization-server-metadata-cimd'), 'SUCCESS')
    assert.equal(byId.get('authorization-code-grant'), 'SUCCESS', stdout)
    for (const check of checks)
      assert.equal(check.status, 'SUCCESS', `${check.id}: ${check.errorMessage ?? ''}`)
  } finally {
    rmSync(output, { recursive: true, force: true })
  }
})
