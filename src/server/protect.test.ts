import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { parseWwwAuthenticate } from '../shared/www-authenticate.ts'
import { parseAuthorization } from './authorization.ts'
import { createResourceServer, withoutHosts } from './protect.ts'
import { testIssuer } from './testing/keys.test-helper.ts'
import { jwtVerifier } from './verify/jwt.ts'

const RESOURCE = 'https://mcp.example.com/mcp'
const PRM = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp'

async function setup(policy = {}) {
  const as = await testIssuer()
  const rs = createResourceServer({
    resource: RESOURCE,
    authorizationServers: [as.issuer],
    scopesSupported: ['mcp'],
    verifier: jwtVerifier({ issuer: as.issuer, keys: as.jwks }),
    policy: { required: ['mcp'], tools: { deploy: ['deploy'] }, ...policy },
  })
  return { as, rs }
}

function call(token: string | undefined, body: unknown, headers: Record<string, string> = {}): Request {
  return new Request(RESOURCE, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: JSON.stringify(body),
  })
}

const toolsCall = (name: string) => ({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name, arguments: {} },
})

function challengeOf(r: Response) {
  const [c] = parseWwwAuthenticate(r.headers.get('www-authenticate'))
  assert.ok(c, 'a challenge is present')
  return c.params
}

describe('createResourceServer().protect', () => {
  it('answers 401 without an error code when there is no token, with resource_metadata and scope', async () => {
    const { rs } = await setup()
    const r = await rs.protect(call(undefined, toolsCall('deploy')))
    assert.ok(r instanceof Response)
    assert.equal(r.status, 401)
    const p = challengeOf(r)
    assert.equal(p['error'], undefined)
    assert.equal(p['resource_metadata'], PRM)
    assert.equal(p['scope'], 'mcp deploy')
    assert.equal(r.headers.get('access-control-expose-headers'), 'WWW-Authenticate')
  })

  it('passes a valid token and hands over the SDK authInfo shape', async () => {
    const { as, rs } = await setup()
    const token = await as.mint()
    const v = await rs.protect(call(token, toolsCall('echo')))
    assert.ok(!(v instanceof Response))
    assert.equal(v.authInfo.token, token)
    assert.equal(v.authInfo.clientId, 'client-1')
    assert.deepEqual(v.authInfo.scopes, ['mcp'])
    assert.equal(v.authInfo.resource?.href, RESOURCE)
    assert.equal(v.authInfo.resourceMetadataUrl, PRM)
    assert.equal(v.authInfo.extra?.['subject'], 'user-1')
    assert.equal(v.authInfo.extra?.['issuer'], as.issuer)
    assert.equal(typeof v.authInfo.expiresAt, 'number')
  })

  it('answers 403 insufficient_scope with the full scope set for a tool needing more', async () => {
    const { as, rs } = await setup()
    const r = await rs.protect(call(await as.mint(), toolsCall('deploy')))
    assert.ok(r instanceof Response)
    assert.equal(r.status, 403)
    const p = challengeOf(r)
    assert.equal(p['error'], 'insufficient_scope')
    assert.equal(p['scope'], 'mcp deploy')
    assert.equal(p['resource_metadata'], PRM)
    const ok = await rs.protect(call(await as.mint({ scope: 'mcp deploy' }), toolsCall('deploy')))
    assert.ok(!(ok instanceof Response))
  })

  it('honours a scope hierarchy', async () => {
    const { as, rs } = await setup({ implies: { admin: ['mcp', 'deploy'] } })
    const ok = await rs.protect(call(await as.mint({ scope: 'admin' }), toolsCall('deploy')))
    assert.ok(!(ok instanceof Response))
  })

  it('answers invalid_token for a token of another audience and for garbage', async () => {
    const { as, rs } = await setup()
    for (const token of [await as.mint({ aud: 'https://mcp.example.com/other' }), 'abc.def.ghi', 'x']) {
      const r = await rs.protect(call(token, toolsCall('echo')))
      assert.ok(r instanceof Response)
      assert.equal(r.status, 401)
      assert.equal(challengeOf(r)['error'], 'invalid_token')
    }
  })

  it('accepts the audience with one trailing slash', async () => {
    const { as, rs } = await setup()
    const v = await rs.protect(call(await as.mint({ aud: `${RESOURCE}/` }), toolsCall('echo')))
    assert.ok(!(v instanceof Response))
  })

  it('reads Mcp-Method/Mcp-Name and refuses a header that disagrees with the body', async () => {
    const { as, rs } = await setup()
    const token = await as.mint({ scope: 'mcp' })
    // Header says echo, body says deploy: refused before the scope decision could be fooled.
    const r = await rs.protect(
      call(token, toolsCall('deploy'), { 'mcp-method': 'tools/call', 'mcp-name': 'echo' }),
    )
    assert.ok(r instanceof Response)
    assert.equal(r.status, 400)
    const body = (await r.json()) as { error: { code: number } }
    assert.equal(body.error.code, -32020)
    const b64 = `=?base64?${Buffer.from('deploy').toString('base64')}?=`
    const r2 = await rs.protect(
      call(token, toolsCall('deploy'), { 'mcp-method': 'tools/call', 'mcp-name': b64 }),
    )
    assert.ok(r2 instanceof Response)
    assert.equal(r2.status, 403)
  })

  it('does not consume the request body in protect()', async () => {
    const { as, rs } = await setup()
    const req = call(await as.mint(), toolsCall('echo'))
    const v = await rs.protect(req)
    assert.ok(!(v instanceof Response))
    assert.deepEqual(await req.json(), toolsCall('echo'))
  })

  it('refuses a 100 KB Authorization header quickly with invalid_token', async () => {
    const { rs } = await setup()
    const r = await rs.protect(call('a'.repeat(100 * 1024), toolsCall('echo')))
    assert.ok(r instanceof Response)
    assert.equal(r.status, 401)
    assert.match(challengeOf(r)['error_description'] ?? '', /longer than/)
  })
})

