import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  asPrincipal,
  forPrincipal,
  IDENTITY_HEADERS,
  identityHeaders,
  principalExpiry,
  principalKey,
  principalOf,
} from './identity.ts'

const auth = {
  token: 'secret-token',
  clientId: 'client-1',
  scopes: ['mcp', 'files:read'],
  extra: { subject: 'alice' },
}

describe('identityHeaders', () => {
  it('drops the credentials and every X-MCP-OAuth-* header the client sent, then adds the verified identity', () => {
    const h = identityHeaders(
      new Headers({
        authorization: 'Bearer secret-token',
        dpop: 'proof',
        cookie: '_session=x',
        'x-mcp-oauth-subject': 'mallory',
        'X-MCP-OAuth-Scopes': 'admin',
        'x-mcp-oauth-tenant': 'other',
        'mcp-session-id': 's1',
        accept: 'application/json, text/event-stream',
      }),
      auth,
    )
    assert.equal(h.get('authorization'), null)
    assert.equal(h.get('dpop'), null)
    assert.equal(h.get('cookie'), null)
    assert.equal(h.get('x-mcp-oauth-tenant'), null)
    assert.equal(h.get(IDENTITY_HEADERS.subject), 'alice')
    assert.equal(h.get(IDENTITY_HEADERS.scopes), 'mcp files:read')
    assert.equal(h.get(IDENTITY_HEADERS.client), 'client-1')
    assert.equal(h.get('mcp-session-id'), 's1')
    assert.ok(![...h.values()].some((v) => v.includes('secret-token')))
  })

  it('percent-encodes values a header line cannot carry, so decodeURIComponent gives them back', () => {
    for (const subject of ['Zoë Ünicode', 'a%20b', 'line\r\nbreak', 'user@example.com', 'https://idp/x']) {
      const h = identityHeaders(new Headers(), { ...auth, extra: { subject } })
      const value = h.get(IDENTITY_HEADERS.subject)!
      assert.match(value, /^[\x21-\x7e]*$/)
      assert.equal(decodeURIComponent(value), subject)
    }
  })

  it('sends no subject header when the token has no subject', () => {
    const h = identityHeaders(new Headers({ 'x-mcp-oauth-subject': 'forged' }), { ...auth, extra: {} })
    assert.equal(h.get(IDENTITY_HEADERS.subject), null)
  })
})

describe('principalKey', () => {
  it('is the subject (and client) when the token names one, else the token, hashed', () => {
    const alice = principalKey(auth)
    assert.equal(principalKey({ ...auth, token: 'refreshed' }), alice)
    assert.notEqual(principalKey({ ...auth, extra: { subject: 'bob' } }), alice)
    assert.notEqual(principalKey({ ...auth, clientId: 'client-2' }), alice)
    for (const extra of [{}, { subject: '' }]) {
      const one = principalKey({ ...auth, extra })
      assert.notEqual(principalKey({ ...auth, extra, token: 'another-token' }), one)
      assert.ok(!one.includes('secret-token'))
    }
  })

  it('travels with the Request object only: no header sets it, and a copy does not carry it', () => {
    const forged = new Request('http://gw.test/mcp', { headers: { 'x-mcp-oauth-principal': 'x' } })
    assert.equal(principalOf(forged), undefined)
    const marked = forPrincipal(new Request('http://gw.test/mcp'), auth)
    assert.equal(principalOf(marked), principalKey(auth))
    assert.ok(![...marked.headers.keys()].some((k) => k.startsWith('x-mcp-oauth')))
    assert.equal(principalOf(new Request(marked)), undefined)
    // The gateway's own follow-up requests carry it only when it says so.
    assert.equal(principalOf(asPrincipal(new Request(marked), principalOf(marked))), principalKey(auth))
    assert.equal(principalOf(asPrincipal(new Request(marked), undefined)), undefined)
  })

  it("carries the token's expiry only when the token is the principal (no subject)", () => {
    const request = () => new Request('http://gw.test/mcp')
    assert.equal(principalExpiry(forPrincipal(request(), { ...auth, extra: {}, expiresAt: 1234 })), 1234)
    assert.equal(principalExpiry(forPrincipal(request(), { ...auth, extra: {} })), undefined)
    assert.equal(principalExpiry(forPrincipal(request(), { ...auth, expiresAt: 1234 })), undefined)
    const marked = forPrincipal(request(), { ...auth, extra: {}, expiresAt: 1234 })
    assert.equal(principalExpiry(asPrincipal(request(), principalOf(marked))), undefined)
  })
})
