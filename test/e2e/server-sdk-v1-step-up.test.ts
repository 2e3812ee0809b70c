/**
 * Why SDK v1 hosts behind our authorization server must keep no refresh token to step up
 * (docs/gateway.md, "SDK v1 clients and step-up"; modelcontextprotocol/typescript-sdk#2255): on a 403
 * `insufficient_scope` the v1 client (@modelcontextprotocol/sdk 1.32.2) refreshes, without `scope`, before it
 * would re-authorize; a refresh keeps the grant's scope (RFC 6749 §6), so the retry gets the same 403 and v1
 * gives up without asking the person. Our AS is right to refuse widening even when asked. The day an SDK
 * upgrade steps up with a refresh token, the first test fails and the workaround can go.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { createMcpHandler } from '@modelcontextprotocol/server'
import { createResourceServer, jwtVerifier, type ResourceServer } from '../../src/server/index.ts'
import { buildMcpServer, type Listening, serveFetch } from '../../src/server/testing/mcp.test-helper.ts'
import { SdkV1Provider } from '../support/sdk-v1-provider.ts'
import {
  HeadlessAgent,
  type RunningAuthorizationServer,
  startAuthorizationServer,
  testUser,
} from './authorization-server-helpers.ts'

/** A v1 host's provider that signs in headlessly; `keepRefreshToken: false` is the documented workaround. */
function v1Provider(user: { username: string; password: string }, keepRefreshToken: boolean): SdkV1Provider {
  const agent = new HeadlessAgent()
  return new SdkV1Provider({
    clientName: 'sdk v1 step-up',
    keepRefreshToken,
    signIn: async (url, redirectUrl) =>
      new URL((await agent.authorize(url.href, redirectUrl, user)).callback),
  })
}

describe('SDK v1 client step-up against our authorization server', () => {
  let as: RunningAuthorizationServer
  let mcp: Listening
  let rs: ResourceServer
  let resource = ''
  let alice: Awaited<ReturnType<typeof testUser>>
  /** Every token request the client made: its grant type and whether it carried `scope`. */
  const tokenRequests: { grant: string | null; scope: string | null }[] = []

  before(async () => {
    const handler = createMcpHandler(() => buildMcpServer())
    mcp = await serveFetch((req) => rs.handle(req, (r, ctx) => handler.fetch(r, ctx)))
    resource = `${mcp.url}/mcp`
    alice = await testUser()
    as = await startAuthorizationServer({
      resources: [{ uri: resource, scopes: ['mcp', 'deploy'], defaultScopes: ['mcp'] }],
      users: [alice.user],
    })
    rs = createResourceServer({
      resource,
      authorizationServers: [as.issuer],
      scopesSupported: ['mcp', 'deploy'],
      verifier: jwtVerifier({ issuer: as.issuer }),
      policy: { required: ['mcp'], tools: { deploy: ['deploy'] } },
    })
  })
  after(async () => {
    await mcp.close()
    await as.close()
  })

  /** A v1 client signed in with scope `mcp` (the 401's), watching its token requests. */
  async function signedIn(provider: SdkV1Provider) {
    const watch: typeof fetch = async (input, init) => {
      if (init?.body instanceof URLSearchParams && String(input).endsWith('/token'))
        tokenRequests.push({ grant: init.body.get('grant_type'), scope: init.body.get('scope') })
      return fetch(input, init)
    }
    const client = new Client({ name: 'v1-step-up', version: '1.0.0' })
    const make = () =>
      new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider, fetch: watch })
    let transport = make()
    try {
      await client.connect(transport)
    } catch {
      await transport.finishAuth(provider.callback!.searchParams.get('code')!)
      transport = make()
      await client.connect(transport)
    }
    assert.equal(provider.tokens()?.scope, 'mcp')
    return { client, transport }
  }

  it('keeping the refresh token (1.32.2): a scope-less refresh, the same 403, and v1 gives up without asking', async () => {
    tokenRequests.length = 0
    const provider = v1Provider(alice, true)
    const { client } = await signedIn(provider)
    const held = provider.tokens()!.refresh_token
    assert.ok(held, 'the AS issued a refresh token')
    await assert.rejects(
      client.callTool({ name: 'deploy', arguments: {} }),
      (e: unknown) =>
        e instanceof StreamableHTTPError && e.code === 403 && /after trying upscoping/.test(e.message),
    )
    assert.equal(provider.authorizations, 1, 'the person was never asked for deploy')
    assert.deepEqual(tokenRequests.slice(-1), [{ grant: 'refresh_token', scope: null }])
    assert.equal(provider.tokens()?.scope, 'mcp', 'the refresh kept the grant (RFC 6749 §6)')

    // Asked outright, the AS still refuses to widen a grant on refresh: the fix belongs to the client.
    const client_id = provider.clientInformation()!.client_id
    const refused = await fetch(`${as.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: provider.tokens()!.refresh_token!,
        client_id,
        resource,
        scope: 'mcp deploy',
      }),
    })
    assert.equal(refused.status, 400)
    assert.equal(((await refused.json()) as { error: string }).error, 'invalid_scope')
    await client.close()
  })

  it('keeping no refresh token (the workaround): v1 re-authorizes with the challenged scope and the call succeeds', async () => {
    tokenRequests.length = 0
    const provider = v1Provider(alice, false)
    const { client, transport } = await signedIn(provider)
    assert.equal(provider.tokens()?.refresh_token, undefined)
    let deployed: unknown
    try {
      deployed = await client.callTool({ name: 'deploy', arguments: {} })
    } catch {
      await transport.finishAuth(provider.callback!.searchParams.get('code')!)
      deployed = await client.callTool({ name: 'deploy', arguments: {} })
    }
    assert.equal((deployed as { content: { text: string }[] }).content[0]!.text, 'deployed')
    assert.equal(provider.authorizations, 2, 'a sign-in and a step-up')
    assert.deepEqual(provider.requestedScopes[1]!.split(' ').sort(), ['deploy', 'mcp'])
    assert.deepEqual(
      tokenRequests.map((r) => r.grant),
      ['authorization_code', 'authorization_code'],
    )
    await client.close()
  })
})
