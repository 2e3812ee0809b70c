/**
 * Zoo profile: Microsoft Entra ID (v2.0 endpoints). No dynamic registration; no RFC 8414 document, only OpenID
 * metadata under the tenant path; scopes of a custom API in `api://<application id>/<name>` form; a `resource`
 * parameter sent together with scopes is refused (AADSTS9010010), the token's audience is the API's application
 * id URI; the app registration is a public client with a fixed loopback redirect URI.
 * Reproduces: https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc (metadata under
 * /{tenant}/v2.0), https://learn.microsoft.com/en-us/entra/identity-platform/scopes-oidc (api:// scopes, resource
 * vs scope), https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes (AADSTS9010010),
 * https://learn.microsoft.com/en-us/entra/identity-platform/reply-url (loopback redirect URIs),
 * https://learn.microsoft.com/en-us/entra/identity-platform/msal-client-application-configuration (no DCR: app registration)
 * What the user sets: the client id (`--client-id`), the redirect port the app registration names
 * (`--callback-port`); the `resource` parameter is dropped automatically after the refusal (one more trip through
 * the browser, once per issuer), or never sent with `--resource-parameter omit`.
 */
import assert from 'node:assert/strict'
import { freePort } from '../../src/client/interaction/testing/authorization-server.test-helper.ts'
import { runProfile } from './harness.ts'
import { authorizeOnce, metadataOf } from './probe.ts'
import { createZooProvider } from './zoo-provider.ts'
import { startZoo } from './zoo-server.ts'

const api = 'api://6f1c7e2a-zoo'
const scopes = [`${api}/files.read`, `${api}/files.write`] as const
const clientId = '0b7c3d5e-zoo-public-client'
const ttl = 3
const port = await freePort()

runProfile({
  name: 'Entra-style',
  credentials: { username: 'user-1', password: 'any' },
  accessTokenTtl: ttl,
  revocation: false,
  // The first authorization request carries `resource` and comes back refused; the retry without it is remembered.
  refusedAuthorizations: 1,
  redirectUri: () => `http://127.0.0.1:${port}/callback`,
  session: () => ({ identity: { preRegistered: { client_id: clientId } } }),
  cli: () => ['--client-id', clientId, '--callback-port', String(port)],
  checks: {
    'the quirk is real: resource with scopes refused (AADSTS9010010), no RFC 8414 document, no registration':
      async (zoo) => {
        const m = await metadataOf(zoo, '/7d2c4c1e-tenant/v2.0/.well-known/openid-configuration')
        assert.equal(m['registration_endpoint'], undefined)
        const refused = (await authorizeOnce(m['authorization_endpoint']!, {
          client_id: clientId,
          redirect_uri: `http://127.0.0.1:${port}/callback`,
          scope: scopes[0],
          resource: zoo.mcp,
        })) as URL
        assert.equal(refused.searchParams.get('error'), 'invalid_target')
        assert.match(refused.searchParams.get('error_description') ?? '', /AADSTS9010010/)
        assert.equal(
          (await fetch(`${zoo.origin}/.well-known/oauth-authorization-server/7d2c4c1e-tenant/v2.0`)).status,
          404,
        )
      },
  },
  start: () =>
    startZoo({
      scopes,
      audiences: [api],
      authorizationServer: (origin, resource) =>
        createZooProvider({
          origin,
          resource,
          issuerPath: '/7d2c4c1e-tenant/v2.0',
          scopes,
          registration: 'off',
          revocation: false,
          metadata: { oauth: false, openid: true },
          refreshTokens: 'always',
          resourceParameter: 'refused',
          resourceRefusal: 'AADSTS9010010: the resource parameter does not match the requested scopes',
          audience: api,
          accessTokenTtl: ttl,
          clients: [
            {
              client_id: clientId,
              application_type: 'web',
              token_endpoint_auth_method: 'none',
              redirect_uris: [`http://127.0.0.1:${port}/callback`],
              grant_types: ['authorization_code', 'refresh_token'],
              response_types: ['code'],
            },
          ],
        }),
    }),
})
