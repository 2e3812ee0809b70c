/**
 * Acceptance: the official SDK v2 client, with its own OAuth, signs in against a plain oidc-provider (JWT
 * access tokens via resource indicators, real interaction endpoints that auto-approve) and calls tools on an
 * SDK v2 server protected by mcp-oauth-toolkit/server; a tool needing an extra scope triggers step-up and succeeds.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { jwtVerifier } from '../../src/server/index.ts'
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

describe('SDK v2 client → mcp-oauth-toolkit/server → oidc-provider (real sockets)', () => {
  let as: TestAuthorizationServer
  let mcp: ProtectedDemo
  let resource = ''
  const refusals: { status: number; code: string }[] = []

  before(async () => {
    as = await startAuthorizationServer({
      resource: () => resource,
      scopes: ['mcp', 'deploy'],
      registrableScopes: ['mcp'],
    })
    // The form shown in index.ts: the kit's context (authInfo, parsedBody) goes straight to the SDK handler.
    mcp = await serveProtectedDemo((url) => ({
      resource: url,
      authorizationServers: [as.issuer],
      scopesSupported: ['mcp'],
      verifier: jwtVerifier({ issuer: as.issuer }),
      policy: { required: ['mcp'], tools: { deploy: ['deploy'] } },
      onRefusal: (r) => refusals.push({ status: r.status, code: r.code }),
    }))
    resource = mcp.resource
  })
  after(async () => {
    await mcp.close()
    await as.close()
  })

  for (const mode of ['legacy', 'auto'] as const) {
    it(`signs in, calls a tool, then steps up for a tool needing more scope (${mode === 'auto' ? '2026-07-28' : '2025 handshake'})`, async () => {
      refusals.length = 0
      const logins = as.interactions.login
      const provider = new HeadlessSdkProvider()
      const client = new Client({ name: 'sdk-e2e', version: '1.0.0' }, { versionNegotiation: { mode } })
      const transport = await connectWithSignIn(
        provider,
        client,
        () => new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider }),
      )
      assert.equal(provider.authorizations, 1, 'one sign-in')
      // The SDK adds offline_access when the authorization server offers it.
      assert.ok(provider.requestedScopes[0]?.split(' ').includes('mcp'), 'the 401 challenge scope was used')

      const who = await withSignIn(provider, transport, () =>
        client.callTool({ name: 'whoami', arguments: {} }),
      )
      const text = (who.content as { text: string }[])[0]!.text
      assert.deepEqual(JSON.parse(text), { subject: 'user-1', scopes: ['mcp'] })

      const deployed = await withSignIn(provider, transport, () =>
        client.callTool({ name: 'deploy', arguments: {} }),
      )
      assert.equal((deployed.content as { text: string }[])[0]!.text, 'deployed')
      assert.equal(provider.authorizations, 2, 'exactly one step-up')
      const stepped = provider.requestedScopes[1]?.split(' ') ?? []
      assert.ok(
        stepped.includes('deploy') && stepped.includes('mcp'),
        `step-up asked for ${stepped.join(' ')}`,
      )
      assert.ok(
        refusals.some((r) => r.status === 403 && r.code === 'insufficient_scope'),
        'a 403 was sent',
      )
      assert.ok(
        refusals.some((r) => r.status === 401 && r.code === 'missing_token'),
        'a 401 was sent',
      )
      assert.equal(as.interactions.login - logins, 1, 'the second authorization reused the session')
      await client.close()
    })
  }
})
