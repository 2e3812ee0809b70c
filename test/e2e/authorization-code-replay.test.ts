/**
 * An authorization code redeemed by several token requests at once gets tokens exactly once, on SQLite storage
 * in a file (what `serve` uses) and on PostgreSQL: oidc-provider finds the code, checks that it is unused, then
 * consumes it, so a store whose consume does not itself refuse a code already marked answered every racer with
 * tokens (PostgreSQL did: its find and consume are separate round trips).
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-2.1.1
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { decodeJwt } from 'jose'
import pg from 'pg'
import {
  type AuthorizationServerStorage,
  createPostgresStorage,
  createSealer,
  createSqliteStorage,
  generateStorageKey,
} from '../../src/authorization-server/index.ts'
import { need, POSTGRES_URL, postgresAvailable } from '../support/environment.ts'
import {
  HeadlessAgent,
  pkce,
  registerClient,
  startAuthorizationServer,
  testUser,
} from './authorization-server-helpers.ts'

const RESOURCE = 'https://mcp.example.com/mcp'
const REDIRECT = 'http://127.0.0.1:9/callback'
const RACERS = 4

async function checkRedeemedOnce(storage: AuthorizationServerStorage) {
  const alice = await testUser()
  const audit: Record<string, unknown>[] = []
  const server = await startAuthorizationServer({
    resources: [{ uri: RESOURCE, scopes: ['tools:read'] }],
    users: [alice.user],
    storage,
    audit: (event) => audit.push(event as Record<string, unknown>),
  })
  try {
    const client = await registerClient(server.issuer, [REDIRECT], {
      grant_types: ['authorization_code', 'refresh_token'],
    })
    for (let trial = 0; trial < 5; trial++) {
      const { verifier, challenge } = pkce()
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: client.client_id,
        redirect_uri: REDIRECT,
        scope: 'tools:read',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        resource: RESOURCE,
      })
      const { callback } = await new HeadlessAgent().authorize(
        `${server.issuer}/auth?${query}`,
        REDIRECT,
        alice,
      )
      const code = new URL(callback).searchParams.get('code')
      assert.ok(code)
      const body = new URLSearchParams({
        client_id: client.client_id,
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
        resource: RESOURCE,
      }).toString()
      const answers = await Promise.all(
        Array.from({ length: RACERS }, async () => {
          const response = await fetch(`${server.issuer}/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body,
          })
          return { status: response.status, body: (await response.json()) as Record<string, unknown> }
        }),
      )
      assert.equal(
        answers.filter((a) => a.status === 200).length,
        1,
        `trial ${trial}: exactly one gets tokens`,
      )
      for (const a of answers.filter((a) => a.status !== 200)) assert.equal(a.body['error'], 'invalid_grant')
      // The replay revokes the grant (RFC 6749 §4.1.2), the winner's tokens too, whenever they were written.
      const winner = answers.find((a) => a.status === 200)!.body
      const refresh = winner['refresh_token']
      assert.equal(typeof refresh, 'string', `trial ${trial}: a refresh token was issued`)
      const refreshed = await fetch(`${server.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_id: client.client_id,
          grant_type: 'refresh_token',
          refresh_token: String(refresh),
          resource: RESOURCE,
        }),
      })
      assert.equal(refreshed.status, 400, `trial ${trial}: the winner's refresh token is revoked`)
      assert.equal(((await refreshed.json()) as Record<string, unknown>)['error'], 'invalid_grant')
      const jti = decodeJwt(String(winner['access_token'])).jti
      assert.ok(jti)
      assert.equal(
        await server.as.accessTokenGrantAlive(jti),
        false,
        `trial ${trial}: its access token is dead`,
      )
    }
    const revoked = audit.filter((e) => e['type'] === 'grant.revoked')
    assert.ok(revoked.length >= 5, `a grant.revoked audit event per replayed code (${revoked.length})`)
  } finally {
    await server.close()
  }
}

describe('an authorization code redeemed by parallel token requests', () => {
  it('SQLite file: one of them gets tokens, the others invalid_grant, for every code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-code-replay-'))
    try {
      await checkRedeemedOnce(
        await createSqliteStorage(join(dir, 'as.db'), { sealer: createSealer(generateStorageKey()) }),
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  const schema = `code_replay_${process.pid}_${Date.now()}`
  let created = false
  after(async () => {
    if (!created) return
    const admin = new pg.Client({ connectionString: POSTGRES_URL })
    await admin.connect()
    await admin.query(`DROP SCHEMA ${schema} CASCADE`)
    await admin.end()
  })

  it('PostgreSQL: one of them gets tokens, the others invalid_grant, for every code', async (t) => {
    if (!need(t, 'PostgreSQL', await postgresAvailable())) return
    const admin = new pg.Client({ connectionString: POSTGRES_URL })
    await admin.connect()
    await admin.query(`CREATE SCHEMA ${schema}`)
    created = true
    await admin.end()
    const url = new URL(POSTGRES_URL)
    url.searchParams.set('options', `-c search_path=${schema}`)
    await checkRedeemedOnce(
      await createPostgresStorage(url.href, { sealer: createSealer(generateStorageKey()) }),
    )
  })
})
