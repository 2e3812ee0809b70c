/**
 * Opaque access tokens: oidc-provider issues reference tokens for the resource; the kit checks them through the
 * provider's real RFC 7662 introspection endpoint (authenticated as the resource server's own client), and the
 * official SDK client signs in, calls tools and steps up.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { introspectionVerifier } from '../../src/server/index.ts'
import { type ProtectedDemo, serveProtectedDemo } from '../../src/server/testing/mcp.test-helper.ts'
import {
  startAuthorizationServer,
  type TestAuthorizationServer,
} from '../../src/server/testing/oidc.test-helper.ts'
import {
  connectWithSignIn,
  HeadlessSdkProvider,
  withSignIn,
} from '../../src/server/testing/sdk-client.test-helper.ts'

describe('opaque tokens through oidc-provider introspection', () => {
  let as: TestAuthorizationServer
  let mcp: ProtectedDemo
  let resource = ''
  let introspections = 0

  before(async () => {
    as = await startAuthorizationServer({
      resource: () => resource,
      scopes: ['mcp', 'deploy'],
      registrableScopes: ['mcp'],
      tokenFormat: 'opaque',
    })
    mcp = await serveProtectedDemo(
      (url) => ({
        resource: url,
        authorizationServers: [as.issuer],
        scopesSupported: ['mcp'],
        verifier: introspectionVerifier({
          endpoint: `${as.issuer}/token/introspection`,
          issuer: as.issuer,
          ...as.introspector,
          fetch: (input, init) => {
            introspections++
            return fetch(input, init)
          },
        }),
        policy: { required: ['mcp'], tools: { deploy: ['deploy'] } },
      }),
      { context: 'authInfo' },
    )
    resource = mcp.resource
  })
  after(async () => {
    await mcp.close()
    await as.close()
  })

  it('signs in with an opaque token, caches introspection, and steps up', async () => {
    const provider = new HeadlessSdkProvider()
    const client = new Client({ name: 'opaque-e2e', version: '1.0.0' })
    const transport = await connectWithSignIn(
      provider,
      client,
      () => new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider }),
    )
    assert.ok(!provider.tokens()?.access_token.includes('.'), 'the access token is opaque')
    const before = introspections
    for (let i = 0; i < 3; i++) {
      const who = await withSignIn(provider, transport, () =>
        client.callTool({ name: 'whoami', arguments: {} }),
      )
      assert.equal(JSON.parse((who.content as { text: string }[])[0]!.text).subject, 'user-1')
    }
    assert.ok(introspections - before <= 1, `introspected ${introspections - before} times for 3 calls`)
    const deployed = await withSignIn(provider, transport, () =>
      client.callTool({ name: 'deploy', arguments: {} }),
    )
    assert.equal((deployed.content as { text: string }[])[0]!.text, 'deployed')
    assert.equal(provider.authorizations, 2)
    await client.close()
  })
})
