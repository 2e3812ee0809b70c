/**
 * Zoo profile: oidc-provider with its defaults. Open dynamic client registration; a client's registered `scope`
 * is a ceiling for every later authorization request; refresh tokens only when `offline_access` is granted, which
 * needs `prompt=consent`; resource indicators checked strictly (RFC 8707).
 * Reproduces: https://github.com/panva/node-oidc-provider/blob/main/docs/README.md (features.registration,
 * features.resourceIndicators, issueRefreshToken, "offline_access" under scopes),
 * https://openid.net/specs/openid-connect-core-1_0.html#OfflineAccess
 * What the user sets: nothing.
 */
import { runProfile } from './harness.ts'
import { createZooProvider } from './zoo-provider.ts'
import { startZoo } from './zoo-server.ts'

const scopes = ['files:read', 'files:write'] as const

runProfile({
  name: 'oidc-provider defaults',
  credentials: { username: 'user-1', password: 'any' },
  accessTokenTtl: 3,
  revocation: true,
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
