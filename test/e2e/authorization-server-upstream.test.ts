/**
 * Upstream OpenID Connect login: this server's login page offers "Sign in with <IdP>"; the IdP (here another
 * mcp-oauth authorization server standing in for an enterprise IdP, with its own user) authenticates the person,
 * and this server issues the MCP tokens to the account it learned. Real sockets, the real HTML forms.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import * as jose from 'jose'
import { type AuthorizationServer, createAuthorizationServer } from '../../src/authorization-server/index.ts'
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
let idp: RunningAuthorizationServer
let downstream: AuthorizationServer
const server = createServer()
const audit: Record<string, unknown>[] = []

before(async () => {
  const bob = await testUser('bob', 'bob has a long password')
  idp = await startAuthorizationServer({
    resources: [{ uri: 'https://idp.example.com/api', scopes: ['api'] }],
    users: [{ ...bob.user, displayName: 'Bob Builder' }],
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const registration = await registerClient(idp.issuer, [`${issuer}/upstream/callback`], {
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'openid profile',
    client_name: 'MCP authorization server',
  })
  downstream = await createAuthorizationServer({
    issuer,
    resources: [{ uri: RESOURCE, scopes: ['tools:read'] }],
    upstream: {
      issuer: idp.issuer,
      clientId: registration['client_id'],
      clientSecret: registration['client_secret'],
      scope: 'openid profile',
      name: 'Example IdP',
      allowInsecureRequests: true,
    },
    audit: (event) => audit.push(event),
  })
  server.on('request', downstream.handler)
})
after(async () => {
  server.closeAllConnections()
  server.close()
  await downstream.close()
  await idp.close()
})

test('sign in through the upstream IdP, then consent here; the token names the upstream account', async () => {
  const client = await registerClient(downstream.issuer, [redirect], { client_name: 'MCP client' })
  const { verifier, challenge } = pkce()
  const agent = new HeadlessAgent()
  const { callback, pages } = await agent.authorize(
    `${downstream.issuer}/auth?${new URLSearchParams({
      response_type: 'code',
      client_id: client['client_id'],
      redirect_uri: redirect,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })}`,
    redirect,
    { username: 'bob', password: 'bob has a long password' },
    'allow',
    /\/upstream$/,
  )
  assert.match(pages[0]!, /Sign in with Example IdP/)
  const consent = pages.at(-1)!
  assert.match(consent, /MCP client/)
  assert.match(consent, /Bob Builder/)
  const tokens = await json(
    await fetch(`${downstream.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: new URL(callback).searchParams.get('code')!,
        redirect_uri: redirect,
        code_verifier: verifier,
        client_id: client['client_id'],
      }),
    }),
  )
  const claims = jose.decodeJwt(tokens['access_token'])
  assert.equal(claims.iss, downstream.issuer)
  assert.equal(claims.aud, RESOURCE)
  assert.equal(claims.sub, `${new URL(idp.issuer).host}:bob`)
  assert.ok(audit.some((e) => e['type'] === 'login.succeeded' && e['via'] === 'upstream'))
})

test('a forged or replayed IdP callback is refused and signs no one in', async () => {
  const forged = await fetch(`${downstream.issuer}/upstream/callback?code=x&state=never-issued`)
  assert.equal(forged.status, 400)
  assert.match(await forged.text(), /unknown or already used sign-in state/)
  const denied = await fetch(`${downstream.issuer}/upstream/callback?error=access_denied&state=x`)
  assert.equal(denied.status, 400)
  assert.match(await denied.text(), /identity provider answered access_denied/)
})
