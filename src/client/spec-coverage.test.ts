/**
 * Focused tests for MUST/SHOULD rules of the MCP 2026-07-28 authorization spec (client side) that no other test
 * pinned down; docs/spec-coverage.md cites each by name.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  authorizationServerMetadataUrls,
  validateAuthorizationServerMetadata,
} from '../shared/authorization-server.ts'
import { isMcpOAuthError, OAuthResponseError } from '../shared/errors.ts'
import { canonicalResource, sameResource } from '../shared/resource.ts'
import { buildAuthorizationRequest, validateCallback } from './authorization.ts'
import { authorizedFetch } from './fetch.ts'
import type { ClientInfo } from './registration.ts'
import {
  AS,
  CIMD,
  echoRegistration,
  LOOPBACK,
  metadata,
  OTHER_AS,
  registrar,
  resolve,
} from './spec-coverage.test-helper.ts'
import { MemoryStore, storeKey } from './stores/store.ts'
import { fakeFetch } from './testing.ts'
import { exchangeCode, refreshTokens } from './tokens.ts'

describe('client registration (client-registration)', () => {
  it('priority order: pre-registered, then CIMD when advertised, then DCR, then a typed error', async () => {
    const r = registrar(echoRegistration)
    const cimdAs = metadata({ client_id_metadata_document_supported: true })
    const pre = { client_id: 'pre-1', issuer: AS }
    const a = await resolve(r.fetch, { preRegistered: pre, clientMetadataUrl: CIMD }, { metadata: cimdAs })
    assert.equal(a.source, 'pre-registered')
    assert.equal(a.client_id, 'pre-1')
    const b = await resolve(r.fetch, { clientMetadataUrl: CIMD }, { metadata: cimdAs })
    assert.equal(b.source, 'cimd')
    assert.equal(b.client_id, CIMD)
    assert.equal(r.bodies.length, 0, 'no registration request while a better option exists')
    const c = await resolve(r.fetch, { clientMetadataUrl: CIMD })
    assert.equal(
      c.source,
      'dcr',
      'CIMD is used only when the AS advertises client_id_metadata_document_supported',
    )
    assert.equal(r.bodies.length, 1)
    const { registration_endpoint: _none, ...noDcr } = metadata()
    await assert.rejects(resolve(r.fetch, {}, { metadata: noDcr }), (e: unknown) => {
      assert.ok(isMcpOAuthError(e, 'no_registration_method'), String(e))
      assert.match(e.hint, /client.id/i)
      return true
    })
  })

  it('refuses a CIMD client_id that is not https or has no path', async () => {
    const cimdAs = metadata({ client_id_metadata_document_supported: true })
    for (const url of ['http://app.example/oauth/client.json', 'https://app.example/']) {
      await assert.rejects(
        resolve(undefined, { clientMetadataUrl: url }, { metadata: cimdAs }),
        (e: unknown) => isMcpOAuthError(e, 'invalid_client_metadata_url'),
      )
    }
  })

  it('DCR sends application_type native for a loopback redirect and web for a remote https one, with refresh_token', async () => {
    const r = registrar(echoRegistration)
    await resolve(r.fetch, {})
    await resolve(r.fetch, {}, { redirectUri: 'https://app.example/oauth/callback' })
    assert.equal(r.bodies[0]?.['application_type'], 'native')
    assert.equal(r.bodies[1]?.['application_type'], 'web')
    for (const body of r.bodies) {
      assert.ok((body['grant_types'] as string[]).includes('refresh_token'), JSON.stringify(body))
    }
    assert.deepEqual(r.bodies[0]?.['redirect_uris'], [LOOPBACK])
  })

  it('a registration refused for its redirect URI becomes a typed error that says what to do', async () => {
    const r = registrar(() => ({
      status: 400,
      json: { error: 'invalid_redirect_uri', error_description: 'loopback not allowed' },
    }))
    await assert.rejects(resolve(r.fetch, {}), (e: unknown) => {
      assert.ok(e instanceof OAuthResponseError, String(e))
      assert.equal(e.error, 'invalid_redirect_uri')
      assert.equal(e.code, 'oauth_invalid_redirect_uri')
      assert.match(e.hint, /pre-registered client|--client-id/)
      return true
    })
  })

  it('reuses a stored DCR client for the same redirect URI or another loopback port, and registers again otherwise', async () => {
    const r = registrar(echoRegistration)
    const store = new MemoryStore()
    const first = await resolve(r.fetch, {}, { store })
    const again = await resolve(r.fetch, {}, { store })
    assert.equal(again.client_id, first.client_id)
    const port = new URL(LOOPBACK).port === '5000' ? '5001' : '5000'
    const otherPort = await resolve(
      r.fetch,
      {},
      { store, redirectUri: LOOPBACK.replace(/:\d+\//, `:${port}/`) },
    )
    assert.equal(otherPort.client_id, first.client_id, 'RFC 8252 §7.3: any loopback port')
    assert.equal(r.bodies.length, 1)
    const moved = await resolve(r.fetch, {}, { store, redirectUri: 'http://127.0.0.1:5000/other-path' })
    assert.notEqual(moved.client_id, first.client_id)
    assert.deepEqual(r.bodies[1]?.['redirect_uris'], ['http://127.0.0.1:5000/other-path'])
  })
})

describe('authorization server binding (client-registration#authorization-server-binding)', () => {
  it('never sends pre-registered credentials bound to one issuer to another; registers there instead', async () => {
    const { fetch, calls } = fakeFetch({
      [`POST ${OTHER_AS}/register`]: { status: 201, json: { client_id: 'fresh', redirect_uris: [LOOPBACK] } },
    })
    const client = await resolve(
      fetch,
      { preRegistered: { client_id: 'bound-to-as', client_secret: 's3cret', issuer: AS } },
      {
        issuer: OTHER_AS,
        metadata: metadata({ issuer: OTHER_AS, registration_endpoint: `${OTHER_AS}/register` }),
      },
    )
    assert.equal(client.client_id, 'fresh')
    assert.equal(client.issuer, OTHER_AS)
    assert.ok(!calls.some((c) => c.body.includes('bound-to-as') || c.body.includes('s3cret')))
  })

  it('keeps DCR clients per issuer: a client stored for one issuer is not used for another', async () => {
    const store = new MemoryStore()
    const stored: ClientInfo = {
      issuer: AS,
      client_id: 'dcr-at-as',
      token_endpoint_auth_method: 'none',
      redirect_uris: [LOOPBACK],
      source: 'dcr',
      created_at: Date.now(),
    }
    await store.set(storeKey.registration(AS), stored)
    const { fetch } = fakeFetch({
      [`POST ${OTHER_AS}/register`]: {
        status: 201,
        json: { client_id: 'dcr-at-other', redirect_uris: [LOOPBACK] },
      },
    })
    const client = await resolve(
      fetch,
      {},
      {
        store,
        issuer: OTHER_AS,
        metadata: metadata({ issuer: OTHER_AS, registration_endpoint: `${OTHER_AS}/register` }),
      },
    )
    assert.equal(client.client_id, 'dcr-at-other')
    assert.equal((await store.get<ClientInfo>(storeKey.registration(AS)))?.value.client_id, 'dcr-at-as')
  })
})

describe('discovery details (authorization-server-discovery)', () => {
  it('tries RFC 8414 then OpenID Connect for an issuer without a path', () => {
    assert.deepEqual(
      authorizationServerMetadataUrls('https://auth.example.com').map((c) => c.url),
      [
        'https://auth.example.com/.well-known/oauth-authorization-server',
        'https://auth.example.com/.well-known/openid-configuration',
      ],
    )
    assert.deepEqual(
      authorizationServerMetadataUrls('https://auth.example.com/tenant1')
        .slice(0, 3)
        .map((c) => c.url),
      [
        'https://auth.example.com/.well-known/oauth-authorization-server/tenant1',
        'https://auth.example.com/.well-known/openid-configuration/tenant1',
        'https://auth.example.com/tenant1/.well-known/openid-configuration',
      ],
    )
  })

  it('metadata issuer must be identical: a trailing slash, case or port difference is refused', () => {
    for (const issuer of ['https://as.example/', 'https://AS.example', 'https://as.example:443']) {
      assert.throws(
        () => validateAuthorizationServerMetadata(metadata({ issuer }), AS),
        (e: unknown) => isMcpOAuthError(e, 'issuer_mismatch'),
      )
    }
    assert.equal(validateAuthorizationServerMetadata(metadata(), AS).metadata.issuer, AS)
  })
})

describe('canonical server URI (authorization#canonical-server-uri)', () => {
  it('accepts upper-case scheme and host, drops the fragment and the root trailing slash', () => {
    assert.equal(canonicalResource('HTTPS://MCP.Example.COM/mcp'), 'https://mcp.example.com/mcp')
    assert.equal(canonicalResource('https://mcp.example.com/'), 'https://mcp.example.com')
    assert.equal(canonicalResource('https://mcp.example.com:443/mcp#frag'), 'https://mcp.example.com/mcp')
    assert.ok(sameResource('HTTPS://MCP.EXAMPLE.COM/mcp', 'https://mcp.example.com/mcp'))
    assert.throws(
      () => canonicalResource('mcp.example.com'),
      (e: unknown) => isMcpOAuthError(e, 'invalid_resource_uri'),
    )
  })
})

const dcrClient: ClientInfo = {
  issuer: AS,
  client_id: 'c1',
  token_endpoint_auth_method: 'none',
  source: 'dcr',
  created_at: 0,
}

describe('authorization request and token requests (authorization#resource-parameter-implementation)', () => {
  it('records the validated issuer with the PKCE verifier and state, and checks the callback iss against it', async () => {
    const md = metadata({ authorization_response_iss_parameter_supported: true })
    const pending = await buildAuthorizationRequest({
      metadata: md,
      client: dcrClient,
      redirectUri: LOOPBACK,
      resource: 'https://mcp.example/mcp',
      scope: undefined,
    })
    assert.equal(pending.expectedIssuer, AS)
    assert.equal(pending.issParameterSupported, true)
    assert.ok(pending.codeVerifier.length >= 43 && pending.state.length > 0)
    const cb = (q: Record<string, string>) => new URL(`${LOOPBACK}?${new URLSearchParams(q)}`)
    assert.equal(
      validateCallback(pending, dcrClient, cb({ code: 'x', state: pending.state, iss: AS })).get('code'),
      'x',
    )
    assert.throws(
      () => validateCallback(pending, dcrClient, cb({ code: 'x', state: pending.state, iss: OTHER_AS })),
      (e: unknown) => isMcpOAuthError(e, 'iss_mismatch'),
    )
    assert.throws(
      () => validateCallback({ ...pending, issParameterSupported: false }, dcrClient, cb({ code: 'x' })),
      (e: unknown) => isMcpOAuthError(e, 'state_mismatch'),
      'a callback without state is discarded',
    )
  })

  it('sends resource (and the PKCE verifier) in the code exchange and resource again on refresh', async () => {
    const { fetch, calls } = fakeFetch({
      [`POST ${AS}/token`]: { json: { access_token: 'at', token_type: 'Bearer', expires_in: 60 } },
    })
    const md = metadata()
    const pending = await buildAuthorizationRequest({
      metadata: md,
      client: dcrClient,
      redirectUri: LOOPBACK,
      resource: 'https://mcp.example/mcp',
      scope: 'read',
    })
    const callback = new URL(`${LOOPBACK}?code=the-code&state=${pending.state}`)
    const ctx = { metadata: md, client: dcrClient, policy: { fetch } }
    const tokens = await exchangeCode(ctx, {
      callback: validateCallback(pending, dcrClient, callback),
      redirectUri: LOOPBACK,
      codeVerifier: pending.codeVerifier,
      resource: pending.resource,
    })
    const exchange = new URLSearchParams(calls[0]?.body)
    assert.equal(exchange.get('grant_type'), 'authorization_code')
    assert.equal(exchange.get('resource'), 'https://mcp.example/mcp')
    assert.equal(exchange.get('code_verifier'), pending.codeVerifier)
    assert.equal(tokens.refresh_token, undefined, 'no refresh token was issued and none is invented')
    await refreshTokens(ctx, { ...tokens, refresh_token: 'rt' }, 'https://mcp.example/mcp')
    const refresh = new URLSearchParams(calls[1]?.body)
    assert.equal(refresh.get('grant_type'), 'refresh_token')
    assert.equal(refresh.get('resource'), 'https://mcp.example/mcp')
  })
})

describe('access token usage (authorization#access-token-usage)', () => {
  const MCP = 'https://mcp.example/mcp'
  function world() {
    let issued = 0
    const routes = {
      'https://mcp.example/.well-known/oauth-protected-resource/mcp': {
        json: { resource: MCP, authorization_servers: [AS] },
      },
      [`${AS}/.well-known/oauth-authorization-server`]: { json: metadata() },
      [`POST ${AS}/register`]: { status: 201, json: { client_id: 'c1', redirect_uris: [LOOPBACK] } },
      // Never a refresh token: the client must not assume one.
      [`POST ${AS}/token`]: () => ({
        json: { access_token: `at-${++issued}`, token_type: 'Bearer', expires_in: 3600 },
      }),
      [`${MCP}`]: (req: Request) =>
        req.headers.get('authorization') === `Bearer at-${issued}` && issued > 0
          ? { json: { ok: true } }
          : { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } },
    }
    return { ...fakeFetch(routes), revoke: () => issued++ }
  }
  const authorizer = {
    redirectUri: LOOPBACK,
    prompts: 0,
    async authorize(_url: URL, ctx: { state: string }) {
      this.prompts++
      return new URL(`${LOOPBACK}?code=c&state=${ctx.state}`)
    },
  }

  it('sends the token in the Authorization header of every request and never in the URL', async () => {
    const w = world()
    const f = authorizedFetch({
      serverUrl: MCP,
      fetch: w.fetch,
      authorizer: { ...authorizer },
      store: new MemoryStore(),
    })
    for (const method of ['POST', 'GET', 'DELETE']) assert.equal((await f(MCP, { method })).status, 200)
    const toServer = w.calls.filter((c) => c.url.startsWith(MCP))
    assert.deepEqual(
      toServer.map((c) => c.headers.get('authorization')),
      [null, 'Bearer at-1', 'Bearer at-1', 'Bearer at-1'],
    )
    assert.ok(
      w.calls.every((c) => !c.url.includes('at-1')),
      'no token in any URL',
    )
  })

  it('without a refresh token, a later 401 leads to a new sign-in, never to a refresh request', async () => {
    const w = world()
    const a = { ...authorizer, prompts: 0 }
    const f = authorizedFetch({ serverUrl: MCP, fetch: w.fetch, authorizer: a, store: new MemoryStore() })
    assert.equal((await f(MCP, { method: 'POST', body: '{}' })).status, 200)
    w.revoke()
    assert.equal((await f(MCP, { method: 'POST', body: '{}' })).status, 200)
    assert.equal(a.prompts, 2)
    const grants = w.calls
      .filter((c) => c.url === `${AS}/token`)
      .map((c) => new URLSearchParams(c.body).get('grant_type'))
    assert.deepEqual(grants, ['authorization_code', 'authorization_code'])
  })
})

describe('pre-registered credentials without an issuer (client-registration#authorization-server-binding)', () => {
  it('are bound to the first issuer they are used with; another issuer then gets a typed error', async () => {
    const store = new MemoryStore()
    const { fetch } = fakeFetch({})
    const pre = { preRegistered: { client_id: 'app-client', client_secret: 'shh' } }
    const first = await resolve(fetch, pre, { store })
    assert.equal(first.client_id, 'app-client')
    await assert.rejects(
      resolve(fetch, pre, {
        store,
        issuer: OTHER_AS,
        metadata: metadata({ issuer: OTHER_AS, registration_endpoint: `${OTHER_AS}/register` }),
      }),
      (e: unknown) =>
        isMcpOAuthError(e, 'preregistered_client_issuer_mismatch') && !String(e).includes('shh'),
    )
  })
})
