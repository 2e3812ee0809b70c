/**
 * An authorization code redeemed by several token requests at once gets tokens exactly once, on SQLite storage
 * in a file (the storage `serve` uses): oidc-provider finds the code, checks that it is unused, then consumes it,
 * so a store that let a read overtake a write still waiting (a consume queued for a later commit) would answer
 * every racer with tokens.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-2.1.1
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  createSealer,
  createSqliteStorage,
  generateStorageKey,
} from '../../src/authorization-server/index.ts'
import {
  HeadlessAgent,
  pkce,
  type RunningAuthorizationServer,
  registerClient,
  startAuthorizationServer,
  testUser,
} from './authorization-server-helpers.ts'

const RESOURCE = 'https://mcp.example.com/mcp'
const REDIRECT = 'http://127.0.0.1:9/callback'
const RACERS = 4

describe('an authorization code redeemed by parallel token requests', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-code-replay-'))
  let server: RunningAuthorizationServer
  let alice: Awaited<ReturnType<typeof testUser>>
  before(async () => {
    alice = await testUser()
    const storage = await createSqliteStorage(join(dir, 'as.db'), {
      sealer: createSealer(generateStorageKey()),
    })
    server = await startAuthorizationServer({
      resources: [{ uri: RESOURCE, scopes: ['tools:read'] }],
      users: [alice.user],
      storage,
    })
  })
  after(async () => {
    await server?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('answers one of them with tokens and the others with invalid_grant, for every code', async () => {
    const client = await registerClient(server.issuer, [REDIRECT])
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
    }
  })
})
