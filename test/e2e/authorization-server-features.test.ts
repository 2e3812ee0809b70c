/**
 * The authorization server's MCP defaults and options over real sockets: path issuers, initial access tokens,
 * opaque tokens with introspection, refresh rotation with a grace window and reuse detection, DPoP binding,
 * CORS, anti-framing, CSRF and rate limits.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as jose from 'jose'
import {
  HeadlessAgent,
  json,
  pkce,
  type RunningAuthorizationServer,
  registerClient,
  startAuthorizationServer,
  testUser,
} from './authorization-server-helpers.ts'

const RESOURCE = 'https://mcp.example.com/mcp'
const redirect = 'http://127.0.0.1:9/callback'
type Alice = Awaited<ReturnType<typeof testUser>>

/** Signs in and exchanges the code; returns the token response and the client id. */
async function signIn(
  server: RunningAuthorizationServer,
  alice: Alice,
  extraHeaders: Record<string, string> = {},
) {
  const metadata = await json(
    await fetch(
      `${server.origin}/.well-known/oauth-authorization-server${new URL(server.issuer).pathname.replace(/\/$/, '')}`,
    ),
  )
  const client = await registerClient(server.issuer, [redirect])
  const { verifier, challenge } = pkce()
  const url = new URL(metadata['authorization_endpoint'])
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client['client_id'],
    redirect_uri: redirect,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString()
  const { callback } = await new HeadlessAgent().authorize(url.href, redirect, alice)
  const response = await fetch(metadata['token_endpoint'], {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...extraHeaders },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: new URL(callback).searchParams.get('code')!,
      redirect_uri: redirect,
      code_verifier: verifier,
      client_id: client['client_id'],
    }),
  })
  return { tokens: await json(response), clientId: client['client_id'] as string, metadata, response }
}

/** A refresh-token grant at the server's token endpoint (RFC 6749 §6), with any further form fields. */
function refreshAt(
  metadata: Record<string, string>,
  clientId: string,
  token: string,
  extra: Record<string, string> = {},
) {
  return fetch(metadata['token_endpoint']!, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: token,
      client_id: clientId,
      ...extra,
    }),
  })
}

