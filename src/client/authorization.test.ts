import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isMcpOAuthError } from '../shared/errors.ts'
import { buildAuthorizationRequest, selectScope, validateCallback } from './authorization.ts'
import type { ClientInfo } from './registration.ts'

const client: ClientInfo = {
  issuer: 'https://as.example',
  client_id: 'c',
  token_endpoint_auth_method: 'none',
  source: 'dcr',
  created_at: 0,
}

describe('selectScope', () => {
  it('follows challenge → PRM → omit, adds offline_access only when the AS lists it, keeps granted on step-up', () => {
    assert.equal(selectScope({ challenged: 'a b', prmScopes: ['x'] }), 'a b')
    assert.equal(selectScope({ prmScopes: ['x', 'y'] }), 'x y')
    assert.equal(selectScope({}), undefined)
    assert.equal(selectScope({ challenged: 'a', asScopes: ['a', 'offline_access'] }), 'a offline_access')
    assert.equal(selectScope({ challenged: 'a', asScopes: ['a'] }), 'a')
    assert.equal(selectScope({ challenged: 'admin', granted: 'read write' }), 'read write admin')
    assert.equal(selectScope({ configured: 'only', challenged: 'a' }), 'only')
  })
})

describe('buildAuthorizationRequest', () => {
  it('sends PKCE S256, state, resource and refuses an AS without S256', async () => {
    const metadata = {
      issuer: 'https://as.example',
      authorization_endpoint: 'https://as.example/authorize',
      code_challenge_methods_supported: ['S256'],
    }
    const p = await buildAuthorizationRequest({
      metadata,
      client,
      redirectUri: 'http://127.0.0.1:1/cb',
      resource: 'https://mcp.example/mcp',
      scope: 'a',
    })
    const q = p.url.searchParams
    assert.equal(q.get('code_challenge_method'), 'S256')
    assert.equal(q.get('resource'), 'https://mcp.example/mcp')
    assert.equal(q.get('state'), p.state)
    assert.ok((q.get('code_challenge') ?? '').length >= 43)
    for (const methods of [['plain'], undefined]) {
      await assert.rejects(
        buildAuthorizationRequest({
          metadata: { ...metadata, code_challenge_methods_supported: methods },
          client,
          redirectUri: 'http://127.0.0.1:1/cb',
          resource: 'https://mcp.example',
          scope: undefined,
        }),
        (e: unknown) => isMcpOAuthError(e, 'pkce_not_supported'),
      )
    }
  })
})

describe('validateCallback: the MCP iss table', () => {
  const pending = (supported: boolean) => ({
    url: new URL('https://as.example/authorize'),
    state: 's1',
    codeVerifier: 'v',
    redirectUri: 'http://127.0.0.1/cb',
    expectedIssuer: 'https://as.example',
    issParameterSupported: supported,
    resource: 'https://mcp.example',
    scope: undefined,
  })
  const cb = (q: Record<string, string>) => new URL(`http://127.0.0.1/cb?${new URLSearchParams(q)}`)
  const code = (f: () => unknown) => {
    try {
      f()
      return 'ok'
    } catch (e) {
      return isMcpOAuthError(e) ? e.code : String(e)
    }
  }
  it('supported + present: compare; supported + absent: reject; unsupported + present: compare; unsupported + absent: proceed', () => {
    assert.equal(
      code(() =>
        validateCallback(pending(true), client, cb({ code: 'c', state: 's1', iss: 'https://as.example' })),
      ),
      'ok',
    )
    assert.equal(
      code(() => validateCallback(pending(true), client, cb({ code: 'c', state: 's1' }))),
      'iss_missing',
    )
    assert.equal(
      code(() => validateCallback(pending(false), client, cb({ code: 'c', state: 's1', iss: 'https://x' }))),
      'iss_mismatch',
    )
    assert.equal(
      code(() => validateCallback(pending(false), client, cb({ code: 'c', state: 's1' }))),
      'ok',
    )
  })
  it('never normalizes: a trailing slash or upper-case host is a mismatch', () => {
    for (const iss of ['https://as.example/', 'https://AS.example', 'https://as.example:443']) {
      assert.equal(
        code(() => validateCallback(pending(true), client, cb({ code: 'c', state: 's1', iss }))),
        'iss_mismatch',
      )
    }
  })
  it('checks iss before acting on an error response, then state', () => {
    assert.equal(
      code(() =>
        validateCallback(
          pending(true),
          client,
          cb({ error: 'access_denied', state: 's1', iss: 'https://evil' }),
        ),
      ),
      'iss_mismatch',
    )
    assert.equal(
      code(() =>
        validateCallback(
          pending(true),
          client,
          cb({ error: 'access_denied', state: 's1', iss: 'https://as.example' }),
        ),
      ),
      'oauth_access_denied',
    )
    assert.equal(
      code(() => validateCallback(pending(false), client, cb({ code: 'c', state: 'other' }))),
      'state_mismatch',
    )
  })
})
