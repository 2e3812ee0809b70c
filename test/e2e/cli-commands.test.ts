/**
 * The session commands as a person types them, each a real `mcp-oauth` process, against a spawned
 * `mcp-oauth serve` (sqlite store, port 0) through real sockets; the sign-in and step-up consent happen in
 * Debian chromium driven by Playwright (one browser for the file). Sessions live in a temp file store shared by
 * the processes: login once, then token, status, tools and call need no browser.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it, type TestContext } from 'node:test'
import { Client } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { importJWK, SignJWT } from 'jose'
import type { Browser, Page } from 'playwright-core'
import { completeSignIn, launchChromium, type SignInStep } from '../../scripts/consent-page.ts'
import { FileStore, storeKey } from '../../src/client/index.ts'
import { type CliRun, watchCli } from '../support/cli-process.ts'
import { CHROMIUM_PATH, chromiumAvailable, need } from '../support/environment.ts'
import { freePort, type ServeProcess, spawnServe } from './authorization-server-helpers.ts'

const bin = new URL('../../bin/mcp-oauth.js', import.meta.url).pathname
const user = { username: 'alice', password: 'correct horse battery staple' }
const JWT = /eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/

let serve: ServeProcess | undefined
let browser: Browser | undefined
let page: Page
const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-cli-'))
const storeArgs = ['--store', 'file', '--store-dir', join(dir, 'store')]

interface Run extends CliRun {
  /** Pages the browser went through for this process's sign-ins. */
  steps: SignInStep[]
}

/** Environment without a display; BROWSER=true makes the CLI use "a browser" that does nothing, so the
 * test opens the printed URL itself, as a person would. */
function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, BROWSER: 'true', ...extra }
  delete env['DISPLAY']
  delete env['WAYLAND_DISPLAY']
  for (const [k, v] of Object.entries(extra)) if (v === undefined) delete env[k]
  return env
}

/** Run `mcp-oauth …args`; when it prints a sign-in URL, complete the sign-in in the browser. */
function cli(args: string[], options: { env?: NodeJS.ProcessEnv; store?: boolean } = {}): Promise<Run> {
  const child = spawn(process.execPath, [bin, ...args, ...(options.store === false ? [] : storeArgs)], {
    env: options.env ?? cliEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const run: Run = { code: null, stdout: '', stderr: '', steps: [] }
  return watchCli(child, args, run, {
    ...(page ? { person: (url: string) => completeSignIn(page, url, user, (s) => run.steps.push(s)) } : {}),
  })
}

before(async () => {
  if (!chromiumAvailable()) return
  serve = await spawnServe([
    '--port',
    '0',
    '--store',
    `sqlite:${join(dir, 'as.db')}`,
    '--quiet',
    '--user',
    `${user.username}:${user.password}`,
  ])
  browser = await launchChromium(CHROMIUM_PATH)
  page = await browser.newPage()
})

after(async () => {
  await browser?.close()
  await serve?.stop()
  rmSync(dir, { recursive: true, force: true })
})

function ready(t: TestContext): string | undefined {
  if (!need(t, 'chromium', chromiumAvailable())) return undefined
  return serve!.ready.mcp
}

interface StoredSession {
  client_id: string
  tokens: { refresh_token: string; access_token: string }
  dpop_jwk: Record<string, string>
}

/** The current session of `mcp` in the file store (read with the store's own key file, as the CLI does). */
async function storedSession(mcp: string): Promise<StoredSession> {
  const store = new FileStore({ dir: join(dir, 'store'), log: () => {} })
  const pointer = await store.get<{ key: string }>(storeKey.current(mcp))
  return (await store.get<StoredSession>(pointer!.value.key))!.value
}

/** A refresh_token grant with a DPoP proof made from the session's key (RFC 9449 §4). */
async function refreshAtServer(s: StoredSession): Promise<{ status: number; error?: string }> {
  const endpoint = `${serve!.ready.issuer}/token`
  const key = await importJWK(s.dpop_jwk, 'ES256')
  const { d: _d, ...publicJwk } = s.dpop_jwk
  const proof = await new SignJWT({ htm: 'POST', htu: endpoint, jti: randomUUID() })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk })
    .setIssuedAt()
    .sign(key)
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: s.tokens.refresh_token,
      client_id: s.client_id,
    }),
  })
  const body = (await response.json()) as { error?: string }
  return { status: response.status, ...(body.error ? { error: body.error } : {}) }
}

