import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SignJWT } from 'jose'
import type { McpExchange } from './network.ts'
import { checkClaims, checkStepUpChallenge, readClaims } from './token.ts'

const R = 'https://mcp.example.com/mcp'
const jwt = (aud: string, scope = 'a b') =>
  new SignJWT({ scope, client_id: 'c1' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('https://auth.example.com')
    .setAudience(aud)
    .setSubject('person')
    .setExpirationTime('1h')
    .sign(new Uint8Array(32).fill(7))

describe('token checks', () => {
  it('reads claims without the subject, and passes the right audience', async () => {
    const claims = readClaims(await jwt(R))
    assert.deepEqual(Object.keys(claims ?? {}).sort(), ['aud', 'client_id', 'exp', 'iss', 'scope'])
    const checks = checkClaims(claims, R, {
      scope: 'a b',
      token_type: 'Bearer',
      expires_at: Date.now() + 3_600_000,
    })
    assert.equal(checks.find((c) => c.id === 'token.audience')?.status, 'pass')
    assert.doesNotMatch(JSON.stringify(checks), /person|eyJ/)
  })

  it('names a trailing-slash audience and an ignored resource parameter', async () => {
    const slash = checkClaims(readClaims(await jwt(`${R}/`)), R, { token_type: 'Bearer' })
    assert.equal(slash.find((c) => c.id === 'token.audience')?.diagnosis, 'trailing_slash_audience')
    const other = checkClaims(readClaims(await jwt('https://auth.example.com')), R, { token_type: 'Bearer' })
    assert.match(other.find((c) => c.id === 'token.audience')?.detail ?? '', /resource parameter was ignored/)
  })

  it('treats an opaque token as a note', () => {
    assert.equal(readClaims('opaque-token'), undefined)
    const [c] = checkClaims(undefined, R, { token_type: 'Bearer', scope: 'x' })
    assert.equal(c?.status, 'info')
  })

  it('judges a 403 challenge by error, scope and resource_metadata', () => {
    const ex = (h?: string): McpExchange => ({
      url: R,
      method: 'POST',
      status: 403,
      headers: h ? { 'www-authenticate': h } : {},
    })
    assert.equal(
      checkStepUpChallenge(
        't',
        ex('Bearer error="insufficient_scope", scope="admin", resource_metadata="https://x/p"'),
      ).status,
      'pass',
    )
    const partial = checkStepUpChallenge('t', ex('Bearer error="insufficient_scope"'))
    assert.equal(partial.status, 'warn')
    assert.match(partial.detail, /without scope, resource_metadata/)
    assert.equal(checkStepUpChallenge('t', ex()).status, 'warn')
  })
})
