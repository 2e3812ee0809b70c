import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isNativeRedirectUri, prepareRegistration, redirectUriProblem } from './registration.ts'

const policy = { defaultScopes: ['tools:read', 'admin'] }

test('redirect URIs: loopback http, https and reverse-domain private-use schemes pass; the rest is named', () => {
  for (const ok of [
    'http://127.0.0.1:8080/cb',
    'http://localhost/cb',
    'http://[::1]:9/cb',
    'https://app.example/cb',
    'com.example.app:/cb',
  ]) {
    assert.equal(redirectUriProblem(ok), undefined, ok)
  }
  assert.match(redirectUriProblem('javascript:alert(1)')!, /forbidden scheme/)
  assert.match(redirectUriProblem('data:text/html,x')!, /forbidden scheme/)
  assert.match(redirectUriProblem('http://evil.example/cb')!, /non-loopback/)
  assert.match(redirectUriProblem('https://app.example/cb#frag')!, /fragment/)
  assert.match(redirectUriProblem('myapp:/cb')!, /reverse domain/)
  assert.match(redirectUriProblem('not a url')!, /absolute URL/)
  assert.match(redirectUriProblem(42)!, /at most 2000/)
})

test('native application type for loopback and private-use redirect URIs only', () => {
  assert.equal(isNativeRedirectUri('http://127.0.0.1/cb'), true)
  assert.equal(isNativeRedirectUri('com.example.app:/cb'), true)
  assert.equal(isNativeRedirectUri('https://app.example/cb'), false)
  const native = prepareRegistration({ redirect_uris: ['http://127.0.0.1/cb'] }, policy)
  assert.ok('metadata' in native)
  assert.equal(native.metadata['application_type'], 'native')
  const web = prepareRegistration(
    { redirect_uris: ['https://app.example/cb', 'http://127.0.0.1/cb'] },
    policy,
  )
  assert.ok('metadata' in web)
  assert.equal(web.metadata['application_type'], 'web')
  const explicit = prepareRegistration(
    { redirect_uris: ['http://127.0.0.1/cb'], application_type: 'web' },
    policy,
  )
  assert.ok('metadata' in explicit)
  assert.equal(explicit.metadata['application_type'], 'web')
})

test('scopes: none registered gets the resource scopes; some registered keeps them and adds the resource scopes', () => {
  const none = prepareRegistration({ redirect_uris: ['http://127.0.0.1/cb'] }, policy)
  assert.ok('metadata' in none)
  assert.equal(none.metadata['scope'], 'tools:read admin')
  const some = prepareRegistration(
    { redirect_uris: ['http://127.0.0.1/cb'], scope: 'openid tools:read' },
    policy,
  )
  assert.ok('metadata' in some)
  assert.equal(some.metadata['scope'], 'openid tools:read admin')
})

test('code clients always get refresh_token', () => {
  const result = prepareRegistration(
    { redirect_uris: ['http://127.0.0.1/cb'], grant_types: ['authorization_code'] },
    policy,
  )
  assert.ok('metadata' in result)
  assert.deepEqual(result.metadata['grant_types'], ['authorization_code', 'refresh_token'])
})

test('malformed requests get RFC 7591 errors', () => {
  const cases: [unknown, string][] = [
    [null, 'invalid_client_metadata'],
    [[], 'invalid_client_metadata'],
    ['x', 'invalid_client_metadata'],
    [{}, 'invalid_redirect_uri'],
    [{ redirect_uris: 'http://127.0.0.1/cb' }, 'invalid_redirect_uri'],
    [{ redirect_uris: [] }, 'invalid_redirect_uri'],
    [
      { redirect_uris: Array.from({ length: 21 }, (_, i) => `http://127.0.0.1/${i}`) },
      'invalid_redirect_uri',
    ],
    [{ redirect_uris: ['http://127.0.0.1/cb'], scope: 7 }, 'invalid_client_metadata'],
    [
      { redirect_uris: ['http://127.0.0.1/cb'], grant_types: 'authorization_code' },
      'invalid_client_metadata',
    ],
  ]
  for (const [body, error] of cases) {
    const result = prepareRegistration(body, policy)
    assert.ok('error' in result, JSON.stringify(body))
    assert.equal(result.error.error, error, JSON.stringify(body))
    assert.ok(result.error.error_description.length > 0)
  }
})
