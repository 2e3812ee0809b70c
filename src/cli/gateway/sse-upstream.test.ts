/**
 * sseUpstream behind createGateway, against a real SDK v1 HTTP+SSE server on loopback: a session id belongs to
 * the principal whose `initialize` made it, including callers whose tokens carry no subject.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { gatewayTokens } from '../../../test/support/gateway-tokens.ts'
import { startSseUpstream, type Upstream as TestServer } from '../../../test/support/gateway-upstreams.ts'
import { createResourceServer, jwtVerifier } from '../../server/index.ts'
import { META, MODERN } from '../bridge/protocol.ts'
import { eraUpstream } from './era.ts'
import { createGateway } from './gateway.ts'
import { sseUpstream } from './sse-upstream.ts'
import type { Upstream } from './upstream.ts'

const issuer = 'https://as.example'
const resource = 'https://gw.example/mcp'
const tokens = await gatewayTokens(issuer, resource)
const { jwks } = tokens
/** An access token of client c1, for `subject` or, without one, for nobody the token names. */
const sign = (jti: string, subject?: string) => tokens.sign({ subject, jti })
const rs = createResourceServer({
  resource,
  authorizationServers: [issuer],
  verifier: jwtVerifier({ issuer, keys: jwks }),
  policy: { required: ['mcp'] },
})

let server: TestServer
let upstream: Upstream
let gateway: (request: Request) => Promise<Response>
before(async () => {
  server = await startSseUpstream()
  upstream = eraUpstream(sseUpstream(server.url))
  gateway = createGateway({ upstream, resourceServer: rs })
})
after(async () => {
  await upstream.close()
  await server.close()
})

const request = (bearer: string, method: string, sid?: string, body?: unknown) =>
  gateway(
    new Request(resource, {
      method,
      headers: {
        authorization: `Bearer ${bearer}`,
        accept: 'application/json, text/event-stream',
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...(sid ? { 'mcp-session-id': sid, 'mcp-protocol-version': '2024-11-05' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    }),
  )

/** The first `data:` of an SSE answer, as JSON. */
async function firstMessage(response: Response): Promise<Record<string, unknown>> {
  assert.equal(response.status, 200)
  const text = await response.text()
  return JSON.parse(/^data: (.*)$/m.exec(text)![1]!) as Record<string, unknown>
}

async function open(bearer: string): Promise<string> {
  const response = await request(bearer, 'POST', undefined, {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 't', version: '1' } },
  })
  const sid = response.headers.get('mcp-session-id')!
  assert.ok((await firstMessage(response))['result'])
  const ack = await request(bearer, 'POST', sid, { jsonrpc: '2.0', method: 'notifications/initialized' })
  assert.equal(ack.status, 202)
  return sid
}

const list = (bearer: string, sid: string) =>
  request(bearer, 'POST', sid, { jsonrpc: '2.0', id: 2, method: 'tools/list' })

describe('sseUpstream sessions', () => {
  it('belong to the principal that opened them: another token without a subject gets 404 for POST, GET and DELETE', async () => {
    const [a, b] = await Promise.all([sign('a'), sign('b')])
    const sid = await open(a)
    for (const method of ['POST', 'GET', 'DELETE']) {
      const other = await (method === 'POST' ? list(b, sid) : request(b, method, sid))
      assert.equal(other.status, 404, `${method} with another principal's session id`)
      await other.body?.cancel()
    }
    assert.ok((await firstMessage(await list(a, sid)))['result'], 'the owner still uses it')
    assert.equal((await request(a, 'DELETE', sid)).status, 200)
  })

  it('follow a subject across its tokens (a refresh), not to another subject', async () => {
    const sid = await open(await sign('a1', 'alice'))
    assert.ok((await firstMessage(await list(await sign('a2', 'alice'), sid)))['result'])
    const bob = await list(await sign('b1', 'bob'), sid)
    assert.equal(bob.status, 404)
    await bob.body?.cancel()
  })

  it("carry the era translation's own messages for a 2026-07-28 client (they are marked with its principal too)", async () => {
    const modern = async (bearer: string) => {
      const response = await gateway(
        new Request(resource, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${bearer}`,
            accept: 'application/json, text/event-stream',
            'content-type': 'application/json',
            'mcp-protocol-version': MODERN,
            'mcp-method': 'tools/list',
          },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 7,
            method: 'tools/list',
            params: {
              _meta: {
                [META.protocolVersion]: MODERN,
                [META.clientInfo]: { name: 'pinned', version: '1' },
                [META.clientCapabilities]: {},
              },
            },
          }),
        }),
      )
      const text = await response.text()
      return JSON.parse(/^data: (.*)$/m.exec(text)?.[1] ?? text) as { result?: { tools: unknown[] } }
    }
    const [c, d] = await Promise.all([sign('c'), sign('d')])
    assert.ok((await modern(c)).result?.tools.length)
    assert.ok((await modern(d)).result?.tools.length)
  })
})