describe('handle', () => {
  it('serves metadata, preflights, and forwards the body and authInfo to next', async () => {
    const { as, rs } = await setup()
    const meta = await rs.handle(new Request(PRM), () => new Response('no'))
    assert.equal(meta.status, 200)
    assert.equal(meta.headers.get('access-control-allow-origin'), '*')
    const doc = (await meta.json()) as Record<string, unknown>
    assert.equal(doc['resource'], RESOURCE)
    assert.deepEqual(doc['authorization_servers'], [as.issuer])
    const pre = await rs.handle(new Request(RESOURCE, { method: 'OPTIONS' }), () => new Response('no'))
    assert.equal(pre.status, 204)
    const r = await rs.handle(call(await as.mint(), toolsCall('echo')), async (req, ctx) => {
      assert.deepEqual(ctx.parsedBody, toolsCall('echo'))
      assert.deepEqual(await req.json(), toolsCall('echo'))
      return Response.json({ sub: ctx.authInfo.extra?.['subject'] })
    })
    assert.equal(r.status, 200)
    assert.match(r.headers.get('access-control-expose-headers') ?? '', /WWW-Authenticate/)
  })
})

describe('parseAuthorization', () => {
  it('reads Bearer and DPoP, ignores other schemes, flags malformed ones', () => {
    assert.deepEqual(parseAuthorization('Bearer abc'), { scheme: 'Bearer', token: 'abc' })
    assert.deepEqual(parseAuthorization('dpop abc='), { scheme: 'DPoP', token: 'abc=' })
    assert.equal(parseAuthorization('Basic dXNlcg=='), undefined)
    assert.equal(parseAuthorization(null), undefined)
    assert.ok('error' in (parseAuthorization('Bearer a, Bearer b') ?? {}))
    assert.ok('error' in (parseAuthorization('Bearer ') ?? {}))
  })
})

describe('hostile input (property-based)', () => {
  it('any Authorization header and any body give a 400/401 refusal, never a throw or a pass', async () => {
    const { rs } = await setup()
    const header = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ maxLength: 200 }).map((s) => `Bearer ${s}`),
      fc.string({ maxLength: 200 }).map((s) => `DPoP ${s}`),
      fc
        .array(fc.constantFrom('eyJ', 'hbGciOi', '.', 'J9', '-', '_', '=', 'a'), { maxLength: 60 })
        .map((a) => `Bearer ${a.join('')}`),
    )
    const body = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc
        .record({ jsonrpc: fc.constant('2.0'), id: fc.integer(), method: fc.string(), params: fc.anything() })
        .map((v) => JSON.stringify(v)),
    )
    await fc.assert(
      fc.asyncProperty(header, body, async (h, b) => {
        let request: Request
        try {
          request = new Request(RESOURCE, { method: 'POST', headers: { authorization: h }, body: b })
        } catch {
          return // not a valid HTTP header value at all; no server would see it
        }
        const r = await rs.protect(request)
        assert.ok(r instanceof Response, 'refused')
        assert.ok([400, 401].includes(r.status), String(r.status))
      }),
      { numRuns: 400 },
    )
  })
})

