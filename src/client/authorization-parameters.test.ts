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
import { isResourceRefusal, needsConsentPrompt, resourceRefusalKey } from './authorization-parameters.ts'
import { authorizedFetch } from './fetch.ts'
import { Session } from './session.ts'
import type { SessionOptions } from './session-options.ts'
import { MemoryStore, storeKey } from './stores/store.ts'
import { fakeFetch } from './testing.ts'

const MCP = 'https://mcp.example/mcp'
const AS = 'https://as.example'
const REDIRECT = 'http://127.0.0.1:1/cb'

interface WorldOptions {
  /** The AS holds a client to its registered scope (oidc-provider's default). */
  ceiling?: boolean
  /** The token endpoint refuses `resource` the way Entra does. */
  refuseResource?: boolean
  /** Extra AS metadata. */
  metadata?: Record<string, unknown>
  /** A 200 answer of the token endpoint that is not a token. */
  tokenAnswer?: Response
}

/** A fake MCP server (tools need `read`, `admin` on step-up), its PRM, and an AS; the authorizer plays /authorize. */
function world(o: WorldOptions = {}) {
  const registered = new Map<string, string | undefined>()
  const valid = new Map<string, string>()
  const authorizeUrls: URL[] = []
  let n = 0
  let need = 'read'
  const { fetch, calls } = fakeFetch({
    'https://mcp.example/.well-known/oauth-protected-resource/mcp': {
      json: { resource: MCP, authorization_servers: [AS], scopes_supported: ['read', 'admin'] },
    },
    [`${AS}/.well-known/oauth-authorization-server`]: {
      json: {
        issuer: AS,
        authorization_endpoint: `${AS}/authorize`,
        token_endpoint: `${AS}/token`,
        registration_endpoint: `${AS}/register`,
        code_challenge_methods_supported: ['S256'],
        scopes_supported: ['openid', 'offline_access', 'read', 'admin'],
        ...o.metadata,
      },
    },
    [`POST ${AS}/register`]: async (req) => {
      const body = (await req.json()) as { scope?: string; redirect_uris: string[] }
      const id = `c${registered.size + 1}`
      registered.set(id, body.scope)
      return { status: 201, json: { client_id: id, redirect_uris: body.redirect_uris, scope: body.scope } }
    },
    [`POST ${AS}/token`]: async (req) => {
      if (o.tokenAnswer) return o.tokenAnswer
      const body = new URLSearchParams(await req.text())
      if (o.refuseResource && body.has('resource')) {
        return {
          status: 400,
          json: {
            error: 'invalid_request',
            error_description:
              "AADSTS9010010: The resource parameter provided in the request doesn't match with the requested scopes.",
          },
        }
      }
      const scope =
        body.get('grant_type') === 'refresh_token' ? 'read' : body.get('code')!.replace(/^scope:/, '')
      const at = `at-${++n}`
      valid.set(at, scope)
      return {
        json: { access_token: at, token_type: 'Bearer', expires_in: 3600, refresh_token: `rt-${n}`, scope },
      }
    },
    [`POST ${MCP}`]: (req) => {
      const scope = valid.get(req.headers.get('authorization')?.replace(/^Bearer /, '') ?? '')
      if (scope === undefined) return { status: 401, headers: { 'www-authenticate': 'Bearer scope="read"' } }
      if (!parseScope(scope).includes(need))
        return {
          status: 403,
          headers: { 'www-authenticate': `Bearer error="insufficient_scope", scope="${need}"` },
        }
      return { json: { ok: true } }
    },
  })
  const authorizer = {
    redirectUri: REDIRECT,
    async authorize(url: URL, ctx: { state: string }) {
      authorizeUrls.push(url)
      const cb = new URL(REDIRECT)
      cb.searchParams.set('state', ctx.state)
      const asked = url.searchParams.get('scope') ?? ''
      const ceiling = registered.get(url.searchParams.get('client_id') ?? '')
      if (o.ceiling && !parseScope(asked).every((s) => parseScope(ceiling).includes(s))) {
        cb.searchParams.set('error', 'invalid_scope')
        cb.searchParams.set('error_description', 'requested scope is not allowed')
        return cb
      }
      cb.searchParams.set('code', `scope:${asked}`)
      return cb
    },
  }
  const options = (extra: Partial<SessionOptions> = {}): SessionOptions => ({
    serverUrl: MCP,
    fetch,
    authorizer,
    store: new MemoryStore(),
    ...extra,
  })
  return {
    calls,
    registered,
    authorizeUrls,
    options,
    needs(scope: string) {
      need = scope
    },
    count: (pred: (url: string, method: string) => boolean) =>
      calls.filter((c) => pred(c.url, c.method)).length,
  }
}

