import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as jose from 'jose'
import {
  HeadlessAgent,
  json,
  pkce,
  type RunningAuthorizationServer,
  startAuthorizationServer,
  testUser,
} from './authorization-server-helpers.ts'

const RESOURCE = 'https://mcp.example.com/mcp'

describe('authorization server: metadata, DCR and the code flow over real sockets', () => {
  let running: RunningAuthorizationServer
  let alice: Awaited<ReturnType<typeof testUser>>
  const audit: Record<string, unknown>[] = []

  before(async () => {
    alice = await testUser()
    running = await startAuthorizationServer({
      resources: [
        { uri: RESOURCE, scopes: ['tools:read', 'tools:write', 'admin'], defaultScopes: ['tools:read'] },
      ],
      users: [alice.user],
      audit: (event) => audit.push(event),
    })
  })
  after(async () => {
    await running.close()
  })

  test('metadata is served at the RFC 8414 and OIDC paths with the MCP fields', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const response = await fetch(`${running.origin}${path}`, { headers: { origin: 'https://app.example' } })
      assert.equal(response.status, 200)
      assert.ok(response.headers.get('access-control-allow-origin'))
      const metadata = await json(response)
      assert.equal(metadata.issuer, running.issuer)
      assert.deepEqual(metadata.code_challenge_methods_supported, ['S256'])
      assert.equal(metadata.authorization_response_iss_parameter_supported, true)
      assert.equal(metadata.client_id_metadata_document_supported, true)
      assert.ok(metadata.registration_endpoint)
      assert.ok(metadata.revocation_endpoint)
      assert.ok(metadata.introspection_endpoint)
      assert.ok(metadata.dpop_signing_alg_values_supported.includes('ES256'))
      for (const scope of ['tools:read', 'tools:write', 'admin'])
        assert.ok(metadata.scopes_supported.includes(scope))
    }
  })

  test('DCR → authorize (no scope) → token: audience-bound RFC 9068 JWT, refresh without offline_access, rotation, revocation', async () => {
    const metadata = await json(await fetch(`${running.issuer}/.well-known/oauth-authorization-server`))
    const redirect = 'http://127.0.0.1:9/callback'
    const registered = await fetch(metadata.registration_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://app.example' },
      body: JSON.stringify({
        redirect_uris: [redirect],
        token_endpoint_auth_method: 'none',
        client_name: 'Test App',
      }),
    })
    assert.equal(registered.status, 201, await registered.clone().text())
    assert.equal(registered.headers.get('access-control-allow-origin'), 'https://app.example')
    const client = await json(registered)
    assert.equal(client.application_type, 'native')
    assert.equal(client.client_secret, undefined)
    assert.equal(client.scope, 'tools:read tools:write admin')
    assert.ok(client.grant_types.includes('refresh_token'))

    const { verifier, challenge } = pkce()
    const authorize = new URL(metadata.authorization_endpoint)
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: redirect,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'xyz',
      resource: RESOURCE,
    }).toString()
    const agent = new HeadlessAgent()
    const { callback, pages } = await agent.authorize(authorize.href, redirect, alice)
    assert.ok(
      pages.some((p) => p.includes('Test App') && p.includes('127.0.0.1:9') && p.includes('tools:read')),
    )
    const params = new URL(callback).searchParams
    assert.equal(params.get('iss'), running.issuer)
    assert.equal(params.get('state'), 'xyz')

    const token = await fetch(metadata.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: params.get('code')!,
        redirect_uri: redirect,
        code_verifier: verifier,
        client_id: client.client_id,
      }),
    })
    assert.equal(token.status, 200)
    const tokens = await json(token)
    assert.equal(tokens.scope, 'tools:read')
    assert.ok(tokens.refresh_token, 'refresh token without offline_access')
    const jwks = jose.createRemoteJWKSet(new URL(metadata.jwks_uri))
    const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, {
      issuer: running.issuer,
      audience: RESOURCE,
      typ: 'at+jwt',
    })
    assert.equal(protectedHeader.alg, 'ES256')
    assert.equal(payload.sub, 'alice')
    assert.equal(payload['client_id'], client.client_id)

    const refresh = (refreshToken: string) =>
      fetch(metadata.token_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
          client_id: client.client_id,
        }),
      })
    const refreshed = await json(await refresh(tokens.refresh_token))
    assert.ok(refreshed.access_token)
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'rotated')

    const introspect = await fetch(metadata.introspection_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refreshed.refresh_token, client_id: client.client_id }),
    })
    assert.equal((await json(introspect)).active, true)

    const revoke = await fetch(metadata.revocation_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refreshed.refresh_token, client_id: client.client_id }),
    })
    assert.equal(revoke.status, 200)
    const afterRevoke = await refresh(refreshed.refresh_token)
    assert.equal(afterRevoke.status, 400)
    assert.equal((await json(afterRevoke)).error, 'invalid_grant')
    assert.ok(audit.some((e) => e['type'] === 'client.registered'))
    assert.ok(audit.some((e) => e['type'] === 'token.refreshed'))
  })
})
