/**
 * Zoo profile: strict refresh-token rotation. Every refresh token is single use with no grace period; presenting
 * a used one revokes the whole grant (reuse detection); access tokens live 5 seconds.
 * Reproduces: https://auth0.com/docs/secure/tokens/refresh-tokens/refresh-token-rotation (reuse detection,
 * leeway 0), https://developer.okta.com/docs/guides/refresh-tokens/main/#refresh-token-reuse-detection
 * (grace period 0), https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-13#section-4.3.1
 * What the user sets: nothing. mcp-oauth refreshes once per expiry, under the store's lock.
 */
import assert from 'node:assert/strict'
import { runProfile } from './harness.ts'
import { codeFlow, metadataOf, register, token } from './probe.ts'
import { createZooProvider } from './zoo-provider.ts'
import { startZoo } from './zoo-server.ts'

const scopes = ['notes:read', 'notes:write'] as const
const person = { username: 'user-1', password: 'any' }

runProfile({
  name: 'strict rotation',
  credentials: person,
  accessTokenTtl: 5,
  revocation: true,
  checks: {
    'every refresh token presented was one the server issued, and none was refused': async (zoo) => {
      const { refreshTokens, issuedRefreshTokens, tokenErrors } = zoo.as.log
      assert.ok(refreshTokens.length > 0)
      for (const presented of refreshTokens) assert.ok(issuedRefreshTokens.includes(presented))
      assert.ok(!tokenErrors.includes('invalid_grant'), tokenErrors.join(', '))
    },
    'the quirk is real: a refresh token presented twice revokes the whole grant': async (zoo) => {
      const m = await metadataOf(zoo, '/.well-known/oauth-authorization-server')
      const client = { client_id: (await register(m['registration_endpoint']!)).body['client_id']! }
      const first = await codeFlow(m, person, client, { scope: scopes[0], resource: zoo.mcp })
      const refresh = (t: Record<string, string>) =>
        token(m, client, { grant_type: 'refresh_token', refresh_token: t['refresh_token']! })
      const second = await refresh(first)
      assert.ok(second['refresh_token'] && second['refresh_token'] !== first['refresh_token'], 'rotated')
      assert.equal((await refresh(first))['error'], 'invalid_grant', 'a used one is refused')
      assert.equal((await refresh(second))['error'], 'invalid_grant', 'and its successor is revoked with it')
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
          registration: 'open',
          registeredScope: 'ignored',
          metadata: { oauth: true, openid: false },
          refreshTokens: 'always',
          rotate: true,
          resourceParameter: 'strict',
          accessTokenTtl: 5,
        }),
    }),
})
