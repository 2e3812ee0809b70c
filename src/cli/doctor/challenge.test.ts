import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkChallenge } from './challenge.ts'
import type { Exchange } from './network.ts'

const S = 'https://mcp.example.com/mcp'
const ex = (status: number, headers: Record<string, string> = {}): Exchange => ({
  url: S,
  method: 'POST',
  status,
  headers,
})
const byId = (checks: { id: string; status: string }[], id: string) => checks.find((c) => c.id === id)?.status

describe('checkChallenge', () => {
  it('passes a full challenge and returns it', () => {
    const r = checkChallenge(
      S,
      ex(401, {
        'www-authenticate':
          'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="a b"',
      }),
    )
    assert.equal(r.protected, true)
    assert.equal(r.challenge?.scope, 'a b')
    assert.deepEqual(
      r.checks.map((c) => c.status),
      ['pass', 'pass', 'pass', 'pass'],
    )
  })

  it('warns on a missing resource_metadata and scope, and on error="invalid_token" without a token', () => {
    const r = checkChallenge(S, ex(401, { 'www-authenticate': 'Bearer error="invalid_token"' }))
    assert.equal(byId(r.checks, 'challenge.resource_metadata'), 'warn')
    assert.equal(byId(r.checks, 'challenge.scope'), 'warn')
    assert.equal(byId(r.checks, 'challenge.error'), 'warn')
    assert.ok(r.checks.every((c) => c.status === 'pass' || c.fix))
  })

  it('fails a 401 without WWW-Authenticate, a malformed header, a non-Bearer scheme and a relative URL', () => {
    assert.equal(byId(checkChallenge(S, ex(401)).checks, 'challenge.header'), 'fail')
    assert.equal(
      byId(checkChallenge(S, ex(401, { 'www-authenticate': 'Bearer realm="x' })).checks, 'challenge.header'),
      'fail',
    )
    assert.equal(
      byId(checkChallenge(S, ex(401, { 'www-authenticate': 'Basic realm="x"' })).checks, 'challenge.header'),
      'fail',
    )
    const rel = checkChallenge(S, ex(401, { 'www-authenticate': 'Bearer resource_metadata="/prm"' }))
    assert.equal(byId(rel.checks, 'challenge.resource_metadata'), 'fail')
  })

  it('judges the status: 200 warns, 403 and redirects fail', () => {
    assert.equal(byId(checkChallenge(S, ex(200)).checks, 'challenge.status'), 'warn')
    const forbidden = checkChallenge(S, ex(403)).checks[0]!
    assert.equal(forbidden.status, 'fail')
    assert.match(forbidden.fix ?? '', /401 \(not 403\)/)
    assert.equal(byId(checkChallenge(S, ex(307, { location: `${S}/` })).checks, 'challenge.status'), 'fail')
  })

  it('accepts a DPoP-only challenge', () => {
    const r = checkChallenge(
      S,
      ex(401, { 'www-authenticate': 'DPoP algs="ES256", resource_metadata="https://x.example/p"' }),
    )
    assert.equal(r.challenge?.scheme, 'dpop')
    assert.equal(byId(r.checks, 'challenge.resource_metadata'), 'pass')
  })
})
