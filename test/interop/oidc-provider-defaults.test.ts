/**
 * Zoo profile: oidc-provider with its defaults. Open dynamic client registration; a client's registered `scope`
 * is a ceiling for every later authorization request; refresh tokens only when `offline_access` is granted, which
 * needs `prompt=consent`; resource indicators checked strictly (RFC 8707).
 * Reproduces: https://github.com/panva/node-oidc-provider/blob/main/docs/README.md (features.registration,
 * features.resourceIndicators, issueRefreshToken, "offline_access" under scopes),
 * https://openid.net/specs/openid-connect-core-1_0.html#OfflineAccess
 * What the user sets: nothing.
 */
import assert from 'node:assert/strict'
import { runProfile } from './harness.ts'
import { authorizeOnce, codeFlow, metadataOf, register } from './probe.ts'
import { createZooProvider } from './zoo-provider.ts'
import { startZoo } from './zoo-server.ts'

const scopes = ['files:read', 'files:write'] as const
const person = { username: 'user-1', password: 'any' }

runProfile({
  name: 'oidc-provider defaults',
  credentials: person,
  accessTokenTtl: 3,
  revocation: true,
  checks: {
    'the quirk is real: the registered scope caps later requests, offline_access without consent is dropped':
      async (zoo) => {
        const m = await metadataOf(zoo, '/.well-known/oauth-authorization-server')
        const narrow = await register(m['registration_endpoint']!, { scope: scopes[0] })
        const refused = await authorizeOnce(m['authorization_endpoint']!, {
          client_id: narrow.body['client_id']!,
          scope: scopes[1],
          resource: zoo.mcp,
        })
        assert.equal((refused as URL).searchParams.get('error'), 'invalid_scope')
        const wide = await register(m['registration_endpoint']!, { scope: `${scopes[0]} offline_access` })
        const tokens = await codeFlow(
          m,
          person,
          { client_id: wide.body['client_id']! },
          {
            scope: `${scopes[0]} offline_access`,
            resource: zoo.mcp,
          },
        )
        assert.ok(tokens['access_token'])
        assert.equal(tokens['refresh_token'], undefined, 'no refresh token without prompt=consent')
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
          registeredScope: 'ceiling',
          registration: 'open',
          metadata: { oauth: true, openid: true },
          refreshTokens: 'offline_access',
          resourceParameter: 'strict',
          accessTokenTtl: 3,
        }),
    }),
})
