/**
 * The fixes real authorization servers force (issue 11): registration that never caps a step-up, prompt=consent
 * for OpenID providers, provider-specific parameters, the resource policy and its fallback, user-given endpoints,
 * step-up on cached discovery, and token responses that are not JSON tokens. Fake fetch; real sockets are in
 * test/e2e/client-quirks.test.ts.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isMcpOAuthError, OAuthResponseError } from '../shared/errors.ts'
import { parseScope } from '../shared/scope.ts'
import { needsConsentPrompt } from './authorization-parameters.ts'
import { AS, call, REDIRECT, world } from './authorization-world.test-helper.ts'
import { authorizedFetch } from './fetch.ts'
import { Session } from './session.ts'
import { MemoryStore, storeKey } from './stores/store.ts'

describe('registration never caps a later step-up', () => {
  it('registers with the PRM scopes the AS lists, plus offline_access, so step-up needs no new client', async () => {
    const w = world({ ceiling: true, metadata: { scopes_supported: ['offline_access', 'read', 'admin'] } })
    const f = authorizedFetch(w.options())
    assert.equal(await call(f), 200)
    assert.deepEqual(parseScope([...w.registered.values()][0]).sort(), ['admin', 'offline_access', 'read'])
    w.needs('admin')
    assert.equal(await call(f), 200)
    assert.equal(w.registered.size, 1, 'one registration for sign-in and step-up')
  })

  it('on invalid_scope with a stored DCR client, registers once more with the union and retries once', async () => {
    const w = world({ ceiling: true })
    const store = new MemoryStore()
    // A client registered by an earlier version with the first sign-in's scope only.
    w.registered.set('c1', 'read')
    await store.set(storeKey.registration(AS), {
      issuer: AS,
      client_id: 'c1',
      token_endpoint_auth_method: 'none',
      source: 'dcr',
      redirect_uris: [REDIRECT],
      scope: 'read',
      created_at: 0,
    })
    // Other sessions share the stored client: it is replaced in one write, never deleted first.
    const deleted: string[] = []
    const del = store.delete.bind(store)
    store.delete = (key, generation) => {
      deleted.push(key)
      return del(key, generation)
    }
    const f = authorizedFetch(w.options({ store }))
    assert.equal(await call(f), 200)
    assert.equal(w.registered.size, 2)
    assert.deepEqual(
      w.authorizeUrls.map((u) => u.searchParams.get('client_id')),
      ['c1', 'c2'],
    )
    assert.ok(parseScope(w.registered.get('c2')).includes('admin'))
    // Pending sign-ins are taken (deleted) once each; nothing else is.
    assert.deepEqual(
      deleted.filter((k) => !k.startsWith('pending ')),
      [],
    )
    assert.equal((await store.get<{ client_id: string }>(storeKey.registration(AS)))?.value.client_id, 'c2')
    assert.deepEqual(await store.list('pending '), [], 'no pending sign-in is left behind')
  })

  it('an invalid_scope for a scope neither the AS nor the PRM lists keeps the shared client and surfaces', async () => {
    const w = world({ ceiling: true })
    const store = new MemoryStore()
    w.registered.set('c1', 'read')
    await store.set(storeKey.registration(AS), {
      issuer: AS,
      client_id: 'c1',
      token_endpoint_auth_method: 'none',
      source: 'dcr',
      redirect_uris: [REDIRECT],
      scope: 'read',
      created_at: 0,
    })
    const s = new Session(w.options({ store, offlineAccess: false }))
    await assert.rejects(
      s.authorize({ reason: 'login', challengedScope: 'made-up' }),
      (e: unknown) => e instanceof OAuthResponseError && e.error === 'invalid_scope',
    )
    assert.equal(w.authorizeUrls.length, 1, 'no re-registration')
    assert.equal(w.registered.size, 1)
    assert.equal((await store.get<{ client_id: string }>(storeKey.registration(AS)))?.value.client_id, 'c1')
  })

  it('a client registered in this attempt is not registered again on invalid_scope: the error reaches the caller', async () => {
    const w = world({ ceiling: true, metadata: { scopes_supported: ['offline_access'] } })
    const s = new Session(w.options({ offlineAccess: false }))
    await assert.rejects(
      s.authorize({ reason: 'login', challengedScope: 'read' }),
      (e: unknown) => e instanceof OAuthResponseError && e.error === 'invalid_scope',
    )
    assert.equal(w.authorizeUrls.length, 1, 'no retry')
    assert.equal(w.registered.size, 1)
  })
})

describe('authorization parameters', () => {
  it('asks an OpenID provider for consent when requesting offline_access, and only then', async () => {
    assert.equal(
      needsConsentPrompt({ issuer: AS, scopes_supported: ['openid'] }, 'read offline_access'),
      true,
    )
    assert.equal(needsConsentPrompt({ issuer: AS, scopes_supported: ['openid'] }, 'read'), false)
    assert.equal(needsConsentPrompt({ issuer: AS, scopes_supported: ['read'] }, 'read offline_access'), false)
    const w = world()
    await new Session(w.options()).authorize({ reason: 'login', challengedScope: 'read' })
    const url = w.authorizeUrls[0]!
    assert.equal(url.searchParams.get('prompt'), 'consent')
    assert.ok(parseScope(url.searchParams.get('scope')).includes('offline_access'))
  })

  it('access_type=offline (Google) comes with prompt=consent even without offline_access', async () => {
    const w = world({ metadata: { scopes_supported: ['openid', 'read'] } })
    await new Session(w.options({ authorizationParams: { access_type: 'offline' } })).authorize({
      reason: 'login',
    })
    await new Session(w.options()).authorize({ reason: 'login' })
    assert.deepEqual(
      w.authorizeUrls.map((u) => u.searchParams.get('prompt')),
      ['consent', null],
    )
  })

  it('adds provider-specific parameters, which may replace prompt but nothing the engine controls', async () => {
    const w = world()
    const s = new Session(
      w.options({ authorizationParams: { access_type: 'offline', prompt: 'select_account' } }),
    )
    await s.authorize({ reason: 'login', challengedScope: 'read' })
    const q = w.authorizeUrls[0]!.searchParams
    assert.equal(q.get('access_type'), 'offline')
    assert.equal(q.get('prompt'), 'select_account')
    for (const name of [
      'state',
      'code_challenge',
      'redirect_uri',
      'client_id',
      'response_type',
      'resource',
    ]) {
      assert.throws(
        () => new Session(w.options({ authorizationParams: { [name]: 'x' } })),
        (e: unknown) => isMcpOAuthError(e, 'protected_authorization_parameter'),
        name,
      )
    }
  })
})

describe('discovery for step-up and user-given endpoints', () => {
  it('step-up reuses the cached discovery: no metadata request between the 403 and the new sign-in', async () => {
    const w = world()
    const f = authorizedFetch(w.options())
    assert.equal(await call(f), 200)
    const metadataRequests = () => w.count((u) => u.includes('/.well-known/'))
    const before = metadataRequests()
    w.needs('admin')
    assert.equal(await call(f), 200)
    assert.equal(metadataRequests(), before)
    assert.equal(w.authorizeUrls.length, 2)
  })

  it('endpoints given by the user replace AS discovery; the PRM is still read', async () => {
    const w = world()
    const s = new Session(
      w.options({
        authorizationServerMetadata: {
          authorization_endpoint: `${AS}/authorize`,
          token_endpoint: `${AS}/token`,
        },
        identity: { client_name: 'x', preRegistered: { client_id: 'gh-app' } },
      }),
    )
    await s.authorize({ reason: 'login', challengedScope: 'read' })
    assert.equal(
      w.count((u) => u.includes('oauth-authorization-server')),
      0,
    )
    assert.equal(
      w.count((u) => u.includes('oauth-protected-resource')),
      1,
    )
    assert.equal(w.authorizeUrls[0]!.searchParams.get('client_id'), 'gh-app')
    // A discovery cached before the endpoints were given is not used in their place.
    const store = new MemoryStore()
    await new Session(w.options({ store })).discovery()
    const withGiven = new Session(
      w.options({
        store,
        authorizationServerMetadata: { token_endpoint: `${AS}/t2`, authorization_endpoint: `${AS}/a2` },
      }),
    )
    assert.equal((await withGiven.discovery()).metadata.token_endpoint, `${AS}/t2`)
    assert.notEqual((await new Session(w.options({ store })).discovery()).metadata.token_endpoint, `${AS}/t2`)
    const bad = new Session(
      w.options({ authorizationServerMetadata: { token_endpoint: 'http://as.example/token' } }),
    )
    await assert.rejects(bad.discovery({ fresh: true }), (e: unknown) =>
      isMcpOAuthError(e, 'insecure_endpoint'),
    )
  })
})

describe('token responses that are not tokens', () => {
  it('a form-encoded 200 is a typed error; an error in a 200 body is the OAuth error it names', async () => {
    const form = world({
      tokenAnswer: new Response('access_token=gho_x&token_type=bearer', {
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      }),
    })
    await assert.rejects(new Session(form.options()).authorize({ reason: 'login' }), (e: unknown) =>
      isMcpOAuthError(e, 'token_response_not_json'),
    )
    const accept = form.calls.find((c) => c.url === `${AS}/token`)!.headers.get('accept')
    assert.equal(accept, 'application/json')
    const err = world({
      tokenAnswer: Response.json({ error: 'bad_verification_code', error_description: 'expired' }),
    })
    await assert.rejects(
      new Session(err.options()).authorize({ reason: 'login' }),
      (e: unknown) =>
        e instanceof OAuthResponseError && e.error === 'bad_verification_code' && e.status === 200,
    )
  })
})
