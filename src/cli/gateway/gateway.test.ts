import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { gatewayTokens } from '../../../test/support/gateway-tokens.ts'
import { createResourceServer, jwtVerifier } from '../../server/index.ts'
import { META, MODERN } from '../bridge/protocol.ts'
import { eraUpstream } from './era.ts'
import { createGateway } from './gateway.ts'
import type { Upstream } from './upstream.ts'

const issuer = 'https://as.example'
const resource = 'https://gw.example/mcp'
const tokens = await gatewayTokens(issuer, resource)
const { jwks } = tokens
/** An access token of client c1, for `subject` or, without one, for nobody the token names. */
const sign = (subject?: string, jti?: string) => tokens.sign({ subject, jti })
const token = await sign('alice')
const rs = createResourceServer({
  resource,
  authorizationServers: [issuer],
  verifier: jwtVerifier({ issuer, keys: jwks }),
  policy: { required: ['mcp'], tools: { admin_op: ['admin'] } },
})

function fakeUpstream(answer: (r: Request) => Response | Promise<Response>) {
  const seen: Request[] = []
  const upstream: Upstream = {
    describe: 'fake',
    fetch: async (r) => {
      seen.push(r)
      return answer(r)
    },
    close: async () => {},
  }
  return { upstream, seen }
}

const call = (name: string, auth = true) =>
  new Request(resource, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(auth ? { authorization: `Bearer ${token}` } : {}),
      'x-mcp-oauth-subject': 'mallory',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name } }),
  })

describe('createGateway', () => {
  it('forwards an authorized request with the identity and without the token; refuses the rest before the upstream', async () => {
    const { upstream, seen } = fakeUpstream(() => Response.json({ jsonrpc: '2.0', id: 1, result: {} }))
    const gateway = createGateway({ upstream, resourceServer: rs })
    const ok = await gateway(call('echo'))
    assert.equal(ok.status, 200)
    assert.equal(ok.headers.get('access-control-allow-origin'), '*')
    assert.match(ok.headers.get('access-control-expose-headers') ?? '', /Mcp-Session-Id/)
    assert.equal(seen.length, 1)
    assert.equal(seen[0]!.headers.get('authorization'), null)
    assert.equal(seen[0]!.headers.get('x-mcp-oauth-subject'), 'alice')
    assert.equal(seen[0]!.headers.get('x-mcp-oauth-client'), 'c1')
    assert.equal(JSON.parse(await seen[0]!.text()).params.name, 'echo')

    assert.equal((await gateway(call('echo', false))).status, 401)
    const stepUp = await gateway(call('admin_op'))
    assert.equal(stepUp.status, 403)
    assert.match(stepUp.headers.get('www-authenticate') ?? '', /insufficient_scope.*scope="mcp admin"/)
    assert.equal(seen.length, 1, 'refused requests never reach the upstream')
  })

  it("turns the upstream's own challenges and failures into errors that do not send the client elsewhere", async () => {
    const log: string[] = []
    const challenge = createGateway({
      upstream: fakeUpstream(
        () => new Response(null, { status: 401, headers: { 'www-authenticate': 'Bearer realm="x"' } }),
      ).upstream,
      resourceServer: rs,
      log: (l) => log.push(l),
    })
    const r = await challenge(call('echo'))
    assert.equal(r.status, 502)
    assert.equal(r.headers.get('www-authenticate'), null)
    const forbidden = createGateway({
      upstream: fakeUpstream(
        () =>
          new Response('no', {
            status: 403,
            headers: { 'www-authenticate': 'Bearer error="insufficient_scope"' },
          }),
      ).upstream,
      resourceServer: rs,
    })
    const f = await forbidden(call('echo'))
    assert.equal(f.status, 403)
    assert.equal(f.headers.get('www-authenticate'), null)
    const down = createGateway({
      upstream: fakeUpstream(() => {
        throw new TypeError('fetch failed: connect ECONNREFUSED http://user:pw@10.0.0.1/mcp?k=s')
      }).upstream,
      resourceServer: rs,
      log: (l) => log.push(l),
    })
    const d = await down(call('echo'))
    assert.equal(d.status, 502)
    assert.equal(((await d.json()) as { error: { code: number } }).error.code, -32603)
    assert.ok(
      log.length === 2 && !log.join('\n').includes('pw@') && !log.join('\n').includes('k=s'),
      log.join('\n'),
    )
  })

  it('never lets two principals share an upstream 2025 session, not even tokens without a subject', async () => {
    // A 2025-only upstream: a session per initialize; a call answers with the session it ran in.
    let sessions = 0
    const { upstream } = fakeUpstream(async (r) => {
      const m = (await r.json()) as { id?: string; method: string }
      if (m.method === 'server/discover')
        return Response.json(
          { jsonrpc: '2.0', id: m.id, error: { code: -32600, message: 'not initialized' } },
          { status: 400 },
        )
      if (m.method === 'initialize') {
        const id = `s${++sessions}`
        const result = {
          protocolVersion: '2025-11-25',
          capabilities: { tools: {} },
          serverInfo: { name: 'u', version: '1' },
        }
        return Response.json({ jsonrpc: '2.0', id: m.id, result }, { headers: { 'mcp-session-id': id } })
      }
      if (!m.id) return new Response(null, { status: 202 })
      const session = r.headers.get('mcp-session-id')
      return Response.json({
        jsonrpc: '2.0',
        id: m.id,
        result: { content: [{ type: 'text', text: session }] },
      })
    })
    const era = eraUpstream(upstream)
    const gateway = createGateway({ upstream: era, resourceServer: rs })
    const modernCall = (bearer: string) =>
      new Request(resource, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${bearer}`,
          'mcp-protocol-version': MODERN,
          'mcp-method': 'tools/call',
          'mcp-name': 'echo',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: {
            name: 'echo',
            _meta: {
              [META.protocolVersion]: MODERN,
              [META.clientInfo]: { name: 'pinned', version: '1' },
              [META.clientCapabilities]: {},
            },
          },
        }),
      })
    const sessionOf = async (bearer: string) => {
      const r = await gateway(modernCall(bearer))
      assert.equal(r.status, 200)
      const m = (await r.json()) as { result: { content: { text: string }[] } }
      return m.result.content[0]!.text
    }
    // Same client, no subject: nothing says the two tokens are one principal, so they must not share.
    const [anonymousA, anonymousB] = await Promise.all([sign(undefined, 'a'), sign(undefined, 'b')])
    const a = await sessionOf(anonymousA)
    const b = await sessionOf(anonymousB)
    assert.notEqual(a, b)
    assert.equal(await sessionOf(anonymousA), a, 'the same token keeps its session')
    // One subject with two tokens (a refresh) keeps its session; another subject gets its own.
    const alice = await sessionOf(token)
    assert.equal(await sessionOf(await sign('alice', 'again')), alice)
    assert.notEqual(await sessionOf(await sign('bob')), alice)
    assert.equal(sessions, 4)
    await era.close()
  })
})
