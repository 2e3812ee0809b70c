/**
 * Two `mcp-oauth serve` processes on one PostgreSQL database (one issuer, as behind a load balancer): sign in
 * through A, refresh, introspect and call tools through B; stopping A loses nothing and a restarted A carries on.
 * Each run uses its own schema (dropped afterwards).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { decodeJwt } from 'jose'
import pg from 'pg'
import { generateStorageKey } from '../../src/authorization-server/index.ts'
import { need, POSTGRES_URL, postgresAvailable } from '../support/environment.ts'
import {
  freePort,
  HeadlessAgent,
  json,
  pkce,
  registerClient,
  type ServeProcess,
  spawnServe,
} from './authorization-server-helpers.ts'

const user = { username: 'alice', password: 'correct horse battery' }

describe('two mcp-oauth serve instances on one PostgreSQL', () => {
  const schema = `mcp_oauth_e2e_${randomBytes(6).toString('hex')}`
  const env = { MCP_OAUTH_STORAGE_KEY: generateStorageKey() }
  let available = false
  let admin: pg.Client
  let issuer = ''
  let store = ''
  const running: ServeProcess[] = []
  // Metadata and redirects carry the issuer, so A listens on the issuer's port (as a load balancer would).
  const start = async (port = '0') => {
    const instance = await spawnServe(
      [
        '--port',
        port,
        '--issuer',
        issuer,
        '--store',
        store,
        '--quiet',
        '--user',
        `${user.username}:${user.password}`,
      ],
      env,
    )
    running.push(instance)
    return instance
  }
  const origin = (instance: ServeProcess) => instance.ready.listen

  before(async () => {
    available = await postgresAvailable()
    if (!available) return
    admin = new pg.Client({ connectionString: POSTGRES_URL })
    await admin.connect()
    await admin.query(`CREATE SCHEMA ${schema}`)
    const url = new URL(POSTGRES_URL)
    url.searchParams.set('options', `-c search_path=${schema}`)
    store = url.href
    issuer = `http://127.0.0.1:${await freePort()}`
  })
  after(async () => {
    for (const instance of running) await instance.stop()
    if (!available) return
    await admin.query(`DROP SCHEMA ${schema} CASCADE`)
    await admin.end()
  })

  test('sign in via A, refresh and introspect via B, stop A, lose nothing', async (t) => {
    if (!need(t, 'PostgreSQL', available)) return
    const [a, b] = await Promise.all([start(new URL(issuer).port), start()])
    assert.equal(a!.ready.issuer, issuer)
    assert.equal(a!.ready.mcp, `${issuer}/mcp`)
    const A = origin(a!)
    const B = origin(b!)
    const redirect = 'http://127.0.0.1:9/callback'
    const client = await registerClient(A, [redirect])
    const { verifier, challenge } = pkce()
    const { callback } = await new HeadlessAgent().authorize(
      `${A}/auth?${new URLSearchParams({
        response_type: 'code',
        client_id: client['client_id'],
        redirect_uri: redirect,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        scope: 'tools:read notes:write',
      })}`,
      redirect,
      user,
    )
    const code = new URL(callback).searchParams.get('code')!
    const form = (fields: Record<string, string>) => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: client['client_id'], ...fields }),
    })
    const first = await json(
      await fetch(
        `${A}/token`,
        form({ grant_type: 'authorization_code', code, redirect_uri: redirect, code_verifier: verifier }),
      ),
    )
    assert.ok(first['refresh_token'], JSON.stringify(first))

    const refreshedByB = await json(
      await fetch(`${B}/token`, form({ grant_type: 'refresh_token', refresh_token: first['refresh_token'] })),
    )
    assert.ok(refreshedByB['access_token'], JSON.stringify(refreshedByB))
    const introspected = await json(
      await fetch(`${B}/token/introspection`, form({ token: refreshedByB['refresh_token'] })),
    )
    assert.equal(introspected['active'], true, JSON.stringify(introspected))
    assert.equal(introspected['sub'], user.username)

    const mcp = new Client({ name: 'pg-e2e', version: '1.0.0' })
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(`${B}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${refreshedByB['access_token']}` } },
      }),
    )
    const noted = await mcp.callTool({ name: 'create_note', arguments: {} })
    assert.equal(noted.isError ?? false, false, JSON.stringify(noted))
    await mcp.close()

    assert.equal(await a!.stop(), 0, 'A shuts down cleanly on SIGTERM')
    const afterStop = await json(
      await fetch(
        `${B}/token`,
        form({ grant_type: 'refresh_token', refresh_token: refreshedByB['refresh_token'] }),
      ),
    )
    assert.ok(afterStop['access_token'], JSON.stringify(afterStop))

    const a2 = await start(new URL(issuer).port)
    const viaRestartedA = await json(
      await fetch(
        `${origin(a2)}/token`,
        form({ grant_type: 'refresh_token', refresh_token: afterStop['refresh_token'] }),
      ),
    )
    assert.ok(viaRestartedA['access_token'], JSON.stringify(viaRestartedA))
    const stillKnown = await json(
      await fetch(`${origin(a2)}/token/introspection`, form({ token: viaRestartedA['refresh_token'] })),
    )
    assert.equal(stillKnown['active'], true, JSON.stringify(stillKnown))
    assert.equal(stillKnown['client_id'], client['client_id'])
    assert.equal(decodeJwt(viaRestartedA['access_token'])['aud'], `${issuer}/mcp`)
  })
})