const call = (f: (u: string, i: RequestInit) => Promise<Response>) =>
  f(MCP, { method: 'POST', body: '{}' }).then((r) => r.status)

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
    const f = authorizedFetch(w.options({ store }))
    assert.equal(await call(f), 200)
    assert.equal(w.registered.size, 2)
    assert.deepEqual(
      w.authorizeUrls.map((u) => u.searchParams.get('client_id')),
      ['c1', 'c2'],
    )
    assert.ok(parseScope(w.registered.get('c2')).includes('admin'))
  })

  it('a second invalid_scope is not retried: the error reaches the caller', async () => {
    const w = world({ ceiling: true, metadata: { scopes_supported: ['offline_access'] } })
    const s = new Session(w.options({ offlineAccess: false }))
    await assert.rejects(
      s.authorize({ reason: 'login', challengedScope: 'read' }),
      (e: unknown) => e instanceof OAuthResponseError && e.error === 'invalid_scope',
    )
    assert.equal(w.authorizeUrls.length, 2, 'one retry after registering again')
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

describe('the resource parameter', () => {
  it('omit sends no resource; { value } sends that value', async () => {
    const w = world()
    await new Session(w.options({ resourceParameter: 'omit' })).authorize({ reason: 'login' })
    await new Session(w.options({ resourceParameter: { value: 'api://x' } })).authorize({ reason: 'login' })
    const tokenBodies = w.calls.filter((c) => c.url === `${AS}/token`).map((c) => new URLSearchParams(c.body))
    assert.equal(w.authorizeUrls[0]!.searchParams.has('resource'), false)
    assert.equal(tokenBodies[0]!.has('resource'), false)
    assert.equal(w.authorizeUrls[1]!.searchParams.get('resource'), 'api://x')
    assert.equal(tokenBodies[1]!.get('resource'), 'api://x')
  })

  it('an AS refusing resource gets one retry without it, remembered for the issuer, logged and traced', async () => {
    const w = world({ refuseResource: true })
    const store = new MemoryStore()
    const logs: string[] = []
    const s = new Session(w.options({ store, log: (m) => logs.push(m) }))
    const t = await s.authorize({ reason: 'login', challengedScope: 'read' })
    assert.ok(t.access_token)
    assert.deepEqual(
      w.authorizeUrls.map((u) => u.searchParams.has('resource')),
      [true, false],
    )
    assert.ok(await store.get(resourceRefusalKey(AS)))
    assert.ok(logs.some((l) => /refused the resource parameter/.test(l)))
    assert.ok(s.trace.steps.some((x) => x.code === 'resource_parameter_refused'))
    // A refresh and the next sign-in leave it out from the start.
    await s.refresh(t)
    const refresh = w.calls.filter((c) => c.url === `${AS}/token`).at(-1)!
    assert.equal(new URLSearchParams(refresh.body).has('resource'), false)
    await new Session(w.options({ store })).authorize({ reason: 'login', challengedScope: 'read' })
    assert.equal(w.authorizeUrls.length, 3, 'the next sign-in needs no retry')
  })

  it('recognizes Entra and RFC 8707 refusals, not other errors', () => {
    assert.equal(isResourceRefusal(new OAuthResponseError('invalid_target', undefined)), true)
    assert.equal(isResourceRefusal(new OAuthResponseError('invalid_request', 'AADSTS9010010: …')), true)
    assert.equal(isResourceRefusal(new OAuthResponseError('invalid_request', 'code expired')), false)
    assert.equal(isResourceRefusal(new OAuthResponseError('invalid_grant', 'resource')), false)
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
