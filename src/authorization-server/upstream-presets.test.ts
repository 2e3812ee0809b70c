import assert from 'node:assert/strict'
import { test } from 'node:test'
import { oauth2AuthorizationUrl } from './upstream-oauth2.ts'
import {
  checkEntraIdToken,
  ENTRA_CONSUMERS_TENANT,
  entraIssuer,
  PRESETS,
  parseTokenResponse,
  resolveUpstream,
  UPSTREAM_PRESETS,
} from './upstream-presets.ts'

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'

test('every preset cites its documentation and names accounts by a stable id', () => {
  for (const name of UPSTREAM_PRESETS) {
    assert.match(PRESETS[name].docs, /^https:\/\//, name)
    assert.notEqual(PRESETS[name].accountClaim, 'email', name)
  }
})

test('github: public endpoints and the github: prefix; GitHub Enterprise: its host and /api/v3', () => {
  const pub = resolveUpstream({ preset: 'github' })
  assert.equal(pub.protocol, 'oauth2')
  assert.equal(pub.endpoints?.authorization, 'https://github.com/login/oauth/authorize')
  assert.equal(pub.endpoints?.token, 'https://github.com/login/oauth/access_token')
  assert.equal(pub.endpoints?.user, 'https://api.github.com/user')
  assert.equal(pub.endpoints?.emails, 'https://api.github.com/user/emails')
  assert.equal(pub.accountPrefix, 'github')
  const ghe = resolveUpstream({ preset: 'github', baseUrl: 'https://github.example.com/' })
  assert.equal(ghe.endpoints?.authorization, 'https://github.example.com/login/oauth/authorize')
  assert.equal(ghe.endpoints?.user, 'https://github.example.com/api/v3/user')
  assert.equal(ghe.accountPrefix, 'github.example.com')
  const api = resolveUpstream({
    preset: 'github',
    baseUrl: 'github.example.com',
    apiBaseUrl: 'https://api.example.com/',
  })
  assert.equal(api.endpoints?.user, 'https://api.example.com/user')
})

test('provider URLs are https; http only on loopback with the development allowance', () => {
  assert.throws(() => resolveUpstream({ preset: 'github', baseUrl: 'http://127.0.0.1:9' }), /must use https/)
  assert.throws(
    () => resolveUpstream({ preset: 'oidc', issuer: 'http://idp.example.com', allowInsecureRequests: true }),
    /must use https/,
  )
  assert.equal(
    resolveUpstream({ preset: 'github', baseUrl: 'http://127.0.0.1:9', allowInsecureRequests: true })
      .endpoints?.token,
    'http://127.0.0.1:9/login/oauth/access_token',
  )
  assert.throws(
    () => resolveUpstream({ preset: 'oidc', issuer: 'https://idp.example.com/?x=1' }),
    /plain https URL/,
  )
})

test('google: fixed issuer and prefix', () => {
  const google = resolveUpstream({ preset: 'google' })
  assert.equal(google.issuer, 'https://accounts.google.com')
  assert.equal(google.accountPrefix, 'google')
})

test('microsoft: a tenant is required and makes the v2 issuer', () => {
  assert.throws(
    () => resolveUpstream({ preset: 'microsoft' }),
    (e: Error & { hint?: string }) => /--upstream-tenant/.test(e.hint ?? ''),
  )
  assert.equal(
    resolveUpstream({ preset: 'microsoft', tenant: TENANT }).issuer,
    `https://login.microsoftonline.com/${TENANT}/v2.0`,
  )
  assert.equal(entraIssuer('Organizations'), 'https://login.microsoftonline.com/organizations/v2.0')
  assert.equal(resolveUpstream({ preset: 'microsoft', tenant: 'common' }).accountPrefix, 'microsoft')
  assert.throws(() => entraIssuer('a/b'), /bad Microsoft tenant/)
})

test('Entra ID tokens: iss must be the {tenantid} template filled with their own tid, and fit the tenant', () => {
  const token = (tid: string, iss = `https://login.microsoftonline.com/${tid}/v2.0`) => ({ tid, iss })
  assert.equal(checkEntraIdToken(token(TENANT), 'common'), undefined)
  assert.equal(checkEntraIdToken(token(TENANT), TENANT), undefined)
  assert.equal(checkEntraIdToken(token(TENANT), 'organizations'), undefined)
  assert.match(String(checkEntraIdToken(token(ENTRA_CONSUMERS_TENANT), 'organizations')), /personal/)
  assert.equal(checkEntraIdToken(token(ENTRA_CONSUMERS_TENANT), 'consumers'), undefined)
  assert.match(String(checkEntraIdToken(token(TENANT), 'consumers')), /only personal/)
  assert.match(
    String(
      checkEntraIdToken(
        token(TENANT, `https://login.microsoftonline.com/${ENTRA_CONSUMERS_TENANT}/v2.0`),
        'common',
      ),
    ),
    /does not match its tenant/,
  )
  assert.match(String(checkEntraIdToken({ iss: 'x' }, 'common')), /no tenant/)
  assert.match(
    String(checkEntraIdToken(token('00000000-0000-0000-0000-000000000001'), TENANT)),
    /another Microsoft tenant/,
  )
})

test('keycloak, okta, auth0, oidc: the issuer is required; keycloak needs its realm; auth0 keeps its slash', () => {
  for (const preset of ['keycloak', 'okta', 'auth0', 'oidc'] as const)
    assert.throws(() => resolveUpstream({ preset }), /needs the provider's issuer/)
  assert.throws(() => resolveUpstream({ preset: 'keycloak', issuer: 'https://kc.example.com' }), /realms/)
  const kc = resolveUpstream({ preset: 'keycloak', issuer: 'https://kc.example.com/realms/acme/' })
  assert.equal(kc.issuer, 'https://kc.example.com/realms/acme')
  assert.equal(kc.accountPrefix, 'kc.example.com/realms/acme', 'two realms on one host never share accounts')
  assert.equal(
    resolveUpstream({ preset: 'auth0', issuer: 'acme.eu.auth0.com' }).issuer,
    'https://acme.eu.auth0.com/',
  )
  assert.equal(
    resolveUpstream({ preset: 'okta', issuer: 'https://acme.okta.com/oauth2/default' }).issuer,
    'https://acme.okta.com/oauth2/default',
  )
  const plain = resolveUpstream({ issuer: 'https://idp.example.com' })
  assert.equal(plain.preset, 'oidc')
  assert.equal(plain.accountPrefix, 'idp.example.com', 'the same ids as before presets existed')
  assert.equal(plain.label, 'idp.example.com')
  assert.throws(() => resolveUpstream({ preset: 'nope' as never }), /unknown upstream preset/)
})

test('token answers: JSON, GitHub form encoding, errors either way, and nothing else', () => {
  assert.deepEqual(
    parseTokenResponse('application/json; charset=utf-8', '{"access_token":"a","token_type":"bearer"}'),
    {
      access_token: 'a',
      token_type: 'bearer',
    },
  )
  assert.deepEqual(
    parseTokenResponse(
      'application/x-www-form-urlencoded; charset=utf-8',
      'access_token=gho_x&scope=read%3Auser%2Cuser%3Aemail&token_type=bearer',
    ),
    { access_token: 'gho_x', scope: 'read:user,user:email', token_type: 'bearer' },
  )
  assert.equal(parseTokenResponse('', 'error=bad_verification_code')['error'], 'bad_verification_code')
  assert.throws(() => parseTokenResponse('application/json', '[1]'), /not a JSON object/)
  assert.throws(() => parseTokenResponse('text/html', '<html>'), /unexpected content type text\/html/)
})

test('the provider authorization URL carries PKCE S256 and state; extra parameters cannot replace them', () => {
  const url = oauth2AuthorizationUrl(resolveUpstream({ preset: 'github' }).endpoints!, {
    clientId: 'id',
    redirectUri: 'https://as.example.com/upstream/callback',
    scope: 'read:user user:email',
    state: 's',
    codeChallenge: 'c',
    extra: { state: 'forged', allow_signup: 'false' },
  })
  assert.equal(url.origin + url.pathname, 'https://github.com/login/oauth/authorize')
  assert.equal(url.searchParams.get('state'), 's')
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256')
  assert.equal(url.searchParams.get('code_challenge'), 'c')
  assert.equal(url.searchParams.get('allow_signup'), 'false')
  assert.equal(url.searchParams.get('scope'), 'read:user user:email')
})

test('authorizationParams may not replace what the login sets itself', async () => {
  const { createUpstreamLogin } = await import('./upstream.ts')
  const { createSqliteStorage } = await import('./adapters/sqlite.ts')
  const { createSealer, generateStorageKey } = await import('./adapters/sealing.ts')
  const storage = await createSqliteStorage(':memory:', { sealer: createSealer(generateStorageKey()) })
  try {
    assert.throws(
      () =>
        createUpstreamLogin(
          { preset: 'google', clientId: 'c', authorizationParams: { nonce: 'fixed' } },
          'https://as.example.com',
          storage,
        ),
      /may not set nonce/,
    )
    const login = createUpstreamLogin(
      { preset: 'github', clientId: 'c', authorizationParams: { allow_signup: 'false' } },
      'https://as.example.com',
      storage,
    )
    const url = await login.start('uid-1')
    assert.equal(url.searchParams.get('allow_signup'), 'false')
    assert.equal(url.searchParams.get('redirect_uri'), 'https://as.example.com/upstream/callback')
    assert.equal(login.name, 'GitHub')
  } finally {
    await storage.close()
  }
})
