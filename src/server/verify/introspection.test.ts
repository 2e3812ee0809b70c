import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createResourceServer } from '../protect.ts'
import { introspectionVerifier } from './introspection.ts'
import { InvalidTokenError, VerifierUnavailableError } from './verifier.ts'

const RESOURCE = 'https://mcp.example.com/mcp'
const ISSUER = 'https://as.example.com'

function endpoint(answer: (token: string) => unknown, status = 200) {
  const calls: { token: string; authorization: string | null }[] = []
  const fetchImpl = (async (_url: string, init: RequestInit) => {
    const token = new URLSearchParams(String(init.body)).get('token') ?? ''
    calls.push({ token, authorization: new Headers(init.headers).get('authorization') })
    return new Response(JSON.stringify(answer(token)), {
      status,
      headers: { 'content-type': 'application/json' },
    })
  }) as typeof fetch
  return { calls, fetchImpl }
}

const active = (extra: Record<string, unknown> = {}) => ({
  active: true,
  iss: ISSUER,
  aud: RESOURCE,
  scope: 'mcp files:read',
  client_id: 'c1',
  sub: 'u1',
  exp: Math.floor(Date.now() / 1000) + 300,
  ...extra,
})

describe('introspectionVerifier', () => {
  it('verifies an active token with client_secret_basic and caches the answer', async () => {
    const { calls, fetchImpl } = endpoint(() => active())
    const v = introspectionVerifier({
      endpoint: `${ISSUER}/introspect`,
      issuer: ISSUER,
      clientId: 'rs',
      clientSecret: 's3cret',
      fetch: fetchImpl,
    })
    const t = await v.verify('opaque-1', { resource: RESOURCE })
    assert.deepEqual(t.scopes, ['mcp', 'files:read'])
    assert.equal(t.clientId, 'c1')
    assert.equal(t.subject, 'u1')
    await v.verify('opaque-1', { resource: RESOURCE })
    assert.equal(calls.length, 1, 'second check served from the cache')
    assert.equal(calls[0]!.authorization, `Basic ${Buffer.from('rs:s3cret').toString('base64')}`)
  })

  it('refuses inactive, foreign-audience, audience-less, foreign-issuer and expired answers', async () => {
    const cases: [unknown, RegExp][] = [
      [{ active: false }, /not active/],
      [active({ aud: 'https://other.example/mcp' }), /audience/],
      [active({ aud: undefined }), /no audience/],
      [active({ iss: 'https://evil.example' }), /issuer/],
      [active({ exp: Math.floor(Date.now() / 1000) - 5 }), /expired/],
    ]
    for (const [answer, message] of cases) {
      const { fetchImpl } = endpoint(() => answer)
      const v = introspectionVerifier({ endpoint: `${ISSUER}/i`, issuer: ISSUER, fetch: fetchImpl })
      await assert.rejects(v.verify('t', { resource: RESOURCE }), (e: unknown) => {
        assert.ok(e instanceof InvalidTokenError)
        assert.match(e.message, message)
        return true
      })
    }
  })

  it('caches a negative answer briefly so a bad token cannot hammer the endpoint', async () => {
    const { calls, fetchImpl } = endpoint(() => ({ active: false }))
    const v = introspectionVerifier({ endpoint: `${ISSUER}/i`, issuer: ISSUER, fetch: fetchImpl })
    for (let i = 0; i < 5; i++) await assert.rejects(v.verify('bad', { resource: RESOURCE }))
    assert.equal(calls.length, 1)
  })

  it('makes a broken endpoint a 503, not a 401', async () => {
    const { fetchImpl } = endpoint(() => 'nope', 500)
    const v = introspectionVerifier({ endpoint: `${ISSUER}/i`, issuer: ISSUER, fetch: fetchImpl })
    await assert.rejects(v.verify('t', { resource: RESOURCE }), VerifierUnavailableError)
    const rs = createResourceServer({ resource: RESOURCE, authorizationServers: [ISSUER], verifier: v })
    const r = await rs.protect(new Request(RESOURCE, { headers: { authorization: 'Bearer t2' } }))
    assert.ok(r instanceof Response)
    assert.equal(r.status, 503)
  })

  it('refuses an http:// endpoint on a non-loopback host', () => {
    assert.throws(
      () => introspectionVerifier({ endpoint: 'http://as.example.com/i', issuer: ISSUER }),
      /https/,
    )
  })
})

describe('introspectionVerifier during an outage', () => {
  it('pauses calls after a failure while cached answers keep working', async () => {
    let down = false
    let calls = 0
    const fetchImpl = (async () => {
      calls++
      return down ? new Response('down', { status: 502 }) : Response.json(active())
    }) as unknown as typeof fetch
    const v = introspectionVerifier({ endpoint: `${ISSUER}/i`, issuer: ISSUER, fetch: fetchImpl })
    await v.verify('known', { resource: RESOURCE })
    down = true
    await assert.rejects(v.verify('new-1', { resource: RESOURCE }), VerifierUnavailableError)
    const after = calls
    for (let i = 0; i < 5; i++)
      await assert.rejects(v.verify(`new-${i + 2}`, { resource: RESOURCE }), VerifierUnavailableError)
    assert.equal(calls, after, 'no calls during the pause')
    await v.verify('known', { resource: RESOURCE })
  })
})
