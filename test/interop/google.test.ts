/**
 * Zoo profile: Google. No dynamic registration (a "Desktop app" OAuth client made in the Cloud console, whose
 * secret is not secret); OpenID metadata only at the root; `offline_access` is not a scope there: a refresh token
 * is issued only when the authorization request says `access_type=offline`, and again only with `prompt=consent`.
 * Reproduces: https://developers.google.com/identity/protocols/oauth2/native-app (loopback redirect, PKCE,
 * client secret of installed apps), https://developers.google.com/identity/protocols/oauth2/web-server#offline
 * (access_type=offline, prompt=consent), https://developers.google.com/identity/openid-connect/openid-connect#discovery
 * What the user sets: the client id and secret (`--client-id`, `--client-secret-env`), and the authorization
 * parameter `access_type=offline` (`--authorize-param`, `authorizationParams`); mcp-oauth adds `prompt=consent`.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { runProfile } from './harness.ts'
import { codeFlow, metadataOf } from './probe.ts'
import { createZooProvider } from './zoo-provider.ts'
import { startZoo } from './zoo-server.ts'

const scopes = [
  'https://www.googleapis.com/auth/drive.readonly',
  'https://www.googleapis.com/auth/drive.file',
] as const
const clientId = '1234567890-zoo.apps.googleusercontent.com'
const clientSecret = randomBytes(18).toString('base64url')
const ttl = 3
const person = { username: 'user-1', password: 'any' }
// What the user sets; mcp-oauth adds prompt=consent itself, which Google needs to return the refresh token.
const authorizationParams = { access_type: 'offline' }

runProfile({
  name: 'Google-style',
  credentials: person,
  accessTokenTtl: ttl,
  revocation: true,
  session: () => ({
    identity: {
      preRegistered: {
        client_id: clientId,
        client_secret: clientSecret,
        token_endpoint_auth_method: 'client_secret_post',
      },
    },
    authorizationParams,
  }),
  cli: () => [
    '--client-id',
    clientId,
    '--client-secret-env',
    'ZOO_GOOGLE_SECRET',
    '--authorize-param',
    'access_type=offline',
  ],
  env: { ZOO_GOOGLE_SECRET: clientSecret },
  checks: {
    'the quirk is real: a refresh token only with access_type=offline and prompt=consent': async (zoo) => {
      const m = await metadataOf(zoo, '/.well-known/openid-configuration')
      assert.ok(!(m['scopes_supported'] as unknown as string[]).includes('offline_access'))
      const client = { client_id: clientId, client_secret: clientSecret }
      const scope = scopes[0]
      const plain = await codeFlow(m, person, client, { scope })
      assert.ok(plain['access_token'])
      assert.equal(plain['refresh_token'], undefined)
      const noConsent = await codeFlow(m, person, client, { scope, access_type: 'offline' })
      assert.equal(noConsent['refresh_token'], undefined, 'access_type=offline alone')
      const offline = await codeFlow(m, person, client, { scope, access_type: 'offline', prompt: 'consent' })
      assert.ok(offline['refresh_token'], 'access_type=offline with prompt=consent')
    },
  },
  start: () =>
    startZoo({
      scopes,
      authorizationServer: (origin, resource) =>
        createZooProvider({
          origin,
          resource,
          scopes,
          registration: 'off',
          metadata: { oauth: false, openid: true },
          unlistedScopes: ['offline_access'],
          refreshTokens: 'access_type',
          extraParams: ['access_type'],
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
