/**
 * Acceptance: mcp-oauth's own client (authorizedFetch in the SDK transport) signs in against a plain
 * oidc-provider and calls tools on an SDK v2 server protected by mcp-oauth-toolkit/server, with step-up on a tool
 * needing an extra scope, both with Bearer tokens and with DPoP-bound tokens (proofs checked by the kit).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { type Authorizer, authorizedFetch, MemoryStore } from '../../src/client/index.ts'
import { jwtVerifier } from '../../src/server/index.ts'
import { type ProtectedDemo, serveProtectedDemo } from '../../src/server/testing/mcp.test-helper.ts'
import {
  headlessAgent,
  startAuthorizationServer,
  type TestAuthorizationServer,
} from '../../src/server/testing/oidc.test-helper.ts'

for (const mode of ['bearer', 'dpop', 'dpop-nonce'] as const) {
  const dpop = mode !== 'bearer'
  describe(`mcp-oauth client → mcp-oauth-toolkit/server → oidc-provider (${mode})`, () => {
    let as: TestAuthorizationServer
    let mcp: ProtectedDemo
    let resource = ''
    const refusals: { status: number; code: string }[] = []
    const schemes = new Set<string>()

    before(async () => {
      as = await startAuthorizationServer({
        resource: () => resource,
        scopes: ['mcp', 'deploy'],
        registrableScopes: ['mcp'],
        dpop,
      })
      mcp = await serveProtectedDemo(
        (url) => ({
          resource: url,
          authorizationServers: [as.issuer],
          scopesSupported: ['mcp'],
          verifier: jwtVerifier({ issuer: as.issuer }),
          policy: { required: ['mcp'], tools: { deploy: ['deploy'] } },
          ...(dpop ? { dpop: { algorithms: ['ES256'], nonce: mode === 'dpop-nonce' } } : {}),
          onRefusal: (r) => refusals.push({ status: r.status, code: r.code }),
        }),
        {
          context: 'authInfo',
          onRequest: (req) => {
            const scheme = req.headers.get('authorization')?.split(' ')[0]
            if (scheme) schemes.add(scheme)
          },
        },
      )
      resource = mcp.resource
    })
    after(async () => {
      await mcp.close()
      await as.close()
    })

    it('signs in, calls tools, and steps up for deploy', async () => {
      const agent = headlessAgent()
      const redirectUri = 'http://127.0.0.1:9/callback'
      const reasons: string[] = []
      const authorizer: Authorizer = {
        redirectUri,
        authorize: (url, context) => {
          reasons.push(context.reason)
          return agent.authorize(url, redirectUri)
        },
      }
      const fetch = authorizedFetch({
        serverUrl: resource,
        authorizer,
        store: new MemoryStore(),
        dpop: dpop ? 'always' : 'never',
      })
      const client = new Client({ name: 'mcp-oauth-e2e', version: '1.0.0' })
      await client.connect(new StreamableHTTPClientTransport(new URL(resource), { fetch }))
      const who = await client.callTool({ name: 'whoami', arguments: {} })
      const parsed = JSON.parse((who.content as { text: string }[])[0]!.text) as {
        subject: string
        scopes: string[]
      }
      assert.equal(parsed.subject, 'user-1')
      assert.ok(parsed.scopes.includes('mcp'))
      const deployed = await client.callTool({ name: 'deploy', arguments: {} })
      assert.equal((deployed.content as { text: string }[])[0]!.text, 'deployed')
      assert.deepEqual(reasons, ['login', 'step-up'])
      assert.ok(refusals.some((r) => r.status === 403 && r.code === 'insufficient_scope'))
      assert.ok(schemes.has(dpop ? 'DPoP' : 'Bearer'), `sent ${[...schemes].join(', ')}`)
      if (dpop) assert.ok(!schemes.has('Bearer'), 'never fell back to Bearer')
      if (mode === 'dpop-nonce')
        assert.ok(
          refusals.some((r) => r.code === 'use_dpop_nonce'),
          'the kit asked for a nonce and the client answered it',
        )
      await client.close()
    })
  })
}
