/**
 * Zoo profile: strict refresh-token rotation. Every refresh token is single use with no grace period; presenting
 * a used one revokes the whole grant (reuse detection); access tokens live 5 seconds.
 * Reproduces: https://auth0.com/docs/secure/tokens/refresh-tokens/refresh-token-rotation (reuse detection,
 * leeway 0), https://developer.okta.com/docs/guides/refresh-tokens/main/#refresh-token-reuse-detection
 * (grace period 0), https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-13#section-4.3.1
 * What the user sets: nothing. mcp-oauth refreshes once per expiry, under the store's lock.
 */
import assert from 'node:assert/strict'
import { after } from 'node:test'
import { runProfile } from './harness.ts'
import { createZooProvider } from './zoo-provider.ts'
import { startZoo, type ZooServer } from './zoo-server.ts'

const scopes = ['notes:read', 'notes:write'] as const
const servers: ZooServer[] = []

runProfile({
  name: 'strict rotation',
  credentials: { username: 'user-1', password: 'any' },
  accessTokenTtl: 5,
  revocation: true,
  start: async () => {
    const zoo = await startZoo({
      scopes,
      authorizationServer: (origin, resource) =>
        createZooProvider({
          origin,
          resource,
          scopes,
          registration: 'open',
          registeredScope: 'ignored',
          metadata: { oauth: true, openid: false },
          refreshTokens: 'always',
          rotate: true,
          resourceParameter: 'strict',
          accessTokenTtl: 5,
        }),
    })
    servers.push(zoo)
    return zoo
  },
})

after(() => {
  // Rotation happened: every refresh answered a new refresh token, and none was presented twice.
  for (const zoo of servers) {
    const { refreshTokens, issuedRefreshTokens, tokenErrors } = zoo.as.log
    assert.ok(refreshTokens.length > 0)
    for (const presented of refreshTokens) assert.ok(issuedRefreshTokens.includes(presented))
    assert.ok(!tokenErrors.includes('invalid_grant'), tokenErrors.join(', '))
  }
})
