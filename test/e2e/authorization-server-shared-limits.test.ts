/**
 * Two `mcp-oauth serve` processes behind one issuer spend one budget: failed sign-ins for one account count
 * across both, and a DPoP proof used at one is refused at the other. Once with the counters in PostgreSQL (the
 * shared store), once in Redis (`--redis`, a key prefix per run). Each run uses its own schema.
 */
import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import pg from 'pg'
import { createClient } from 'redis'
import { generateStorageKey } from '../../src/authorization-server/index.ts'
import { need, POSTGRES_URL, postgresAvailable, REDIS_URL, redisAvailable } from '../support/environment.ts'
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
const bob = { username: 'bob', password: 'another long passphrase' }
const REDIRECT = 'http://127.0.0.1:9/callback'

for (const shared of ['postgres', 'redis'] as const) {
  describe(`two serve instances share limits and DPoP replay markers (${shared})`, () => {
    const schema = `mcp_oauth_e2e_${randomBytes(6).toString('hex')}`
    const redisPrefix = `mcp-oauth-e2e-${randomBytes(6).toString('hex')}:`
    const env = { MCP_OAUTH_STORAGE_KEY: generateStorageKey() }
    let available = false
    let admin: pg.Client
    let a: ServeProcess
    let b: ServeProcess
    let issuer = ''

    before(async () => {
      available = (await postgresAvailable()) && (shared === 'postgres' || (await redisAvailable()))
      if (!available) return
      admin = new pg.Client({ connectionString: POSTGRES_URL })
      await admin.connect()
      await admin.query(`CREATE SCHEMA ${schema}`)
      const url = new URL(POSTGRES_URL)
      url.searchParams.set('options', `-c search_path=${schema}`)
      issuer = `http://127.0.0.1:${await freePort()}`
      const args = [
        '--issuer',
        issuer,
        '--store',
        url.href,
        '--quiet',
        '--user',
        `${user.username}:${user.password}`,
        '--user',
        `${bob.username}:${bob.password}`,
        '--rate-limit',
        'login-account=2/600',
        ...(shared === 'redis' ? ['--redis', REDIS_URL, '--redis-prefix', redisPrefix] : []),
      ]
      // Metadata and redirects carry the issuer: A listens on its port (as a load balancer would), B elsewhere.
      a = await spawnServe(['--port', new URL(issuer).port, ...args], env)
      b = await spawnServe(['--port', '0', ...args], env)
    })
    after(async () => {
      await a?.stop()
      await b?.stop()
      if (!available) return
      await admin.query(`DROP SCHEMA ${schema} CASCADE`)
      await admin.end()
      if (shared === 'redis') {
        const redis = createClient({ url: REDIS_URL })
        await redis.connect()
        const keys = await redis.keys(`${redisPrefix}*`)
        if (keys.length) await redis.del(keys)
        await redis.close()
      }
    })

    test('failed sign-ins for one account are counted across both instances', async (t) => {
      if (!need(t, shared === 'redis' ? 'PostgreSQL and Redis' : 'PostgreSQL', available)) return
      const A = a.ready.listen
      const B = b.ready.listen
      const client = await registerClient(A, [REDIRECT])
      const agent = new HeadlessAgent()
      let response = await agent.request(
        `${A}/auth?${new URLSearchParams({
          response_type: 'code',
          client_id: client['client_id'],
          redirect_uri: REDIRECT,
          code_challenge: pkce().challenge,
          code_challenge_method: 'S256',
          scope: 'tools:read',
        })}`,
      )
      while (response.status === 302 || response.status === 303)
        response = await agent.request(new URL(response.headers.get('location')!, A).href)
      const html = await response.text()
      const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!
      const action = /action="([^"]+\/login)"/.exec(html)![1]!
      const login = (origin: string, password: string) =>
        agent.request(`${origin}${action}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ csrf, username: user.username, password }).toString(),
        })
      assert.equal((await login(A, 'wrong one')).status, 401)
      assert.equal((await login(B, 'wrong two')).status, 401)
      assert.equal((await login(A, user.password)).status, 429, 'A counts the failure made at B')
      assert.equal((await login(B, user.password)).status, 429, 'B counts the failure made at A')
      if (shared === 'redis') {
        const redis = createClient({ url: REDIS_URL })
        await redis.connect()
        assert.ok((await redis.keys(`${redisPrefix}*`)).length > 0, 'the counters live in Redis')
        await redis.close()
      }
    })

    test('a DPoP proof used at one instance is refused at the other', async (t) => {
      if (!need(t, shared === 'redis' ? 'PostgreSQL and Redis' : 'PostgreSQL', available)) return
      const A = a.ready.listen
      const B = b.ready.listen
      const client = await registerClient(A, [REDIRECT])
      const { verifier, challenge } = pkce()
      const { callback } = await new HeadlessAgent().authorize(
        `${A}/auth?${new URLSearchParams({
          response_type: 'code',
          client_id: client['client_id'],
          redirect_uri: REDIRECT,
          code_challenge: challenge,
          code_challenge_method: 'S256',
          scope: 'tools:read',
        })}`,
        REDIRECT,
        bob,
      )
      const { privateKey, publicKey } = await generateKeyPair('ES256')
      const jwk = await exportJWK(publicKey)
      // Both instances check htu against the issuer's token endpoint, whichever socket the proof reaches.
      const proof = () =>
        new SignJWT({ htm: 'POST', htu: `${issuer}/token`, jti: randomUUID() })
          .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
          .setIssuedAt()
          .sign(privateKey)
      const token = (origin: string, dpop: string, fields: Record<string, string>) =>
        fetch(`${origin}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', dpop },
          body: new URLSearchParams({ client_id: client['client_id'], ...fields }),
        })
      const used = await proof()
      const first = await json(
        await token(A, used, {
          grant_type: 'authorization_code',
          code: new URL(callback).searchParams.get('code')!,
          redirect_uri: REDIRECT,
          code_verifier: verifier,
        }),
      )
      assert.equal(first['token_type'], 'DPoP', JSON.stringify(first))
      const replayed = await token(B, used, {
        grant_type: 'refresh_token',
        refresh_token: first['refresh_token'],
      })
      assert.equal(replayed.status, 400)
      assert.equal((await json(replayed))['error'], 'invalid_grant')
      const fresh = await json(
        await token(B, await proof(), { grant_type: 'refresh_token', refresh_token: first['refresh_token'] }),
      )
      assert.ok(fresh['access_token'], `a fresh proof at B works: ${JSON.stringify(fresh)}`)
    })
  })
}
