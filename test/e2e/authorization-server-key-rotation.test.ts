/**
 * Signing-key rotation across instances: two `mcp-oauth serve` processes on one SQLite store behind one public
 * issuer (as behind a load balancer), rotated with `mcp-oauth keys add|activate|retire` while both run. Each step
 * must reach both instances without a restart.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose'
import { HeadlessAgent, json, pkce, type ServeProcess, spawnServe } from './authorization-server-helpers.ts'

const run = promisify(execFile)
const bin = new URL('../../bin/mcp-oauth.js', import.meta.url).pathname
const redirect = 'http://127.0.0.1:9/callback'
const password = `pw-${process.pid}-${Date.now()}`
// The public issuer both instances share; requests go to each instance's own socket instead.
const issuer = 'http://127.0.0.1:9'
const at = (serve: ServeProcess, url: string) => url.replace(issuer, serve.ready.listen)

/** A browser talking to one instance for the public issuer's URLs. */
class InstanceAgent extends HeadlessAgent {
  readonly #serve: ServeProcess
  constructor(serve: ServeProcess) {
    super()
    this.#serve = serve
  }
  override request(url: string, init: RequestInit = {}): Promise<Response> {
    return super.request(at(this.#serve, url), init)
  }
}

const kidOf = (jwt: string) => decodeProtectedHeader(jwt).kid as string

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  // A liveness deadline, not a speed claim: instances re-read the keys every 2 s.
  const deadline = Date.now() + 30_000
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

describe('mcp-oauth keys: rotation across two serve instances on one store', () => {
  let dir: string
  let store: string
  let a: ServeProcess
  let b: ServeProcess
  let clientId: string
  let refreshToken: string

  const env = () => ({ MCP_OAUTH_DATA_DIR: dir })
  const keys = async (action: string, ...more: string[]) => {
    const { stdout } = await run(
      process.execPath,
      [bin, 'keys', action, ...more, '--store', store, '--json'],
      {
        env: { ...process.env, ...env() },
      },
    )
    return JSON.parse(stdout) as { keys: { kid: string; alg: string; state: string }[] }
  }
  const jwks = async (serve: ServeProcess) =>
    (await json(await fetch(`${serve.ready.listen}/jwks`))) as JSONWebKeySet
  const kids = async (serve: ServeProcess) => (await jwks(serve)).keys.map((k) => k.kid as string).sort()
  const refreshAt = async (serve: ServeProcess) => {
    const tokens = await json(
      await fetch(`${serve.ready.listen}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_id: clientId,
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
        }),
      }),
    )
    assert.equal(typeof tokens['access_token'], 'string', JSON.stringify(tokens))
    refreshToken = tokens['refresh_token']
    return tokens['access_token'] as string
  }
  const callMcp = async (serve: ServeProcess, token: string) =>
    (
      await fetch(at(serve, serve.ready.mcp), {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
      })
    ).status
  const verifiesAgainst = async (serve: ServeProcess, token: string) => {
    try {
      await jwtVerify(token, createLocalJWKSet(await jwks(serve)), { issuer })
      return true
    } catch {
      return false
    }
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-keys-'))
    store = `sqlite:${join(dir, 'as.db')}`
    const args = [
      '--port',
      '0',
      '--issuer',
      issuer,
      '--quiet',
      '--store',
      store,
      '--user',
      `alice:${password}`,
    ]
    // One after the other: the first creates the store's key file, the second reads it.
    a = await spawnServe(args, env())
    b = await spawnServe(args, env())
    const registered = await fetch(`${b.ready.listen}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [redirect], token_endpoint_auth_method: 'none' }),
    })
    assert.equal(registered.status, 201)
    clientId = (await json(registered))['client_id']
    const { verifier, challenge } = pkce()
    const { callback } = await new InstanceAgent(a).authorize(
      `${issuer}/auth?${new URLSearchParams({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: redirect,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        resource: `${issuer}/mcp`,
      })}`,
      redirect,
      { username: 'alice', password },
    )
    const tokens = await json(
      await fetch(`${a.ready.listen}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_id: clientId,
          grant_type: 'authorization_code',
          code: new URL(callback).searchParams.get('code')!,
          redirect_uri: redirect,
          code_verifier: verifier,
        }),
      }),
    )
    refreshToken = tokens['refresh_token']
  })
  after(async () => {
    await a?.stop()
    await b?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('add publishes, activate switches signing, retire unpublishes, on both instances without restart', async () => {
    const initial = await keys('list')
    const oldEs = initial.keys.find((k) => k.alg === 'ES256' && k.state === 'active')!.kid
    assert.deepEqual(await kids(a), await kids(b))
    assert.equal((await kids(a)).length, 2)
    const shownEarly = await refreshAt(a)
    const heldBack = await refreshAt(b)
    assert.equal(kidOf(shownEarly), oldEs)
    assert.equal(kidOf(heldBack), oldEs)

    // add: both instances publish old and new keys; tokens are still signed by the old one.
    const added = await keys('add')
    const newEs = added.keys.find((k) => k.alg === 'ES256' && k.state === 'next')!.kid
    const all = added.keys.map((k) => k.kid).sort()
    for (const serve of [a, b])
      await waitFor(`instance ${serve.ready.pid} publishes 4 keys`, async () =>
        JSON.stringify(await kids(serve)) === JSON.stringify(all) ? true : undefined,
      )
    assert.equal(kidOf(await refreshAt(b)), oldEs, 'a "next" key does not sign yet')

    // activate: new tokens come signed by the new key on both; the old key's tokens still verify.
    await keys('activate')
    for (const serve of [a, b])
      await waitFor(`instance ${serve.ready.pid} signs with the new key`, async () =>
        kidOf(await refreshAt(serve)) === newEs ? true : undefined,
      )
    const fresh = await refreshAt(a)
    assert.equal(await callMcp(b, fresh), 200)
    assert.equal(await callMcp(a, shownEarly), 200, 'a token signed by the retiring key still works')
    assert.equal(await callMcp(b, shownEarly), 200)
    assert.equal(await verifiesAgainst(b, shownEarly), true)

    // retire: the old key leaves both JWKS; its tokens stop verifying, new ones keep working.
    // Right after activate, tokens of the old key are unexpired: retire is refused unless forced.
    await assert.rejects(keys('retire'), /stopped signing less than .* until .*--force/s)
    const retired = await keys('retire', '--force')
    assert.ok(!retired.keys.some((k) => k.kid === oldEs))
    for (const serve of [a, b])
      await waitFor(`instance ${serve.ready.pid} drops the retired key`, async () =>
        (await kids(serve)).length === 2 && !(await kids(serve)).includes(oldEs) ? true : undefined,
      )
    assert.equal(await verifiesAgainst(a, shownEarly), false)
    assert.equal(await callMcp(b, heldBack), 401, 'a token of the retired key is refused')
    assert.equal(await callMcp(a, fresh), 200)
    assert.equal(await verifiesAgainst(b, fresh), true)
  })
})
