import assert from 'node:assert/strict'
import { test } from 'node:test'
import { upstreamBanner, upstreamOptions } from './upstream-options.ts'

const hintOf = (e: unknown) => (e as { hint?: string }).hint ?? ''

test('no --upstream: no upstream; an upstream flag alone is a usage error', () => {
  assert.equal(upstreamOptions({}, {}), undefined)
  assert.throws(
    () => upstreamOptions({ 'upstream-client-id': 'x' }, {}),
    (e) =>
      /--upstream-client-id needs --upstream/.test((e as Error).message) && /github\|google/.test(hintOf(e)),
  )
})

test('an issuer URL keeps meaning a plain OpenID provider; http only on loopback', () => {
  const options = upstreamOptions({ upstream: 'http://127.0.0.1:9', 'upstream-client-id': 'c' }, {})!
  assert.equal(options.preset, 'oidc')
  assert.equal(options.issuer, 'http://127.0.0.1:9')
  assert.equal(options.allowInsecureRequests, true)
  assert.throws(
    () => upstreamOptions({ upstream: 'http://idp.example.com', 'upstream-client-id': 'c' }, {}),
    /https/,
  )
  assert.throws(
    () =>
      upstreamOptions(
        { upstream: 'https://idp.example.com', 'upstream-issuer': 'https://x', 'upstream-client-id': 'c' },
        {},
      ),
    /both name the issuer/,
  )
})

test('presets: client id required, secret from the environment, the other flags carried over', () => {
  assert.throws(() => upstreamOptions({ upstream: 'github' }, {}), /--upstream needs --upstream-client-id/)
  assert.throws(
    () => upstreamOptions({ upstream: 'gitlab', 'upstream-client-id': 'c' }, {}),
    (e) => /unknown --upstream gitlab/.test((e as Error).message) && /microsoft/.test(hintOf(e)),
  )
  assert.throws(
    () => upstreamOptions({ upstream: 'microsoft', 'upstream-client-id': 'c' }, {}),
    (e) => /--upstream-tenant/.test(hintOf(e)),
  )
  const options = upstreamOptions(
    {
      upstream: 'github',
      'upstream-client-id': 'c',
      'upstream-scopes': 'read:user',
      'upstream-name': 'Acme GitHub',
      'upstream-pass-tokens': true,
      'upstream-only': true,
    },
    { MCP_OAUTH_UPSTREAM_CLIENT_SECRET: 's3cret' },
  )!
  assert.deepEqual(options, {
    preset: 'github',
    clientId: 'c',
    clientSecret: 's3cret',
    scope: 'read:user',
    name: 'Acme GitHub',
    passTokens: true,
    only: true,
    allowInsecureRequests: false,
  })
  const banner = upstreamBanner(options, 'https://as.example.com')
  assert.match(banner, /upstream github at https:\/\/github\.com\/login\/oauth\/authorize/)
  assert.match(banner, /tokens kept for the operator, password form hidden/)
  assert.match(banner, /https:\/\/as\.example\.com\/upstream\/callback/)
  assert.doesNotMatch(banner, /s3cret/)
})

test('the banner shows the issuer without credentials or query', () => {
  const options = upstreamOptions(
    {
      upstream: 'keycloak',
      'upstream-issuer': 'https://kc.example.com/realms/acme',
      'upstream-client-id': 'c',
    },
    {},
  )!
  assert.match(
    upstreamBanner(options, 'https://as.example.com'),
    /upstream keycloak at https:\/\/kc\.example\.com\/realms\/acme;/,
  )
})

test('a configuration file section goes through the same checks, with the option names', async () => {
  const { upstreamOptionsFromSection } = await import('./upstream-options.ts')
  assert.deepEqual(
    upstreamOptionsFromSection(
      { issuer: 'https://idp.example.com', clientId: 'c', clientSecret: 'from-file', name: 'SSO' },
      {},
    ),
    {
      preset: 'oidc',
      clientId: 'c',
      issuer: 'https://idp.example.com',
      clientSecret: 'from-file',
      name: 'SSO',
      allowInsecureRequests: false,
    },
  )
  assert.equal(
    upstreamOptionsFromSection(
      { preset: 'microsoft', tenant: 'organizations', clientId: 'c', passTokens: true },
      {},
    )?.passTokens,
    true,
  )
  assert.throws(
    () => upstreamOptionsFromSection({ preset: 'github', clientId: 'c', only: 'yes' }, {}),
    /upstream\.only must be true or false/,
  )
  assert.throws(
    () => upstreamOptionsFromSection({ preset: 'microsoft', clientId: 'c' }, {}),
    /needs a tenant/,
  )
  assert.equal(upstreamOptionsFromSection({}, {}), undefined)
})
