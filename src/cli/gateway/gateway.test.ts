import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { createResourceServer, jwtVerifier } from '../../server/index.ts'
import { createGateway } from './gateway.ts'
import type { Upstream } from './upstream.ts'

const issuer = 'https://as.example'
const resource = 'https://gw.example/mcp'
const { publicKey, privateKey } = await generateKeyPair('ES256')
const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256' }] }
const token = await new SignJWT({ scope: 'mcp', client_id: 'c1' })
  .setProtectedHeader({ alg: 'ES256', kid: 'k' })
  .setIssuer(issuer)
  .setSubject('alice')
  .setAudience(resource)
  .setIssuedAt()
  .setExpirationTime('5m')
  .sign(privateKey)
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
})
