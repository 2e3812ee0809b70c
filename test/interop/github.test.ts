/**
 * Zoo profile: GitHub. Plain OAuth 2.0 with no metadata document at all (no RFC 8414, no OpenID): the user gives
 * the endpoints; no dynamic registration (an OAuth/GitHub App is made in the settings, with a client secret); the
 * token endpoint answers form-encoded unless the request sends `Accept: application/json`; expiring user tokens
 * come with single-use refresh tokens; no RFC 7009 revocation endpoint.
 * Reproduces: https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps (endpoints,
 * PKCE, the Accept header and the form-encoded default),
 * https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens
 * What the user sets: the client id and secret (`--client-id`, `--client-secret-env`) and the endpoints
 * (`--authorization-endpoint`, `--token-endpoint`; `authorizationServerMetadata` in the library).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { runProfile } from './harness.ts'
import { createZooProvider } from './zoo-provider.ts'
import { startZoo, type ZooServer } from './zoo-server.ts'

const scopes = ['read:org', 'repo'] as const
const clientId = 'Iv1.zoo0c1e2d3f4a5b6'
const clientSecret = randomBytes(20).toString('hex')
const ttl = 3
const endpoints = (zoo: ZooServer) => ({
  authorization_endpoint: `${zoo.as.issuer}/auth`,
  token_endpoint: `${zoo.as.issuer}/token`,
})

runProfile({
  name: 'GitHub-style',
  credentials: { username: 'user-1', password: 'any' },
  accessTokenTtl: ttl,
  revocation: false,
  session: (zoo) => ({
    identity: {
      preRegistered: {
        client_id: clientId,
        client_secret: clientSecret,
        token_endpoint_auth_method: 'client_secret_post',
      },
    },
    authorizationServerMetadata: { issuer: zoo.as.issuer, ...endpoints(zoo) },
  }),
  cli: (zoo) => [
    '--client-id',
    clientId,
    '--client-secret-env',
    'ZOO_GITHUB_SECRET',
    '--authorization-endpoint',
    endpoints(zoo).authorization_endpoint,
    '--token-endpoint',
    endpoints(zoo).token_endpoint,
  ],
  env: { ZOO_GITHUB_SECRET: clientSecret },
  checks: {
    'the quirk is real: form-encoded token responses without Accept: application/json, no metadata anywhere':
      async (zoo) => {
        const r = await fetch(`${zoo.as.issuer}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'refresh_token',
            refresh_token: 'not-a-token',
            client_id: clientId,
            client_secret: clientSecret,
          }),
        })
        assert.match(r.headers.get('content-type') ?? '', /application\/x-www-form-urlencoded/)
        assert.match(await r.text(), /^error=invalid_grant/)
        for (const path of [
          '/.well-known/oauth-authorization-server/login/oauth',
          '/.well-known/openid-configuration/login/oauth',
          '/login/oauth/.well-known/openid-configuration',
          '/.well-known/oauth-authorization-server',
          '/.well-known/openid-configuration',
        ])
          assert.equal((await fetch(`${zoo.origin}${path}`)).status, 404, path)
      },
  },
  start: () =>
    startZoo({
      scopes,
      authorizationServer: (origin, resource) =>
        createZooProvider({
          origin,
          resource,
          issuerPath: '/login/oauth',
          scopes,
          registration: 'off',
          revocation: false,
          metadata: { oauth: false, openid: false },
          refreshTokens: 'always',
          rotate: true,
          formTokenResponse: true,
          resourceParameter: 'ignored',
          accessTokenTtl: ttl,
          clients: [
            {
              client_id: clientId,
              client_secret: clientSecret,
              application_type: 'native',
              token_endpoint_auth_method: 'client_secret_post',
              redirect_uris: ['http://127.0.0.1/callback'],
              grant_types: ['authorization_code', 'refresh_token'],
              response_types: ['code'],
            },
          ],
        }),
    }),
})