describe('path-less resource and cors: false', () => {
  it('serves metadata at the root and points challenges there; without cors, preflights are not special', async () => {
    const as = await testIssuer()
    const rs = createResourceServer({
      resource: 'https://mcp.example.com/',
      authorizationServers: [as.issuer],
      verifier: jwtVerifier({ issuer: as.issuer, keys: as.jwks }),
      cors: false,
    })
    assert.equal(rs.resource, 'https://mcp.example.com')
    assert.equal(rs.metadataUrl, 'https://mcp.example.com/.well-known/oauth-protected-resource')
    const meta = await rs.handle(new Request(rs.metadataUrl), () => new Response('no'))
    assert.equal(meta.status, 200)
    const r = await rs.handle(
      new Request('https://mcp.example.com/', { method: 'POST', body: '{}' }),
      () => new Response('no'),
    )
    assert.equal(r.status, 401)
    assert.equal(challengeOf(r)['resource_metadata'], rs.metadataUrl)
    const pre = await rs.handle(
      new Request('https://mcp.example.com/', { method: 'OPTIONS' }),
      () => new Response('no'),
    )
    assert.equal(pre.status, 401)
    const ok = await rs.handle(
      new Request('https://mcp.example.com/', {
        method: 'POST',
        headers: { authorization: `Bearer ${await as.mint({ aud: 'https://mcp.example.com' })}` },
      }),
      () => new Response('yes'),
    )
    assert.equal(await ok.text(), 'yes')
    assert.equal(ok.headers.get('access-control-allow-origin'), null)
  })
})

describe('protect: requests the SDK would read differently', () => {
  it('judges a body with a leading BOM as the SDK reads it (no scope bypass)', async () => {
    const { as, rs } = await setup()
    const token = await as.mint({ aud: RESOURCE, scope: 'mcp' })
    const bom = new Request(RESOURCE, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: `\uFEFF${JSON.stringify(toolsCall('deploy'))}`,
    })
    const r = await rs.protect(bom)
    assert.ok(r instanceof Response)
    assert.equal(r.status, 403)
  })
  it('refuses a body that is not JSON instead of applying only the base scopes', async () => {
    const { as, rs } = await setup()
    const token = await as.mint({ aud: RESOURCE, scope: 'mcp' })
    const junk = new Request(RESOURCE, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: '{"jsonrpc":"2.0","method":"tools/call",',
    })
    const r = await rs.protect(junk)
    assert.ok(r instanceof Response)
    assert.equal(r.status, 400)
  })
  it('matches resource URIs as the SDK resolves them', async () => {
    const { as, rs } = await setup({ resources: { 'https://data.example.com/secret': ['admin'] } })
    const token = await as.mint({ aud: RESOURCE, scope: 'mcp' })
    for (const uri of [
      'https://data.example.com/secret',
      'HTTPS://DATA.EXAMPLE.COM/secret',
      'https://data.example.com:443/./secret',
    ]) {
      const r = await rs.protect(
        call(token, { jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri } }),
      )
      assert.ok(r instanceof Response, uri)
      assert.equal(r.status, 403, uri)
    }
  })
})

describe('protect: jwtVerifier additionalAudiences', () => {
  it('accepts a token for an additional audience the verifier allows, and still refuses others', async () => {
    const as = await testIssuer()
    const rs = createResourceServer({
      resource: RESOURCE,
      authorizationServers: [as.issuer],
      verifier: jwtVerifier({ issuer: as.issuer, keys: as.jwks, additionalAudiences: ['api://mcp'] }),
    })
    const ok = await rs.protect(call(await as.mint({ aud: 'api://mcp' }), toolsCall('x')))
    assert.ok(!(ok instanceof Response), 'accepted')
    const other = await rs.protect(call(await as.mint({ aud: 'api://other' }), toolsCall('x')))
    assert.ok(other instanceof Response)
    assert.equal(other.status, 401)
  })
})

describe('withoutHosts', () => {
  it('removes single-label hosts with a port and the host named after a resolver or socket error code', () => {
    for (const [message, host] of [
      ['fetch failed: connect ECONNREFUSED keycloak:8080', 'keycloak'],
      ['getaddrinfo ENOTFOUND authsvc', 'authsvc'],
      ['getaddrinfo EAI_AGAIN authsvc-internal', 'authsvc-internal'],
      ['request to idp:443 timed out', 'idp'],
      ['connect ECONNREFUSED 10.0.0.7:8443', '10.0.0.7'],
      ['JWKS at https://auth.internal.corp/jwks answered 500', 'auth.internal.corp'],
    ] as const) {
      const cleaned = withoutHosts(message)
      assert.ok(!cleaned.includes(host), `${message} → ${cleaned}`)
      assert.match(cleaned, /the authorization server/)
    }
    // The error code itself stays: it is what an operator searches for.
    assert.equal(
      withoutHosts('getaddrinfo ENOTFOUND authsvc'),
      'getaddrinfo ENOTFOUND the authorization server',
    )
    assert.equal(withoutHosts('the key set is not valid JSON'), 'the key set is not valid JSON')
  })
})
