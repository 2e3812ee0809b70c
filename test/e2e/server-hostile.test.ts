/**
 * Hostile tokens and hostile infrastructure against the kit over real sockets: each bad token gets 401
 * invalid_token with resource_metadata, a broken JWKS gets 503 in bounded time, and the server keeps serving.
 */
import assert from 'node:assert/strict'
import { createPublicKey } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { createMcpHandler } from '@modelcontextprotocol/server'
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose'
import { createResourceServer, jwtVerifier, type ResourceServer } from '../../src/server/index.ts'
import { type TestIssuer, testIssuer } from '../../src/server/testing/keys.test-helper.ts'
import { buildMcpServer, type Listening, serveFetch } from '../../src/server/testing/mcp.test-helper.ts'
import { parseWwwAuthenticate } from '../../src/shared/www-authenticate.ts'

const listTools = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }

async function post(url: string, authorization: string | undefined, body: unknown = listTools) {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  }
  if (authorization !== undefined) headers['authorization'] = authorization
  const r = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) })
  const text = await r.text()
  return { status: r.status, headers: r.headers, text }
}

function challenge(headers: Headers) {
  const c = parseWwwAuthenticate(headers.get('www-authenticate')).find((x) => x.scheme === 'bearer')
  assert.ok(c, 'Bearer challenge present')
  return c.params
}

