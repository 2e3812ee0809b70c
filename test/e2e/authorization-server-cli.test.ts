/**
 * `mcp-oauth users` and `mcp-oauth serve` sharing one SQLite store: an account added by the CLI can sign in
 * to a running server; removed, it cannot. The key file beside the database is created once and reused.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import {
  HeadlessAgent,
  pkce,
  registerClient,
  type ServeProcess,
  spawnServe,
} from './authorization-server-helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-cli-'))
const store = `sqlite:${join(dir, 'as.db')}`
const bin = new URL('../../bin/mcp-oauth.js', import.meta.url).pathname
let serve: ServeProcess | undefined
after(async () => {
  await serve?.stop()
  rmSync(dir, { recursive: true, force: true })
})

function cli(args: string[], stdin = ''): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env }
    delete env['MCP_OAUTH_STORAGE_KEY']
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'ignore', 'pipe'], env })
    let stderr = ''
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    child.once('exit', (code) => resolve({ code, stderr }))
    child.stdin.end(stdin)
  })
}

async function signIn(issuer: string, username: string, password: string) {
  const redirect = 'http://127.0.0.1:9/callback'
  const client = await registerClient(issuer, [redirect])
  const url = `${issuer}/auth?${new URLSearchParams({
    response_type: 'code',
    client_id: client['client_id'],
    redirect_uri: redirect,
    code_challenge: pkce().challenge,
    code_challenge_method: 'S256',
  })}`
  return new HeadlessAgent().authorize(url, redirect, { username, password })
}

test('users add → sign in through serve; users remove → refused', async () => {
  const added = await cli(
    ['users', 'add', 'carol', '--password-stdin', '--display-name', 'Carol', '--store', store],
    'carol has a long password\n',
  )
  assert.equal(added.code, 0, added.stderr)
  assert.equal(statSync(join(dir, 'as.db.key')).mode & 0o777, 0o600)
  serve = await spawnServe([
    '--port',
    '0',
    '--store',
    store,
    '--quiet',
    '--user',
    'admin:another long password',
  ])
  const { pages } = await signIn(serve.ready.issuer, 'carol', 'carol has a long password')
  assert.match(pages.at(-1)!, /act as <strong>Carol<\/strong>/)

  const removed = await cli(['users', 'remove', 'carol', '--store', store])
  assert.equal(removed.code, 0, removed.stderr)
  await assert.rejects(signIn(serve.ready.issuer, 'carol', 'carol has a long password'), /unexpected 401/)
  const again = await cli(['users', 'remove', 'carol', '--store', store])
  assert.equal(again.code, 1)
  assert.match(again.stderr, /no user carol/)
  assert.ok(existsSync(join(dir, 'as.db')))
})

test('serve refuses a PostgreSQL store without a storage key, with the fix', async () => {
  const result = await cli(['serve', '--store', 'postgres://postgres@127.0.0.1:5432/test', '--port', '0'])
  assert.equal(result.code, 2)
  assert.match(result.stderr, /needs MCP_OAUTH_STORAGE_KEY[\s\S]*next: generate one/)
})
