/**
 * Zoo profile: an MCP server speaking only protocol revision 2025-03-26, which is its own authorization server.
 * It knows nothing of RFC 9728: no protected resource metadata, a challenge without `resource_metadata`; the
 * authorization server's RFC 8414 document is at the MCP server's origin (the 2025-03-26 rule), sessions with
 * `Mcp-Session-Id`.
 * Reproduces: https://modelcontextprotocol.io/specification/2025-03-26/basic/authorization (2.3 server metadata
 * discovery at the MCP server's base URL, 2.3.3 fallbacks), https://modelcontextprotocol.io/specification/2025-03-26/basic/transports
 * What the user sets: nothing.
 */
import assert from 'node:assert/strict'
import { runProfile } from './harness.ts'
import { ALICE, ownAuthorizationServer } from './own-authorization-server.ts'
import { startZoo } from './zoo-server.ts'

const scopes = ['tools', 'admin'] as const
const ttl = 3

runProfile({
  name: '2025-03-26 server that is its own authorization server',
  credentials: ALICE,
  subject: ALICE.username,
  accessTokenTtl: ttl,
  revocation: true,
  checks: {
    'the quirk is real: no protected resource metadata, a challenge that names none': async (zoo) => {
      const r = await fetch(zoo.mcp, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
      })
      await r.body?.cancel()
      assert.equal(r.status, 401)
      assert.doesNotMatch(r.headers.get('www-authenticate') ?? '', /resource_metadata/)
      for (const path of [
        '/.well-known/oauth-protected-resource/mcp',
        '/.well-known/oauth-protected-resource',
      ])
        assert.equal((await fetch(`${zoo.origin}${path}`)).status, 404, path)
    },
  },
  start: () =>
    startZoo({
      scopes,
      versions: ['2025-03-26'],
      protectedResourceMetadata: 'none',
      authorizationServer: (origin, resource) => ownAuthorizationServer(origin, resource, scopes, ttl),
    }),
})
