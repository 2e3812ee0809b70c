/**
 * Hostile inputs against the resource-server kit's key handling, over real sockets: a token "issued" in the
 * future, a storm of random `kid`s (JWKS fetches counted at the JWKS server), a key published a moment ago, and
 * 503 answers that must not name the internal host behind them.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { exportJWK, generateKeyPair, type JSONWebKeySet, SignJWT } from 'jose'
import {
  createResourceServer,
  introspectionVerifier,
  jwtVerifier,
  type ResourceServer,
  type TokenVerifier,
} from '../../src/server/index.ts'
import { type Listening, serveFetch } from '../../src/server/testing/mcp.test-helper.ts'

const ISSUER = 'https://as.example.com'
const RESOURCE = 'https://mcp.example.com/mcp'

async function signingKey() {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const kid = randomUUID()
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } }
}
type Key = Awaited<ReturnType<typeof signingKey>>

function mint(key: Key, claims: Record<string, unknown> = {}, kid = key.kid): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ client_id: 'c', scope: 'mcp', sub: 'u', iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience(RESOURCE)
    .sign(key.privateKey)
}

async function ask(rs: ResourceServer, token: string): Promise<Response | 'ok'> {
  const verdict = await rs.protect(
    new Request(RESOURCE, { method: 'POST', headers: { authorization: `Bearer ${token}` } }),
  )
  return verdict instanceof Response ? verdict : 'ok'
}

describe('resource server keys under hostile input', () => {
  let jwks: Listening
  let published: JSONWebKeySet = { keys: [] }
  let fetches = 0
  let current: Key
  const cooldownMs = 1500

  before(async () => {
    current = await signingKey()
    published = { keys: [current.jwk] }
    jwks = await serveFetch(() => {
      fetches++
      return Response.json(published)
    })
  })
  after(async () => {
    await jwks.close()
  })

  const server = () =>
    createResourceServer({
      resource: RESOURCE,
      authorizationServers: [ISSUER],
      // Waiting the whole cooldown: the new-key case below must see the wait, not the 1 s default's 401.
      verifier: jwtVerifier({
        issuer: ISSUER,
        jwksUri: `${jwks.url}/jwks`,
        cooldownMs,
        unknownKidWaitMs: cooldownMs,
      }),
    })

  it('refuses a token whose iat is an hour ahead, accepts one within the clock tolerance', async () => {
    const rs = server()
    const now = Math.floor(Date.now() / 1000)
    const future = await ask(rs, await mint(current, { iat: now + 3600, exp: now + 7200 }))
    assert.ok(future instanceof Response)
    assert.equal(future.status, 401)
    assert.match(future.headers.get('www-authenticate') ?? '', /error="invalid_token"/)
    assert.match(future.headers.get('www-authenticate') ?? '', /issue time is in the future/)
    assert.equal(await ask(rs, await mint(current, { iat: now + 5 })), 'ok')
  })

  it('a storm of random kids costs at most one JWKS fetch per cooldown', async () => {
    const rs = server()
    assert.equal(await ask(rs, await mint(current)), 'ok')
    // Three waves of 20 concurrent forged kids, the last one after a cooldown has passed; count fetches per wave.
    const perWave: number[] = []
    for (const pause of [0, 200, cooldownMs + 100]) {
      await new Promise((resolve) => setTimeout(resolve, pause))
      const forged = await Promise.all(Array.from({ length: 20 }, () => mint(current, {}, randomUUID())))
      const before = fetches
      const answers = await Promise.all(forged.map((token) => ask(rs, token)))
      perWave.push(fetches - before)
      for (const a of answers) {
        assert.ok(a instanceof Response)
        assert.equal(a.status, 401)
        assert.match(a.headers.get('www-authenticate') ?? '', /no key/)
      }
    }
    // 20 concurrent unknown kids share at most one fetch; the wave after a full cooldown does refetch.
    for (const spent of perWave) assert.ok(spent <= 1, `${perWave.join(', ')} JWKS fetches per wave of 20`)
    assert.equal(perWave.at(-1), 1, 'an unknown kid does refetch once the cooldown allows it')
  })

  it('a key published a moment ago is accepted, even right after a random kid started a cooldown', async () => {
    const rs = server()
    assert.equal(await ask(rs, await mint(current)), 'ok')
    // Someone sends an unknown kid: the kit refetches and a cooldown starts.
    await new Promise((resolve) => setTimeout(resolve, cooldownMs + 50))
    const forged = await ask(rs, await mint(current, {}, randomUUID()))
    assert.ok(forged instanceof Response && forged.status === 401)
    // Now the issuer publishes a new key and signs with it at once.
    const next = await signingKey()
    published = { keys: [current.jwk, next.jwk] }
    const token = await mint(next)
    let attempts = 0
    let verdict: Response | 'ok' = await ask(rs, token)
    while (verdict !== 'ok' && attempts++ < 10) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      verdict = await ask(rs, token)
    }
    assert.equal(verdict, 'ok', 'the new key was never accepted')
    assert.equal(attempts, 0, 'the first request with the new key waited for the refetch instead of a 401')
    current = next
  })
})

describe('503 answers name no host', () => {
  const servers: Listening[] = []
  after(async () => {
    for (const s of servers) await s.close()
  })

  async function unavailable(verifier: TokenVerifier, hostPort: string) {
    const rs = createResourceServer({ resource: RESOURCE, authorizationServers: [ISSUER], verifier })
    const key = await signingKey()
    const refused = await ask(rs, await mint(key))
    assert.ok(refused instanceof Response)
    assert.equal(refused.status, 503)
    const body = await refused.text()
    const [host, port] = hostPort.split(':') as [string, string]
    assert.ok(!body.includes(host), `503 body names the host: ${body}`)
    assert.ok(!body.includes(`:${port}`), `503 body names the port: ${body}`)
    assert.equal(JSON.parse(body).error, 'temporarily_unavailable')
    return body
  }

  async function failing(handler: () => Response | Promise<Response>): Promise<Listening> {
    const s = await serveFetch(handler)
    servers.push(s)
    return s
  }

  it('JWKS answering 500, streaming too much, or unreachable; discovery failing', async () => {
    const broken = await failing(() => new Response('down', { status: 500 }))
    await unavailable(jwtVerifier({ issuer: ISSUER, jwksUri: `${broken.url}/jwks` }), broken.url.slice(7))
    const flood = await failing(() => new Response('x'.repeat(300 * 1024)))
    await unavailable(jwtVerifier({ issuer: ISSUER, jwksUri: `${flood.url}/jwks` }), flood.url.slice(7))
    const closed = await failing(() => new Response('gone'))
    await closed.close()
    servers.splice(servers.indexOf(closed), 1)
    await unavailable(jwtVerifier({ issuer: ISSUER, jwksUri: `${closed.url}/jwks` }), closed.url.slice(7))
    // No jwksUri: discovery at an issuer whose metadata endpoints answer 500.
    await unavailable(jwtVerifier({ issuer: broken.url }), broken.url.slice(7))
  })

  it('introspection answering 500, or unreachable', async () => {
    const broken = await failing(() => new Response('down', { status: 500 }))
    await unavailable(
      introspectionVerifier({ endpoint: `${broken.url}/introspect`, issuer: ISSUER, clientId: 'rs' }),
      broken.url.slice(7),
    )
    const closed = await failing(() => new Response('gone'))
    await closed.close()
    servers.splice(servers.indexOf(closed), 1)
    await unavailable(
      introspectionVerifier({ endpoint: `${closed.url}/introspect`, issuer: ISSUER, clientId: 'rs' }),
      closed.url.slice(7),
    )
  })

  it('a custom verifier that puts a URL and an address in its message', async () => {
    const { VerifierUnavailableError } = await import('../../src/server/verify/verifier.ts')
    await unavailable(
      {
        async verify() {
          throw new VerifierUnavailableError(
            'cannot reach http://10.1.2.3:8443/introspect (auth.internal:8443)',
          )
        },
      },
      '10.1.2.3:8443',
    )
  })
})