describe('authorization server features', () => {
  let alice: Alice
  const servers: RunningAuthorizationServer[] = []
  before(async () => {
    alice = await testUser()
  })
  after(async () => {
    for (const server of servers) await server.close()
  })
  const start = async (options: Partial<Parameters<typeof startAuthorizationServer>[0]> = {}) => {
    const server = await startAuthorizationServer({
      resources: [{ uri: RESOURCE, scopes: ['tools:read', 'admin'], defaultScopes: ['tools:read'] }],
      users: [alice.user],
      ...options,
    })
    servers.push(server)
    return server
  }

  test('an issuer with a path serves metadata path-inserted (RFC 8414) and path-appended (OIDC)', async () => {
    const server = await start({ issuerPath: '/tenant-a' })
    assert.equal(server.issuer, `${server.origin}/tenant-a`)
    for (const path of [
      '/.well-known/oauth-authorization-server/tenant-a',
      '/.well-known/openid-configuration/tenant-a',
      '/tenant-a/.well-known/openid-configuration',
    ]) {
      const response = await fetch(`${server.origin}${path}`)
      assert.equal(response.status, 200, path)
      const metadata = await json(response)
      assert.equal(metadata['issuer'], server.issuer)
      assert.equal(metadata['token_endpoint'], `${server.issuer}/token`)
    }
    assert.equal((await fetch(`${server.origin}/.well-known/oauth-authorization-server`)).status, 404)
    const { tokens } = await signIn(server, alice)
    assert.equal(jose.decodeJwt(tokens['access_token']).iss, server.issuer)
  })

  test('registration protected by an initial access token', async () => {
    const server = await start({ registration: { mode: 'initial_access_token' } })
    const body = JSON.stringify({ redirect_uris: [redirect], token_endpoint_auth_method: 'none' })
    const refused = await fetch(`${server.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    assert.equal(refused.status, 401)
    assert.equal((await json(refused))['error'], 'invalid_token')
    const iat = await server.as.createInitialAccessToken()
    const accepted = await fetch(`${server.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${iat}` },
      body,
    })
    assert.equal(accepted.status, 201)
  })

  test('opaque access tokens (option) are introspectable by the resource server with aud = resource', async () => {
    const server = await start({
      resources: [{ uri: RESOURCE, scopes: ['tools:read'], accessTokenFormat: 'opaque' }],
      clients: [
        {
          client_id: 'rs',
          client_secret: 'rs-secret-0123456789',
          grant_types: [],
          response_types: [],
          redirect_uris: [],
        },
      ],
    })
    const { tokens } = await signIn(server, alice)
    assert.equal(tokens['access_token'].split('.').length, 1, 'opaque')
    const introspected = await json(
      await fetch(`${server.issuer}/token/introspection`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from('rs:rs-secret-0123456789').toString('base64')}`,
        },
        body: new URLSearchParams({ token: tokens['access_token'] }),
      }),
    )
    assert.equal(introspected['active'], true)
    assert.equal(introspected['aud'], RESOURCE)
    assert.equal(introspected['sub'], 'alice')
    assert.equal(introspected['scope'], 'tools:read')
  })

  test('refresh rotation: concurrent reuse inside the grace window is fine, later reuse revokes the grant', async () => {
    const server = await start()
    const { tokens, clientId, metadata } = await signIn(server, alice)
    const refresh = async (token: string) => json(await refreshAt(metadata, clientId, token))
    const [one, two] = await Promise.all([refresh(tokens['refresh_token']), refresh(tokens['refresh_token'])])
    assert.ok(one['access_token'] && two['access_token'], 'both concurrent refreshes succeed')
    assert.ok(one['refresh_token'] !== tokens['refresh_token'])
    const next = await refresh(one['refresh_token'])
    assert.ok(next['access_token'])
  })

  test('a refresh naming its resource gets a token for it; one naming another resource is refused', async () => {
    const server = await start()
    const { tokens, clientId, metadata } = await signIn(server, alice)
    const refresh = async (token: string, resource: string) => {
      const response = await refreshAt(metadata, clientId, token, { resource })
      return { status: response.status, body: await json(response) }
    }
    const other = await refresh(tokens['refresh_token'], 'https://other.example.com/mcp')
    assert.equal(other.status, 400)
    assert.equal(other.body['error'], 'invalid_target')
    const named = await refresh(tokens['refresh_token'], RESOURCE)
    assert.equal(named.status, 200, JSON.stringify(named.body))
    assert.equal(jose.decodeJwt(named.body['access_token']).aud, RESOURCE)
  })

  test('refresh reuse after the grace window revokes the whole grant', async () => {
    const { createSqliteStorage, createSealer, generateStorageKey } = await import(
      '../../src/authorization-server/index.ts'
    )
    const server = await start({
      storage: await createSqliteStorage(':memory:', {
        sealer: createSealer(generateStorageKey()),
        refreshReuseGraceSeconds: 0,
      }),
    })
    const { tokens, clientId, metadata } = await signIn(server, alice)
    const refresh = async (token: string) => json(await refreshAt(metadata, clientId, token))
    const rotated = await refresh(tokens['refresh_token'])
    assert.ok(rotated['refresh_token'])
    const replay = await refresh(tokens['refresh_token'])
    assert.equal(replay['error'], 'invalid_grant')
    const victim = await refresh(rotated['refresh_token'])
    assert.equal(victim['error'], 'invalid_grant', 'the stolen-token grant is revoked for everyone')
  })

  test('DPoP-bound tokens carry cnf.jkt and refresh needs the same key', async () => {
    const server = await start()
    const { privateKey, publicKey } = await jose.generateKeyPair('ES256')
    const jwk = await jose.exportJWK(publicKey)
    const proof = async (url: string) =>
      new jose.SignJWT({ htm: 'POST', htu: url, jti: crypto.randomUUID() })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .setIssuedAt()
        .sign(privateKey)
    const { tokens, clientId, metadata } = await signIn(server, alice, {
      dpop: await proof(`${server.issuer}/token`),
    })
    assert.equal(tokens['token_type'], 'DPoP')
    const cnf = jose.decodeJwt(tokens['access_token'])['cnf'] as { jkt: string }
    assert.equal(cnf.jkt, await jose.calculateJwkThumbprint(jwk))
    const withoutProof = await json(
      await fetch(metadata['token_endpoint'], {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: tokens['refresh_token'],
          client_id: clientId,
        }),
      }),
    )
    assert.equal(withoutProof['error'], 'invalid_grant')
  })

  test('CORS on metadata, registration and token; pages refuse framing; a forged form is refused', async () => {
    const server = await start()
    const origin = 'https://inspector.example'
    const preflight = await fetch(`${server.issuer}/token`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST' },
    })
    assert.equal(preflight.headers.get('access-control-allow-origin'), origin)
    const regPreflight = await fetch(`${server.issuer}/reg`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST' },
    })
    assert.equal(regPreflight.status, 204)
    assert.equal(regPreflight.headers.get('access-control-allow-origin'), origin)

    const client = await registerClient(server.issuer, [redirect])
    const agent = new HeadlessAgent()
    const first = await agent.request(
      `${server.issuer}/auth?${new URLSearchParams({
        response_type: 'code',
        client_id: client['client_id'],
        redirect_uri: redirect,
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      })}`,
    )
    const interaction = new URL(first.headers.get('location')!, server.issuer).href
    const page = await agent.request(interaction)
    assert.equal(page.headers.get('x-frame-options'), 'DENY')
    assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/)
    assert.doesNotMatch(await page.text(), /<script/i)
    const forged = await agent.request(`${interaction}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: 'forged', username: 'alice', password: alice.password }),
    })
    assert.equal(forged.status, 403)
  })

  test('rate limits answer 429 with Retry-After', async () => {
    const server = await start({ rateLimits: { registration: { max: 2, windowSeconds: 60 } } })
    const register = () =>
      fetch(`${server.issuer}/reg`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ redirect_uris: [redirect], token_endpoint_auth_method: 'none' }),
      })
    assert.equal((await register()).status, 201)
    assert.equal((await register()).status, 201)
    const limited = await register()
    assert.equal(limited.status, 429)
    assert.ok(Number(limited.headers.get('retry-after')) > 0)
  })
})
