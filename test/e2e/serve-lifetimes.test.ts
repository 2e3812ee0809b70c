/**
 * Lifetimes that hold, against a spawned `mcp-oauth serve --access-token-ttl 5`: the token says 5 s and its own
 * /mcp refuses it once 5 s plus the JWT verifier's documented clock tolerance (10 s) have passed, refresh keeps
 * the session going, and revoking the grant (what logout does) ends the access token at /mcp within seconds.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  HeadlessAgent,
  type Json,
  json,
  pkce,
  registerClient,
  type ServeProcess,
  spawnServe,
} from './authorization-server-helpers.ts'

const user = { username: 'alice', password: 'correct horse battery' }
const REDIRECT = 'http://127.0.0.1:9/callback'
/** The JWT verifier's default clock tolerance (src/server/verify/jwt.ts, docs/server.md). */
const CLOCK_TOLERANCE_SECONDS = 10

describe('serve --access-token-ttl 5', () => {
  let serve: ServeProcess
  let clientId = ''

  before(async () => {
    serve = await spawnServe([
      '--port',
      '0',
      '--store',
      'memory',
      '--quiet',
      '--access-token-ttl',
      '5',
      '--user',
      `${user.username}:${user.password}`,
    ])
    clientId = String((await registerClient(serve.ready.issuer, [REDIRECT]))['client_id'])
  })
  after(async () => {
    await serve?.stop()
  })

  const token = async (fields: Record<string, string>): Promise<Json> =>
    await json(
      await fetch(`${serve.ready.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: clientId, ...fields }),
      }),
    )

  const signIn = async (): Promise<Json> => {
    const { verifier, challenge } = pkce()
    const { callback } = await new HeadlessAgent().authorize(
      `${serve.ready.issuer}/auth?${new URLSearchParams({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: REDIRECT,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        scope: 'tools:read',
      })}`,
      REDIRECT,
      user,
    )
    const code = new URL(callback).searchParams.get('code')!
    return await token({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    })
  }

  /** The status /mcp answers an MCP initialize with this access token. */
  const mcpStatus = async (accessToken: string): Promise<number> => {
    const response = await fetch(serve.ready.mcp, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${accessToken}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    })
    await response.arrayBuffer()
    return response.status
  }

  /** Polls until /mcp refuses `accessToken` or `seconds` pass; returns the last status. */
  const refusedWithin = async (accessToken: string, seconds: number): Promise<number> => {
    const deadline = Date.now() + seconds * 1000
    let status = await mcpStatus(accessToken)
    while (status !== 401 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250))
      status = await mcpStatus(accessToken)
    }
    return status
  }

  test('expires_in is 5; /mcp refuses the token once 5 s + the clock tolerance have passed; refresh carries on', async () => {
    const first = await signIn()
    assert.equal(first['expires_in'], 5, JSON.stringify(first))
    assert.equal(await mcpStatus(first['access_token']), 200)
    const issuedAt = Date.now()
    // Refreshing keeps the session alive with new 5 s tokens.
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: first['refresh_token'] })
    assert.equal(refreshed['expires_in'], 5, JSON.stringify(refreshed))
    const wait = issuedAt + (5 + CLOCK_TOLERANCE_SECONDS + 1) * 1000 - Date.now()
    await new Promise((r) => setTimeout(r, Math.max(0, wait)))
    assert.equal(await mcpStatus(first['access_token']), 401, 'the expired token is refused')
    const again = await token({ grant_type: 'refresh_token', refresh_token: refreshed['refresh_token'] })
    assert.equal(await mcpStatus(again['access_token']), 200, 'the session goes on through refresh')
  })

  test('revoking the refresh token (as logout does) ends its access token at /mcp within 5 s', async () => {
    const signedIn = await signIn()
    const accessToken = String(signedIn['access_token'])
    assert.equal(await mcpStatus(accessToken), 200)
    const revoked = await fetch(`${serve.ready.issuer}/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: clientId,
        token: signedIn['refresh_token'],
        token_type_hint: 'refresh_token',
      }),
    })
    assert.equal(revoked.status, 200)
    assert.equal(await refusedWithin(accessToken, 5), 401, 'refused within 5 s of the revocation')
  })
})
