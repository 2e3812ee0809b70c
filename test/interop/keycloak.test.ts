/**
 * Zoo profile: Keycloak. The issuer has a path (`/realms/<realm>`) and metadata exists only at the OpenID
 * path-appended location; anonymous dynamic registration is refused (403) by the realm's Trusted Hosts policy, so
 * a client pre-registered by the realm admin is the way in; `offline_access` needs consent; the `resource`
 * parameter is ignored and the audience comes from the client's scopes (an audience mapper).
 * Reproduces: https://www.keycloak.org/securing-apps/oidc-layers (endpoints and well-known URL under
 * /realms/{realm}), https://www.keycloak.org/securing-apps/client-registration (client registration policies:
 * Trusted Hosts), https://www.keycloak.org/docs/latest/server_admin/index.html#_offline-access,
 * https://www.keycloak.org/docs/latest/server_admin/index.html#audience-support
 * What the user sets: the pre-registered client id (`--client-id`, `identity.preRegistered`).
 */
import assert from 'node:assert/strict'
import { runProfile } from './harness.ts'
import { metadataOf, register } from './probe.ts'
import { createZooProvider } from './zoo-provider.ts'
import { startZoo } from './zoo-server.ts'

const scopes = ['mcp:tools', 'mcp:admin'] as const
const clientId = 'mcp-oauth-cli'
const ttl = 3

runProfile({
  name: 'Keycloak-style',
  credentials: { username: 'user-1', password: 'any' },
  accessTokenTtl: ttl,
  revocation: true,
  session: () => ({ identity: { preRegistered: { client_id: clientId } } }),
  cli: () => ['--client-id', clientId],
  checks: {
    'the quirk is real: anonymous registration refused with 403, metadata only at the path-appended URL':
      async (zoo) => {
        const m = await metadataOf(zoo, '/realms/zoo/.well-known/openid-configuration')
        assert.equal((await register(m['registration_endpoint']!)).status, 403)
        for (const path of [
          '/.well-known/oauth-authorization-server/realms/zoo',
          '/.well-known/openid-configuration/realms/zoo',
        ])
          assert.equal((await fetch(`${zoo.origin}${path}`)).status, 404, path)
      },
  },
  start: () =>
    startZoo({
      scopes,
      audiences: ['mcp-server'],
      authorizationServer: (origin, resource) =>
        createZooProvider({
          origin,
          resource,
          issuerPath: '/realms/zoo',
          scopes,
          registration: 'forbidden',
          metadata: { oauth: false, openid: true },
          refreshTokens: 'offline_access',
          resourceParameter: 'ignored',
          audience: 'mcp-server',
          accessTokenTtl: ttl,
          clients: [
            {
              client_id: clientId,
              application_type: 'native',
              token_endpoint_auth_method: 'none',
              redirect_uris: ['http://127.0.0.1/callback'],
              grant_types: ['authorization_code', 'refresh_token'],
              response_types: ['code'],
            },
          ],
        }),
    }),
})