/** The status serve's /mcp answers an MCP ping sent with the session's DPoP-bound access token. */
async function mcpStatusWith(s: StoredSession, mcp: string): Promise<number> {
  const key = await importJWK(s.dpop_jwk, 'ES256')
  const { d: _d, ...publicJwk } = s.dpop_jwk
  const ath = createHash('sha256').update(s.tokens.access_token).digest('base64url')
  const proof = await new SignJWT({ htm: 'POST', htu: mcp, jti: randomUUID(), ath })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk })
    .setIssuedAt()
    .sign(key)
  const response = await fetch(mcp, {
    method: 'POST',
    headers: {
      authorization: `DPoP ${s.tokens.access_token}`,
      dpop: proof,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
  })
  await response.arrayBuffer()
  return response.status
}

describe('mcp-oauth session commands against mcp-oauth serve', { concurrency: false }, () => {
  let token = ''

  it('login signs in through the consent page in the browser', async (t) => {
    const mcp = ready(t)
    if (!mcp) return
    const r = await cli(['login', mcp])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.steps, ['login', 'consent'])
    assert.equal(r.stdout, '', 'login prints nothing on stdout without --json')
    assert.match(r.stderr, /Signed in\./)
    assert.match(r.stderr, /scopes\s+tools:read/)
    assert.doesNotMatch(r.stderr, JWT)
  })

  it('token prints exactly one line, the access token, without a second sign-in', async (t) => {
    const mcp = ready(t)
    if (!mcp) return
    const r = await cli(['token', mcp])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.steps, [])
    assert.match(r.stdout, /^[\w.~+/=-]+\n$/)
    token = r.stdout.trim()
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<
      string,
      unknown
    >
    assert.equal(claims['aud'], mcp)
    assert.equal(claims['sub'], user.username)
    assert.match(String(claims['scope']), /tools:read/)
    // serve offers DPoP, so the engine binds the token: stderr says a Bearer header will not do.
    assert.match(r.stderr, /DPoP-bound/)
  })

  it('connect in another process reuses the login: no second sign-in', async (t) => {
    const mcp = ready(t)
    if (!mcp) return
    // No BROWSER and no display: if connect needed a sign-in it could not ask anyone and would fail.
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [bin, 'connect', mcp, ...storeArgs],
      env: cliEnv({ BROWSER: undefined }) as Record<string, string>,
      stderr: 'pipe',
    })
    let stderr = ''
    transport.stderr?.on('data', (d: Buffer) => {
      stderr += d
    })
    const client = new Client({ name: 'host', version: '1.0.0' })
    try {
      await client.connect(transport)
      const { tools } = await client.listTools()
      assert.ok(tools.some((x) => x.name === 'whoami'))
      const who = await client.callTool({ name: 'whoami', arguments: {} })
      const text = (who as { content: Array<{ text: string }> }).content[0]!.text
      assert.equal((JSON.parse(text) as { subject: string }).subject, user.username)
    } finally {
      await client.close()
    }
    assert.doesNotMatch(stderr, /open this URL|needs a person/, stderr)
  })

  it('status shows issuer, client, scopes, expiry and store, never a token; --json has the documented shape', async (t) => {
    const mcp = ready(t)
    if (!mcp) return
    const human = await cli(['status'])
    assert.equal(human.code, 0, human.stderr)
    assert.match(human.stdout, /^Store: file \(/)
    assert.match(human.stdout, new RegExp(`issuer\\s+${serve!.ready.issuer}`))
    assert.match(human.stdout, /client id\s+\S+ \(registered dynamically\)/)
    assert.match(human.stdout, /expires\s+\d{4}-\d\d-\d\dT.*in \d+ min/)
    const json = await cli(['status', mcp, '--json'])
    assert.equal(json.code, 0, json.stderr)
    for (const out of [human.stdout + human.stderr, json.stdout + json.stderr]) {
      assert.ok(!out.includes(token), 'status must never print the token')
      assert.doesNotMatch(out, JWT)
    }
    const doc = JSON.parse(json.stdout) as {
      store: string
      store_dir: string
      sessions: Array<Record<string, unknown>>
    }
    assert.equal(doc.store, 'file')
    assert.equal(doc.store_dir, join(dir, 'store'))
    assert.equal(doc.sessions.length, 1)
    const s = doc.sessions[0]!
    assert.equal(s['server'], mcp)
    assert.equal(s['signed_in'], true)
    assert.equal(s['issuer'], serve!.ready.issuer)
    assert.equal(s['resource'], mcp)
    assert.equal(typeof s['client_id'], 'string')
    assert.equal(s['client_source'], 'dcr')
    assert.equal(s['scope'], 'tools:read')
    assert.ok(!Number.isNaN(Date.parse(String(s['expires_at']))))
    assert.equal(s['expired'], false)
    assert.equal(s['has_refresh_token'], true)
    assert.equal(s['store'], 'file')
    for (const k of ['access_token', 'refresh_token', 'id_token', 'tokens']) assert.ok(!(k in s), k)
  })

  it('tools lists the server tools (human and --json)', async (t) => {
    const mcp = ready(t)
    if (!mcp) return
    const r = await cli(['tools', mcp])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.steps, [])
    assert.deepEqual(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/)[0]),
      ['whoami', 'server_time', 'create_note', 'admin_report'],
    )
    const j = await cli(['tools', mcp, '--json'])
    assert.equal(j.code, 0, j.stderr)
    const tools = JSON.parse(j.stdout) as Array<{ name: string; inputSchema: unknown }>
    assert.equal(tools.length, 4)
    assert.ok(tools.every((x) => typeof x.inputSchema === 'object'))
  })

  it('call prints the result JSON; a tool needing more scope steps up through consent', async (t) => {
    const mcp = ready(t)
    if (!mcp) return
    const r = await cli(['call', mcp, 'whoami', '--args', '{}'])
    assert.equal(r.code, 0, r.stderr)
    const result = JSON.parse(r.stdout) as { content: Array<{ type: string; text: string }> }
    const who = JSON.parse(result.content[0]!.text) as { subject: string; scopes: string[] }
    assert.equal(who.subject, user.username)
    assert.deepEqual(who.scopes, ['tools:read'])
    const up = await cli(['call', mcp, 'admin_report', '--compact'])
    assert.equal(up.code, 0, up.stderr)
    assert.deepEqual(up.steps, ['consent'], 'step-up asks only for consent: the browser is still signed in')
    assert.equal(up.stdout.trim().split('\n').length, 1, '--compact is one line')
    const report = JSON.parse(up.stdout) as { content: Array<{ text: string }> }
    assert.deepEqual(JSON.parse(report.content[0]!.text), { notes: 0 })
    const status = JSON.parse((await cli(['status', mcp, '--json'])).stdout) as {
      sessions: Array<{ scope: string }>
    }
    assert.deepEqual(status.sessions[0]!.scope.split(' ').sort(), ['admin', 'tools:read'])
  })

  it('call with bad --args is a usage error (exit 2) that names the fix', async (t) => {
    const mcp = ready(t)
    if (!mcp) return
    const r = await cli(['call', mcp, 'whoami', '--args', '[1,2]'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /--args must be a JSON object/)
    assert.match(r.stderr, /next: /)
  })

  it('logout revokes, then status says signed out (exit 3)', async (t) => {
    const mcp = ready(t)
    if (!mcp) return
    const stored = await storedSession(mcp)
    assert.notEqual(await mcpStatusWith(stored, mcp), 401, 'the access token works before logout')
    const r = await cli(['logout', mcp])
    assert.equal(r.code, 0, r.stderr)
    // serve's own /mcp checks the grant: the old access token is refused within 5 s of logout (polled).
    const deadline = Date.now() + 5000
    let status = await mcpStatusWith(stored, mcp)
    for (; status !== 401 && Date.now() < deadline; status = await mcpStatusWith(stored, mcp))
      await new Promise((resolve) => setTimeout(resolve, 250))
    assert.equal(status, 401, 'the old access token is refused after logout')
    assert.match(r.stderr, /the authorization server revoked the refresh token \(the grant/)
    // Check it at the authorization server: the refresh token (sent with a valid DPoP proof of its key) is dead.
    const refused = await refreshAtServer(stored)
    assert.equal(refused.status, 400)
    assert.equal(refused.error, 'invalid_grant')
    const s = await cli(['status', mcp])
    assert.equal(s.code, 3)
    assert.match(s.stdout, /not signed in \(run: mcp-oauth login /)
    const again = await cli(['logout', mcp, '--json'])
    assert.equal(again.code, 0)
    assert.deepEqual(JSON.parse(again.stdout), { server: mcp, signed_in: false, revoked: false })
  })

  it('token without a session and no way to ask a person exits 3 with the next step', async (t) => {
    const mcp = ready(t)
    if (!mcp) return
    const r = await cli(['token', mcp], { env: cliEnv({ BROWSER: undefined }) })
    assert.equal(r.code, 3, r.stderr)
    assert.equal(r.stdout, '')
    assert.match(r.stderr, /next: .*mcp-oauth login/)
    // tools goes through the SDK client, which wraps what the authorized fetch throws: still exit 3.
    const tools = await cli(['tools', mcp], { env: cliEnv({ BROWSER: undefined }) })
    assert.equal(tools.code, 3, tools.stderr)
    assert.equal(tools.stdout, '')
    assert.match(tools.stderr, /^mcp-oauth tools: signing in to .* needs a person\n {2}next: /m)
  })
})

describe('mcp-oauth session command errors', () => {
  it('an unreachable server URL fails (exit 1) saying what to check', async (t) => {
    if (!need(t, 'chromium', chromiumAvailable())) return
    const port = await freePort()
    const r = await cli(['login', `http://127.0.0.1:${port}/mcp`])
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /cannot reach http:\/\/127\.0\.0\.1:\d+\/mcp: 127\.0\.0\.1 refused the connection/)
    assert.match(r.stderr, /next: Check the port in the URL and that the server is running/)
  })

  it('a URL that is no MCP server fails (exit 1) with a hint', async (t) => {
    const mcp = ready(t)
    if (!mcp) return
    const r = await cli(['login', `${serve!.ready.issuer}/not-mcp`])
    assert.equal(r.code, 1, r.stderr)
    assert.match(
      r.stderr,
      /mcp-oauth login: http:\/\/127\.0\.0\.1:\d+\/not-mcp is not an MCP endpoint: POST answered 404/,
    )
    assert.match(r.stderr, /next: Check the URL's path: it must be the MCP endpoint itself/)
    assert.deepEqual(r.steps, [], 'no sign-in for a URL that is not an MCP endpoint')
  })

  it('plain http to a remote host is refused without --allow-http (exit 2, hint)', async () => {
    const r = await cli(['login', 'http://mcp.example.com/mcp'], { store: false })
    assert.equal(r.code, 2)
    assert.match(r.stderr, /http:\/\/mcp\.example\.com is plain http/)
    assert.match(r.stderr, /next: .*--allow-http/)
  })

  it('a missing URL is a usage error (exit 2)', async () => {
    const r = await cli(['tools'], { store: false })
    assert.equal(r.code, 2)
    assert.match(r.stderr, /next: /)
  })
})
