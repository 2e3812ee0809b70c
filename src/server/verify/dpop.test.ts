import assert from 'node:assert/strict'
import { createHash, randomUUID } from 'node:crypto'
import { describe, it } from 'node:test'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose'
import { parseWwwAuthenticate } from '../../shared/www-authenticate.ts'
import { createResourceServer } from '../protect.ts'
import { testIssuer } from '../testing/keys.test-helper.ts'
import { jwtVerifier } from './jwt.ts'

const RESOURCE = 'https://mcp.example.com/mcp'

async function setup(dpop = {}) {
  const as = await testIssuer()
  const key = await generateKeyPair('ES256', { extractable: true })
  const jwk = await exportJWK(key.publicKey)
  const jkt = await calculateJwkThumbprint(jwk)
  const token = await as.mint({ cnf: { jkt } })
  const rs = createResourceServer({
    resource: RESOURCE,
    authorizationServers: [as.issuer],
    verifier: jwtVerifier({ issuer: as.issuer, keys: as.jwks }),
    dpop,
  })
  const proof = (claims: Record<string, unknown> = {}, accessToken = token) =>
    new SignJWT({
      htm: 'POST',
      htu: RESOURCE,
      jti: randomUUID(),
      ath: createHash('sha256').update(accessToken).digest('base64url'),
      ...claims,
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
      .setIssuedAt(typeof claims['iat'] === 'number' ? claims['iat'] : undefined)
      .sign(key.privateKey)
  const send = (p: string | undefined, scheme = 'DPoP', url = RESOURCE) =>
    rs.protect(
      new Request(url, {
        method: 'POST',
        headers: { authorization: `${scheme} ${token}`, ...(p ? { dpop: p } : {}) },
        body: '{}',
      }),
    )
  return { as, rs, token, proof, send }
}

function refusal(v: unknown): string {
  assert.ok(v instanceof Response, 'refused')
  assert.equal(v.status, 401)
  return v.headers.get('www-authenticate') ?? ''
}

describe('DPoP at the resource server', () => {
  it('accepts a bound token with a fresh proof and hands over the thumbprint', async () => {
    const { proof, send } = await setup()
    const v = await send(await proof())
    assert.ok(!(v instanceof Response))
    assert.equal(typeof v.authInfo.extra?.['jkt'], 'string')
  })

  it('refuses a replayed proof (jti)', async () => {
    const { proof, send } = await setup()
    const p = await proof()
    assert.ok(!((await send(p)) instanceof Response))
    assert.match(refusal(await send(p)), /error="invalid_dpop_proof".*replay|replay/)
  })

  it('refuses proofs for another method, URL, token or key, stale ones and missing ones', async () => {
    const { proof, send } = await setup()
    assert.match(refusal(await send(await proof({ htm: 'GET' }))), /another HTTP method/)
    assert.match(refusal(await send(await proof({ htu: 'https://mcp.example.com/other' }))), /another URL/)
    assert.match(refusal(await send(await proof({}, 'other-token'))), /ath/)
    assert.match(
      refusal(await send(await proof({ iat: Math.floor(Date.now() / 1000) - 3600 }))),
      /too old|iat/,
    )
    assert.match(refusal(await send(undefined)), /missing/)
    const other = await generateKeyPair('ES256')
    const foreign = await new SignJWT({ htm: 'POST', htu: RESOURCE, jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(other.publicKey) })
      .setIssuedAt()
      .sign(other.privateKey)
    assert.match(refusal(await send(foreign)), /ath|cnf\.jkt/)
  })

  it('ignores the query string in htu and accepts the public URL behind a proxy', async () => {
    const { proof, send } = await setup()
    const v = await send(await proof(), 'DPoP', 'http://10.0.0.5:8080/mcp?x=1')
    assert.ok(!(v instanceof Response), 'proof for the public URL accepted on the internal one')
  })

  it('refuses a bound token sent as Bearer, and advertises DPoP in challenges when configured', async () => {
    const { send } = await setup({ algorithms: ['ES256'] })
    const h = refusal(await send(undefined, 'Bearer'))
    assert.match(h, /DPoP-bound/)
    assert.match(h, /DPoP algs="ES256"/)
  })

  it('required: refuses plain Bearer tokens', async () => {
    const { as, rs } = await setup({ required: true })
    const bearer = await as.mint()
    const v = await rs.protect(new Request(RESOURCE, { headers: { authorization: `Bearer ${bearer}` } }))
    assert.match(refusal(v), /only DPoP-bound/)
  })
})

describe('DPoP server nonces (RFC 9449 §9)', () => {
  it('asks for a nonce, accepts it, rejects a forged one, and hands out fresh ones', async () => {
    const { proof, send, rs, token } = await setup({ nonce: true })
    const first = await send(await proof())
    assert.ok(first instanceof Response)
    assert.equal(first.status, 401)
    const dpopChallenge = parseWwwAuthenticate(first.headers.get('www-authenticate')).find(
      (c) => c.scheme === 'dpop',
    )
    assert.equal(dpopChallenge?.params['error'], 'use_dpop_nonce')
    const nonce = first.headers.get('dpop-nonce')
    assert.ok(nonce, 'a DPoP-Nonce header came with the refusal')
    assert.match(first.headers.get('access-control-expose-headers') ?? '', /DPoP-Nonce/)
    assert.ok(!((await send(await proof({ nonce }))) instanceof Response), 'accepted with the nonce')
    assert.match(
      refusal(await send(await proof({ nonce: `${nonce!.split('.')[0]}.forgedforgedforgedforg` }))),
      /nonce/,
    )
    const ok = await rs.handle(
      new Request(RESOURCE, {
        method: 'POST',
        headers: { authorization: `DPoP ${token}`, dpop: await proof({ nonce }) },
        body: '{}',
      }),
      () => new Response('done'),
    )
    assert.equal(await ok.text(), 'done')
    assert.ok(ok.headers.get('dpop-nonce'), 'a fresh nonce rides on the success')
  })
})
