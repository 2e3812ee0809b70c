/**
 * Back-compat: the SDK v1 client (@modelcontextprotocol/sdk 1.32, 2025-era, what most deployed hosts and
 * mcp-remote build on) signs in through oidc-provider and steps up against the kit. v1 replaces its scope with
 * the 403's `scope` instead of taking a union, so this only works because the kit names the full set.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { jwtVerifier } from '../../src/server/index.ts'
import { type ProtectedDemo, serveProtectedDemo } from '../../src/server/testing/mcp.test-helper.ts'
import {
  headlessAgent,
  startAuthorizationServer,
  type TestAuthorizationServer,
} from '../../src/server/testing/oidc.test-helper.ts'
import { SdkV1Provider } from '../support/sdk-v1-provider.ts'

describe('SDK v1 client → mcp-oauth-toolkit/server → oidc-provider', () => {
  let as: TestAuthorizationServer
  let mcp: ProtectedDemo
  let resource = ''

  before(async () => {
    as = await startAuthorizationServer({
      resource: () => resource,
      scopes: ['mcp', 'deploy'],
      registrableScopes: ['mcp'],
    })
    mcp = await serveProtectedDemo((url) => ({
      resource: url,
      authorizationServers: [as.issuer],
      scopesSupported: ['mcp'],
      verifier: jwtVerifier({ issuer: as.issuer }),
      policy: { required: ['mcp'], tools: { deploy: ['deploy'] } },
    }))
    resource = mcp.resource
  })
  after(async () => {
    await mcp.close()
    await as.close()
  })

  it('signs in, calls a tool and steps up', async () => {
    const agent = headlessAgent()
    const provider = new SdkV1Provider({
      clientName: 'sdk v1 e2e',
      signIn: (url, redirectUrl) => agent.authorize(url, redirectUrl),
    })
    const client = new Client({ name: 'v1-e2e', version: '1.0.0' })
    const make = () => new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider })
    let transport = make()
    try {
      await client.connect(transport)
    } catch (e) {
      assert.ok(e instanceof UnauthorizedError, String(e))
      await transport.finishAuth(provider.callback!.searchParams.get('code')!)
      transport = make()
      await client.connect(transport)
    }
    const who = await client.callTool({ name: 'whoami', arguments: {} })
    assert.equal(JSON.parse((who.content as { text: string }[])[0]!.text).subject, 'user-1')
    let deployed: Awaited<ReturnType<typeof client.callTool>>
    try {
      deployed = await client.callTool({ name: 'deploy', arguments: {} })
    } catch (e) {
      assert.ok(e instanceof UnauthorizedError, String(e))
      await transport.finishAuth(provider.callback!.searchParams.get('code')!)
      deployed = await client.callTool({ name: 'deploy', arguments: {} })
    }
    assert.equal((deployed.content as { text: string }[])[0]!.text, 'deployed')
    assert.equal(provider.authorizations, 2)
    await client.close()
  })
})
