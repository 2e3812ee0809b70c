/**
 * Restart under load: 8 clients refresh in a loop against a spawned `mcp-oauth serve` on a fixed port, which is
 * stopped with SIGTERM, restarted, killed with SIGKILL and restarted again; on SQLite and on PostgreSQL (a
 * fresh schema). Nothing may be lost: no grant revoked, no registration gone, every request sent to a ready
 * server answered, and every client's chain goes on afterwards. Clients retry a request that got no answer
 * with the same refresh token, as real clients do.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, type TestContext, test } from 'node:test'
import pg from 'pg'
import { generateStorageKey } from '../../src/authorization-server/index.ts'
import { need, POSTGRES_URL, postgresAvailable } from '../support/environment.ts'
import {
  freePort,
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
const CLIENTS = 8

interface Chain {
  client: Json
  refreshToken: string
  refreshes: number
  revoked?: string
}

/** Requests that hung until their deadline: a socket accepting before it can answer, or a lost drain. */
let hung = 0

/** One refresh with a deadline; undefined when no answer came (refused connection, reset, timeout). */
async function refreshOnce(
  issuer: string,
  chain: Chain,
): Promise<{ status: number; body: Json } | undefined> {
  try {
    const response = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: String(chain.client['client_id']),
        grant_type: 'refresh_token',
        refresh_token: chain.refreshToken,
      }),
      signal: AbortSignal.timeout(5000),
    })
    return { status: response.status, body: await json(response) }
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') hung++
    return undefined
  }
}

async function runRestartUnderLoad(t: TestContext, store: string, env: Record<string, string>) {
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}`
  const args = [
    '--port',
    String(port),
    '--store',
    store,
    '--quiet',
    '--user',
    `${user.username}:${user.password}`,
  ]
  let serve: ServeProcess = await spawnServe(args, env)
  /** Requests sent while a started server was ready, and how many of them got no answer. */
  let ready = true
  let sentWhileReady = 0
  let unansweredWhileReady = 0
  try {
    hung = 0
    const signIn = async (): Promise<Chain> => {
      const client = await registerClient(issuer, [REDIRECT])
      const { verifier, challenge } = pkce()
      const { callback } = await new HeadlessAgent().authorize(
        `${issuer}/auth?${new URLSearchParams({
          response_type: 'code',
          client_id: String(client['client_id']),
          redirect_uri: REDIRECT,
          code_challenge: challenge,
          code_challenge_method: 'S256',
          scope: 'tools:read',
        })}`,
        REDIRECT,
        user,
      )
      const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_id: String(client['client_id']),
          grant_type: 'authorization_code',
          code: new URL(callback).searchParams.get('code')!,
          redirect_uri: REDIRECT,
          code_verifier: verifier,
        }),
      })
      const body = await json(response)
      assert.equal(typeof body['refresh_token'], 'string', JSON.stringify(body))
      return { client, refreshToken: body['refresh_token'], refreshes: 0 }
    }
    const chains = await Promise.all(Array.from({ length: CLIENTS }, signIn))

    let running = true
    const loop = async (chain: Chain) => {
      while (running && !chain.revoked) {
        const wasReady = ready
        const answer = await refreshOnce(issuer, chain)
        if (wasReady && ready) {
          sentWhileReady++
          if (!answer) unansweredWhileReady++
        }
        if (answer?.status === 200) {
          chain.refreshToken = answer.body['refresh_token']
          chain.refreshes++
        } else if (answer?.body['error'] === 'invalid_grant') {
          chain.revoked = String(answer.body['error_description'] ?? 'invalid_grant')
        }
        // No answer, 429 or 5xx: retry the same refresh token shortly, like a client that lost the answer.
        await new Promise((r) => setTimeout(r, answer?.status === 200 ? 200 + Math.random() * 400 : 150))
      }
    }
    const loops = chains.map(loop)
    const pause = () => new Promise((r) => setTimeout(r, 2500 + Math.random() * 1000))

    const downtimes: number[] = []
    const restart = async (signal: NodeJS.Signals) => {
      await pause()
      ready = false
      const stopped = Date.now()
      const code = await serve.stop(signal)
      if (signal === 'SIGTERM') assert.equal(code, 0, 'SIGTERM drains and exits cleanly')
      serve = await spawnServe(args, env)
      downtimes.push(Date.now() - stopped)
      ready = true
    }
    await restart('SIGTERM')
    await restart('SIGKILL')
    await pause()
    running = false
    await Promise.all(loops)

    const revoked = chains.filter((c) => c.revoked)
    t.diagnostic(
      `refreshes per client: ${chains.map((c) => c.refreshes).join('/')}; requests to a ready server: ${sentWhileReady}; hung: ${hung}; downtime ms: ${downtimes.join('/')}`,
    )
    assert.deepEqual(
      revoked.map((c) => c.revoked),
      [],
      'no grant was revoked',
    )
    assert.equal(unansweredWhileReady, 0, 'every request sent to a ready server was answered')
    assert.equal(hung, 0, 'no request hung: refused fast while down, answered once up')
    for (const chain of chains) {
      // The registration survived both restarts, and the chain goes on.
      const registration = await fetch(String(chain.client['registration_client_uri']), {
        headers: { authorization: `Bearer ${chain.client['registration_access_token']}` },
      })
      assert.equal(registration.status, 200, 'the registration is still there')
      const next = await refreshOnce(issuer, chain)
      assert.equal(next?.status, 200, JSON.stringify(next?.body))
    }
  } finally {
    await serve.stop('SIGTERM')
  }
}

describe('serve restarted under load loses nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-restart-'))
  const schema = `mcp_oauth_restart_${randomBytes(6).toString('hex')}`
  let available = false
  let admin: pg.Client

  before(async () => {
    available = await postgresAvailable()
    if (!available) return
    admin = new pg.Client({ connectionString: POSTGRES_URL })
    await admin.connect()
    await admin.query(`CREATE SCHEMA ${schema}`)
  })
  after(async () => {
    rmSync(dir, { recursive: true, force: true })
    if (!available) return
    await admin.query(`DROP SCHEMA ${schema} CASCADE`)
    await admin.end()
  })

  test('SQLite: SIGTERM then SIGKILL with 8 clients refreshing', { timeout: 120_000 }, async (t) => {
    await runRestartUnderLoad(t, `sqlite:${join(dir, 'as.db')}`, {})
  })

  test('PostgreSQL: SIGTERM then SIGKILL with 8 clients refreshing', { timeout: 120_000 }, async (t) => {
    if (!need(t, 'PostgreSQL', available)) return
    const url = new URL(POSTGRES_URL)
    url.searchParams.set('options', `-c search_path=${schema}`)
    await runRestartUnderLoad(t, url.href, { MCP_OAUTH_STORAGE_KEY: generateStorageKey() })
  })
})