describe('hostile tokens (real sockets, remote JWKS)', () => {
  let as: TestIssuer
  let jwks: Listening
  let jwksHits = 0
  let mcp: Listening
  let rs: ResourceServer
  let resource = ''

  before(async () => {
    as = await testIssuer('ES256', 'http://127.0.0.1:1/issuer')
    jwks = await serveFetch(() => {
      jwksHits++
      return Response.json(as.jwks)
    })
    const handler = createMcpHandler(() => buildMcpServer())
    // A large header limit so the kit, not Node's parser, is what refuses oversized headers.
    mcp = await serveFetch((req) => rs.handle(req, (r, { authInfo }) => handler.fetch(r, { authInfo })), {
      maxHeaderSize: 1024 * 1024,
    })
    resource = `${mcp.url}/mcp`
    rs = createResourceServer({
      resource,
      authorizationServers: [as.issuer],
      verifier: jwtVerifier({ issuer: as.issuer, jwksUri: `${jwks.url}/jwks`, cooldownMs: 60_000 }),
      policy: { required: ['mcp'] },
    })
  })
  after(async () => {
    await mcp.close()
    await jwks.close()
  })

  async function expectInvalid(authorization: string, description: RegExp) {
    const r = await post(resource, authorization)
    assert.equal(r.status, 401, r.text)
    const p = challenge(r.headers)
    assert.equal(p['error'], 'invalid_token')
    assert.equal(p['resource_metadata'], rs.metadataUrl)
    assert.equal(p['scope'], 'mcp')
    assert.match(p['error_description'] ?? '', description)
    const body = JSON.parse(r.text) as { error: string; error_description: string }
    assert.equal(body.error, 'invalid_token')
    // The server keeps serving good requests after each bad one.
    const ok = await post(resource, `Bearer ${await as.mint({ aud: resource })}`)
    assert.equal(ok.status, 200, ok.text)
  }

  it('accepts a good token', async () => {
    const r = await post(resource, `Bearer ${await as.mint({ aud: resource })}`)
    assert.equal(r.status, 200, r.text)
  })

  it('no token: 401 without an error code', async () => {
    const r = await post(resource, undefined)
    assert.equal(r.status, 401)
    assert.equal(challenge(r.headers)['error'], undefined)
  })

  it('alg none', async () => {
    const now = Math.floor(Date.now() / 1000)
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: 'k1' }))
    const payload = base64url.encode(
      JSON.stringify({
        iss: as.issuer,
        aud: resource,
        exp: now + 300,
        iat: now,
        scope: 'mcp',
        client_id: 'c',
      }),
    )
    await expectInvalid(`Bearer ${header}.${payload}.`, /not a valid signed JWT|algorithm/)
    await expectInvalid(`Bearer ${header}.${payload}.c2ln`, /algorithm/)
  })

  it('HS256 signed with the public key as the secret', async () => {
    const pub = createPublicKey({ key: as.jwks.keys[0] as never, format: 'jwk' })
    const secret = new TextEncoder().encode(pub.export({ type: 'spki', format: 'pem' }) as string)
    const now = Math.floor(Date.now() / 1000)
    const token = await new SignJWT({ scope: 'mcp', client_id: 'c' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1', typ: 'at+jwt' })
      .setIssuer(as.issuer)
      .setAudience(resource)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(secret)
    await expectInvalid(`Bearer ${token}`, /algorithm/)
  })

  it('wrong audience, and the audience of another path on the same host', async () => {
    await expectInvalid(`Bearer ${await as.mint({ aud: 'https://elsewhere.example/mcp' })}`, /audience/)
    await expectInvalid(`Bearer ${await as.mint({ aud: `${mcp.url}/other` })}`, /audience/)
    await expectInvalid(`Bearer ${await as.mint({ aud: `${mcp.url}` })}`, /audience/)
  })

  it('wrong issuer', async () => {
    const other = await testIssuer('ES256', 'https://evil.example')
    // Same key id, different key and issuer: the signature fails first; same key, other iss: the issuer fails.
    await expectInvalid(`Bearer ${await other.mint({ aud: resource })}`, /signature|issuer/)
    const token = await new SignJWT({ scope: 'mcp', client_id: 'c' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
      .setIssuer('https://evil.example')
      .setAudience(resource)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(as.privateKey)
    await expectInvalid(`Bearer ${token}`, /issuer/)
  })

  it('expired and not yet valid', async () => {
    const now = Math.floor(Date.now() / 1000)
    await expectInvalid(`Bearer ${await as.mint({ aud: resource, exp: now - 120 })}`, /expired/)
    await expectInvalid(`Bearer ${await as.mint({ aud: resource, nbf: now + 600 })}`, /not yet valid/)
  })

  it('unknown kid: invalid_token, and the JWKS is refetched at most once per cooldown', async () => {
    const before = jwksHits
    for (let i = 0; i < 5; i++) {
      const token = await new SignJWT({ scope: 'mcp', client_id: 'c' })
        .setProtectedHeader({ alg: 'ES256', kid: `unknown-${i}`, typ: 'at+jwt' })
        .setIssuer(as.issuer)
        .setAudience(resource)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(as.privateKey)
      await expectInvalid(`Bearer ${token}`, /no key/)
    }
    assert.ok(jwksHits - before <= 1, `JWKS fetched ${jwksHits - before} times for 5 unknown kids`)
  })

  it('a DPoP-bound token sent as Bearer', async () => {
    const { publicKey } = await generateKeyPair('ES256')
    const jkt = await calculateJwkThumbprint(await exportJWK(publicKey))
    await expectInvalid(`Bearer ${await as.mint({ aud: resource, cnf: { jkt } })}`, /DPoP-bound/)
  })

  it('a 100 KB Authorization header: 401 at once, server keeps serving', async () => {
    const r = await post(resource, `Bearer ${'a'.repeat(100 * 1024)}`)
    assert.equal(r.status, 401)
    assert.match(challenge(r.headers)['error_description'] ?? '', /longer than/)
    const ok = await post(resource, `Bearer ${await as.mint({ aud: resource })}`)
    assert.equal(ok.status, 200)
  })

  it('a validly signed token with 10,000 audiences is refused', async () => {
    const audiences = [resource, ...Array.from({ length: 9999 }, (_, i) => `https://a${i}.example`)]
    const token = await as.mint({ aud: audiences })
    const r = await post(resource, `Bearer ${token}`)
    assert.equal(r.status, 401)
    // Also when the size cap is lifted: the audience count cap catches it after verification.
    const lenient = createResourceServer({
      resource,
      authorizationServers: [as.issuer],
      verifier: jwtVerifier({ issuer: as.issuer, keys: as.jwks }),
      maxTokenLength: 1024 * 1024,
    })
    const v = await lenient.protect(
      new Request(resource, { method: 'POST', headers: { authorization: `Bearer ${token}` } }),
    )
    assert.ok(v instanceof Response)
    assert.equal(v.status, 401)
    assert.match(v.headers.get('www-authenticate') ?? '', /10000 audiences/)
  })
})

describe('hostile JWKS endpoints', () => {
  let as: TestIssuer
  const servers: Listening[] = []
  const held: (() => void)[] = []

  before(async () => {
    as = await testIssuer('ES256', 'http://127.0.0.1:1/issuer')
  })
  after(async () => {
    for (const release of held) release()
    for (const s of servers) await s.close()
  })

  const counter = { hits: 0 }
  async function kitWith(jwksHandler: (r: Request) => Response | Promise<Response>) {
    const jwks = await serveFetch((r) => {
      counter.hits++
      return jwksHandler(r)
    })
    servers.push(jwks)
    const handler = createMcpHandler(() => buildMcpServer())
    let rs: ResourceServer | undefined
    const mcp = await serveFetch((req) =>
      rs!.handle(req, (r, { authInfo }) => handler.fetch(r, { authInfo })),
    )
    servers.push(mcp)
    const resource = `${mcp.url}/mcp`
    rs = createResourceServer({
      resource,
      authorizationServers: [as.issuer],
      verifier: jwtVerifier({
        issuer: as.issuer,
        jwksUri: `${jwks.url}/jwks`,
        timeoutMs: 500,
        maxDocumentBytes: 64 * 1024,
      }),
    })
    return { rs, resource }
  }

  async function expectUnavailable(jwksHandler: (r: Request) => Response | Promise<Response>, hangs = false) {
    const { rs, resource } = await kitWith(jwksHandler)
    const token = `Bearer ${await as.mint({ aud: resource })}`
    let settled = false
    const pending = post(resource, token).finally(() => {
      settled = true
    })
    // While that request waits on the JWKS, the server answers others.
    assert.equal((await fetch(rs.metadataUrl)).status, 200)
    if (hangs) assert.equal(settled, false, 'metadata was served while a verification was still pending')
    const first = await pending
    assert.equal(first.status, 503, first.text)
    assert.equal(first.headers.get('retry-after'), '5')
    const body = JSON.parse(first.text) as { error: string; error_description: string }
    assert.equal(body.error, 'temporarily_unavailable')
    assert.ok(body.error_description.length > 10)
    assert.ok(!first.text.includes(token.slice(7)), 'the token is never echoed')
    // Within the back-off the answer comes without asking the JWKS endpoint again.
    const hits = counter.hits
    const second = await post(resource, token)
    assert.equal(second.status, 503)
    assert.equal(counter.hits, hits, 'no refetch during the back-off')
    assert.equal((await fetch(rs.metadataUrl)).status, 200)
    return first
  }

  it('a JWKS endpoint that hangs: 503 after the deadline, not a hung request', async () => {
    const r = await expectUnavailable(
      () =>
        new Promise<Response>((resolve) => {
          held.push(() => resolve(new Response('{}')))
        }),
      true,
    )
    // The JWKS answer is held until cleanup, so any answer at all is the deadline's.
    assert.match(JSON.parse(r.text).error_description, /did not answer within 500 ms/)
    assert.doesNotMatch(
      JSON.parse(r.text).error_description,
      /127\.0\.0\.1|localhost/,
      'no internal host in the answer',
    )
  })

  it('a JWKS endpoint returning garbage', async () => {
    await expectUnavailable(
      () => new Response('<html>oops</html>', { headers: { 'content-type': 'text/html' } }),
    )
  })

  it('a JWKS endpoint returning an object without keys', async () => {
    await expectUnavailable(() => Response.json({ keys: 'nope' }))
  })

  it('a JWKS endpoint streaming megabytes', async () => {
    const chunk = new Uint8Array(64 * 1024).fill(32)
    await expectUnavailable(
      () =>
        new Response(
          new ReadableStream({
            pull(c) {
              c.enqueue(chunk)
            },
          }),
        ),
    )
  })

  it('a JWKS endpoint answering 500', async () => {
    await expectUnavailable(() => new Response('down', { status: 500 }))
  })
})
