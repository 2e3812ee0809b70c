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
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js'
import { createMcpHandler } from '@modelcontextprotocol/server'
import { createResourceServer, jwtVerifier, type ResourceServer } from '../../src/server/index.ts'
import { buildMcpServer, type Listening, serveFetch } from '../../src/server/testing/mcp.test-helper.ts'
import {
  headlessAgent,
  startAuthorizationServer,
  type TestAuthorizationServer,
} from '../../src/server/testing/oidc.test-helper.ts'

class V1Provider {
  readonly redirectUrl = 'http://127.0.0.1:9/callback'
  readonly agent = headlessAgent()
  callback: URL | undefined
  authorizations = 0
  #client: OAuthClientInformationMixed | undefined
  #tokens: OAuthTokens | undefined
  #verifier = ''
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'sdk v1 e2e',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }
  }
  clientInformation() {
    return this.#client
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.#client = info
  }
  tokens() {
    return this.#tokens
  }
  saveTokens(tokens: OAuthTokens) {
    this.#tokens = tokens
  }
  saveCodeVerifier(v: string) {
    this.#verifier = v
  }
  codeVerifier() {
    return this.#verifier
  }
  async redirectToAuthorization(url: URL) {
    this.authorizations++
    this.callback = await this.agent.authorize(url, this.redirectUrl)
  }
}

describe('SDK v1 client → mcp-oauth-toolkit/server → oidc-provider', () => {
  let as: TestAuthorizationServer
  let mcp: Listening
  let rs: ResourceServer
  let resource = ''

  before(async () => {
    as = await startAuthorizationServer({
      resource: () => resource,
      scopes: ['mcp', 'deploy'],
      registrableScopes: ['mcp'],
    })
    const handler = createMcpHandler(() => buildMcpServer())
    mcp = await serveFetch((req) => rs.handle(req, (r, ctx) => handler.fetch(r, ctx)))
    resource = `${mcp.url}/mcp`
    rs = createResourceServer({
      resource,
      authorizationServers: [as.issuer],
      scopesSupported: ['mcp'],
      verifier: jwtVerifier({ issuer: as.issuer }),
      policy: { required: ['mcp'], tools: { deploy: ['deploy'] } },
    })
  })
  after(async () => {
    await mcp.close()
    await as.close()
  })

  it('signs in, calls a tool and steps up', async () => {
    const provider = new V1Provider()
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
