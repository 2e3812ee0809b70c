import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { testIssuer } from '../testing/keys.test-helper.ts'
import { serveFetch } from '../testing/mcp.test-helper.ts'
import { checkAlgorithms, jwtVerifier } from './jwt.ts'
import { InvalidTokenError, VerifierUnavailableError } from './verifier.ts'

const RESOURCE = 'https://mcp.example.com/mcp'

describe('jwtVerifier', () => {
  it('refuses none and HS* in the allowlist, and http issuers on public hosts', () => {
    assert.throws(() => checkAlgorithms(['ES256', 'none']), /none/)
    assert.throws(() => checkAlgorithms(['HS256']), /HS256/)
    assert.throws(() => jwtVerifier({ issuer: 'http://as.example.com' }), /https/)
  })

  it('discovers jwks_uri from the OIDC metadata of a loopback issuer', async () => {
    const as0 = await testIssuer()
    let issuer = ''
    const server = await serveFetch((r) => {
      const path = new URL(r.url).pathname
      if (path === '/.well-known/openid-configuration')
        return Response.json({ issuer, jwks_uri: `${issuer}/keys` })
      if (path === '/keys') return Response.json(as0.jwks)
      return new Response('not found', { status: 404 })
    })
    issuer = server.url
    try {
      const as = { ...as0, issuer }
      const { SignJWT } = await import('jose')
      const token = await new SignJWT({ scope: 'mcp', client_id: 'c' })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
        .setIssuer(issuer)
        .setAudience(RESOURCE)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(as.privateKey)
      const v = await jwtVerifier({ issuer }).verify(token, { resource: RESOURCE })
      assert.equal(v.issuer, issuer)
      assert.deepEqual(v.scopes, ['mcp'])
    } finally {
      await server.close()
    }
  })

  it('accepts typ at+jwt, JWT and none; refuses other types unless strict', async () => {
    const as = await testIssuer()
    const v = jwtVerifier({ issuer: as.issuer, keys: as.jwks })
    for (const typ of ['at+jwt', 'application/at+jwt', 'JWT']) {
      await v.verify(await as.mint({}, { typ }), { resource: RESOURCE })
    }
    await assert.rejects(
      v.verify(await as.mint({}, { typ: 'dpop+jwt' }), { resource: RESOURCE }),
      InvalidTokenError,
    )
    const strict = jwtVerifier({ issuer: as.issuer, keys: as.jwks, requireAtJwtType: true })
    await assert.rejects(
      strict.verify(await as.mint({}, { typ: 'JWT' }), { resource: RESOURCE }),
      InvalidTokenError,
    )
  })

  it('requires exp, and reads scp arrays', async () => {
    const as = await testIssuer()
    const v = jwtVerifier({ issuer: as.issuer, keys: as.jwks })
    const t = await v.verify(await as.mint({ scope: undefined, scp: ['a', 'b'] }), { resource: RESOURCE })
    assert.deepEqual(t.scopes, ['a', 'b'])
    const { SignJWT } = await import('jose')
    const noExp = await new SignJWT({ client_id: 'c' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(as.issuer)
      .setAudience(RESOURCE)
      .sign(as.privateKey)
    await assert.rejects(v.verify(noExp, { resource: RESOURCE }), InvalidTokenError)
  })
})

describe('jwtVerifier during a JWKS outage', () => {
  it('keeps verifying tokens with cached keys, pauses refetches, and resumes after the pause', async () => {
    const as = await testIssuer()
    let up = true
    let hits = 0
    const server = await serveFetch(() => {
      hits++
      return up ? Response.json(as.jwks) : new Response('down', { status: 500 })
    })
    try {
      const v = jwtVerifier({
        issuer: as.issuer,
        jwksUri: `${server.url}/jwks`,
        cooldownMs: 0,
        failureBackoffMs: 300,
      })
      const unknownKid = () => as.mint({}, { kid: 'rotated' })
      await v.verify(await as.mint(), { resource: RESOURCE })
      assert.equal(hits, 1)
      up = false
      await assert.rejects(v.verify(await unknownKid(), { resource: RESOURCE }), VerifierUnavailableError)
      assert.equal(hits, 2)
      // Cached keys still verify during the outage.
      await v.verify(await as.mint(), { resource: RESOURCE })
      // Refetches are paused: no request reaches the JWKS endpoint, however many arrive.
      for (let i = 0; i < 5; i++)
        await assert.rejects(v.verify(await unknownKid(), { resource: RESOURCE }), VerifierUnavailableError)
      assert.equal(hits, 2)
      up = true
      await new Promise((r) => setTimeout(r, 350))
      // The pause ended on time despite the refusals during it; the key is simply unknown now.
      await assert.rejects(v.verify(await unknownKid(), { resource: RESOURCE }), InvalidTokenError)
      assert.equal(hits, 3)
    } finally {
      await server.close()
    }
  })
})
