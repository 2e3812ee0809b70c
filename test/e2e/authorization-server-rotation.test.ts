/**
 * Refresh-token rotation without forks, on real sockets: parallel reuses of one refresh token inside the grace
 * window all get the one successor (an idempotent retry), a reuse after the window revokes the whole family;
 * on SQLite, and on PostgreSQL with the reuses spread over two instances sharing the database.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import pg from 'pg'
import {
  type AuthorizationServerStorage,
  createAuthorizationServer,
  createPostgresStorage,
  createSealer,
  createSqliteStorage,
  generateStorageKey,
} from '../../src/authorization-server/index.ts'
import { need, POSTGRES_URL, postgresAvailable } from '../support/environment.ts'
import {
  HeadlessAgent,
  type Json,
  json,
  pkce,
  registerClient,
  testUser,
} from './authorization-server-helpers.ts'

// Wide enough for five parallel refreshes, a retry and a further one on a busy machine; "after the window" moves
// the stores' clock instead of sleeping through it.
const GRACE_SECONDS = 20
let clockOffsetMs = 0
const clock = () => Date.now() + clockOffsetMs
const REDIRECT = 'http://127.0.0.1:9/callback'

/** An authorization server on 127.0.0.1:0 over `storage`; `issuer` defaults to its own origin. */
async function startOn(storage: AuthorizationServerStorage, issuer?: string) {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const as = await createAuthorizationServer({
    issuer: issuer ?? origin,
    storage,
    users: [(await testUser()).user],
    resources: [{ uri: 'https://mcp.example.com/mcp', scopes: ['tools:read'] }],
    rateLimits: false,
  })
  server.on('request', as.handler)
  return {
    origin,
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await storage.close()
    },
  }
}

/** Signs in through `origin` and returns the client id and the first refresh token. */
async function firstRefreshToken(origin: string, credentials: { username: string; password: string }) {
  const client = await registerClient(origin, [REDIRECT])
  const clientId = String(client['client_id'])
  const { verifier, challenge } = pkce()
  const { callback } = await new HeadlessAgent().authorize(
    `${origin}/auth?${new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: 'tools:read',
    })}`,
    REDIRECT,
    credentials,
  )
  const code = new URL(callback).searchParams.get('code')!
  const first = await token(origin, {
    client_id: clientId,
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    code_verifier: verifier,
  })
  assert.equal(typeof first['refresh_token'], 'string', JSON.stringify(first))
  return { clientId, refreshToken: String(first['refresh_token']) }
}

async function token(origin: string, fields: Record<string, string>): Promise<Json> {
  const response = await fetch(`${origin}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  })
  return await json(response)
}

/** Five parallel reuses (spread over `origins`), then the window closes: the checks of the acceptance line. */
async function checkRotation(origins: string[]) {
  clockOffsetMs = 0
  const { username, password } = await testUser()
  const credentials = { username, password }
  const { clientId, refreshToken: r0 } = await firstRefreshToken(origins[0]!, credentials)
  const refresh = (origin: string, value: string) =>
    token(origin, { client_id: clientId, grant_type: 'refresh_token', refresh_token: value })
  const answers = await Promise.all(
    Array.from({ length: 5 }, (_, i) => refresh(origins[i % origins.length]!, r0)),
  )
  for (const a of answers) assert.equal(typeof a['access_token'], 'string', JSON.stringify(a))
  const successors = new Set(answers.map((a) => a['refresh_token']))
  assert.equal(successors.size, 1, 'every reuse inside the window got the one successor')
  const [r1] = [...successors] as string[]
  assert.notEqual(r1, r0)

  // A retry after a lost answer is the same: the successor already issued, with a fresh access token.
  const retried = await refresh(origins.at(-1)!, r0)
  assert.equal(retried['refresh_token'], r1, JSON.stringify(retried))

  // The chain goes on from the one successor.
  const next = await refresh(origins[0]!, r1!)
  assert.equal(typeof next['refresh_token'], 'string', JSON.stringify(next))
  const r2 = String(next['refresh_token'])

  // After the window, reusing R0 revokes the whole family, the live R2 included.
  clockOffsetMs = (GRACE_SECONDS + 1) * 1000
  const late = await refresh(origins[0]!, r0)
  assert.equal(late['error'], 'invalid_grant', JSON.stringify(late))
  const afterRevocation = await refresh(origins[0]!, r2)
  assert.equal(afterRevocation['error'], 'invalid_grant', 'the live end of the chain is revoked too')
}

describe('refresh-token rotation without forks', () => {
  test('SQLite: five parallel reuses share one successor; a reuse after the window revokes the family', async () => {
    const storage = await createSqliteStorage(':memory:', {
      sealer: createSealer(generateStorageKey()),
      refreshReuseGraceSeconds: GRACE_SECONDS,
      now: clock,
    })
    const running = await startOn(storage)
    try {
      await checkRotation([running.origin])
    } finally {
      await running.close()
    }
  })

  describe('PostgreSQL, two instances on one database', () => {
    const schema = `mcp_oauth_rot_${randomBytes(6).toString('hex')}`
    let available = false
    let admin: pg.Client
    const opened: { close(): Promise<void> }[] = []

    before(async () => {
      available = await postgresAvailable()
      if (!available) return
      admin = new pg.Client({ connectionString: POSTGRES_URL })
      await admin.connect()
      await admin.query(`CREATE SCHEMA ${schema}`)
    })
    after(async () => {
      for (const running of opened) await running.close()
      if (!available) return
      await admin.query(`DROP SCHEMA ${schema} CASCADE`)
      await admin.end()
    })

    test('reuses spread over both instances share one successor; a late reuse revokes the family', async (t) => {
      if (!need(t, 'PostgreSQL', available)) return
      const url = new URL(POSTGRES_URL)
      url.searchParams.set('options', `-c search_path=${schema}`)
      const key = generateStorageKey()
      const open = () =>
        createPostgresStorage(url.href, {
          sealer: createSealer(key),
          refreshReuseGraceSeconds: GRACE_SECONDS,
          now: clock,
        })
      // One issuer for both, as behind a load balancer.
      const a = await startOn(await open())
      opened.push(a)
      const b = await startOn(await open(), a.origin)
      opened.push(b)
      await checkRotation([a.origin, b.origin])
    })
  })
})
