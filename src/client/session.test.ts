import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { authorizedFetch } from './fetch.ts'
import { Session, type SessionRecord } from './session.ts'
import { expiringSoon } from './session-options.ts'
import { MemoryStore, storeKey } from './stores/store.ts'
import { fakeFetch } from './testing.ts'

const MCP = 'https://mcp.example/mcp'
const AS = 'https://as.example'

function world(opts: { rotate?: boolean; requiredScope?: string } = {}) {
  let counter = 0
  const valid = new Map<string, string>() // access token → scope
  const refreshTokens = new Set(['rt-0'])
  let refreshCalls = 0
  const routes = {
    [`${'https://mcp.example'}/.well-known/oauth-protected-resource/mcp`]: {
      json: { resource: MCP, authorization_servers: [AS], scopes_supported: ['read'] },
    },
    [`${AS}/.well-known/oauth-authorization-server`]: {
      json: {
        issuer: AS,
        authorization_endpoint: `${AS}/authorize`,
        token_endpoint: `${AS}/token`,
        registration_endpoint: `${AS}/register`,
        revocation_endpoint: `${AS}/revoke`,
        code_challenge_methods_supported: ['S256'],
      },
    },
    [`POST ${AS}/register`]: {
      status: 201,
      json: { client_id: 'c1', redirect_uris: ['http://127.0.0.1:1/cb'] },
    },
    [`POST ${AS}/token`]: async (req: Request) => {
      const body = new URLSearchParams(await req.text())
      if (body.get('grant_type') === 'refresh_token') {
        refreshCalls++
        const rt = body.get('refresh_token')!
        if (!refreshTokens.has(rt)) return { status: 400, json: { error: 'invalid_grant' } }
        if (opts.rotate) refreshTokens.delete(rt)
      }
      const at = `at-${++counter}`
      const code = body.get('code')
      const scope = code?.startsWith('scope:') ? code.slice(6) : (body.get('scope') ?? 'read')
      valid.set(at, scope)
      const rt = `rt-${counter}`
      refreshTokens.add(rt)
      return { json: { access_token: at, token_type: 'Bearer', expires_in: 3600, refresh_token: rt, scope } }
    },
    [`POST ${AS}/revoke`]: { status: 200 },
    [`POST ${MCP}`]: (req: Request) => {
      const token = req.headers.get('authorization')?.replace(/^Bearer /, '') ?? ''
      const scope = valid.get(token)
      if (scope === undefined) {
        return {
          status: 401,
          headers: {
            'www-authenticate':
              'Bearer resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp"',
          },
        }
      }
      if (opts.requiredScope && !scope.split(' ').includes(opts.requiredScope)) {
        return {
          status: 403,
          headers: { 'www-authenticate': `Bearer error="insufficient_scope", scope="${opts.requiredScope}"` },
        }
      }
      return { json: { ok: true } }
    },
  }
  const f = fakeFetch(routes)
  return { ...f, valid, refreshTokens, refreshCount: () => refreshCalls }
}

const authorizer = {
  redirectUri: 'http://127.0.0.1:1/cb',
  prompts: 0,
  async authorize(url: URL, ctx: { state: string }) {
    this.prompts++
    const cb = new URL('http://127.0.0.1:1/cb')
    cb.searchParams.set('code', `scope:${url.searchParams.get('scope')}`)
    cb.searchParams.set('state', ctx.state)
    return cb
  },
}

async function seed(store: MemoryStore, tokens: Record<string, unknown>) {
  const key = storeKey.session(MCP, AS, 'c1')
  const record: SessionRecord = {
    server: MCP,
    resource: MCP,
    issuer: AS,
    client_id: 'c1',
    tokens: { access_token: 'old', token_type: 'Bearer', issued_at: Date.now() - 3_600_000, ...tokens },
    updated_at: Date.now(),
  }
  await store.set(key, record)
  await store.set(storeKey.current(MCP), { key })
  await store.set(storeKey.registration(AS), {
    issuer: AS,
    client_id: 'c1',
    token_endpoint_auth_method: 'none',
    source: 'dcr',
    redirect_uris: ['http://127.0.0.1:1/cb'],
    created_at: 0,
  })
}

describe('Session', () => {
  it('signs in on the first 401, then reuses tokens without discovery', async () => {
    const w = world()
    const a = { ...authorizer, prompts: 0 }
    const f = authorizedFetch({ serverUrl: MCP, fetch: w.fetch, authorizer: a, store: new MemoryStore() })
    assert.equal((await f(MCP, { method: 'POST', body: '{}' })).status, 200)
    const before = w.calls.length
    assert.equal((await f(MCP, { method: 'POST', body: '{}' })).status, 200)
    assert.equal(w.calls.length - before, 1, 'second call is just the MCP request')
    assert.equal(a.prompts, 1)
  })

  it('warm start: stored tokens and discovery mean no discovery request before the first MCP call', async () => {
    const w = world()
    const store = new MemoryStore()
    const first = authorizedFetch({ serverUrl: MCP, fetch: w.fetch, authorizer, store })
    await first(MCP, { method: 'POST', body: '{}' })
    w.calls.length = 0
    const warm = authorizedFetch({ serverUrl: MCP, fetch: w.fetch, authorizer, store })
    assert.equal((await warm(MCP, { method: 'POST', body: '{}' })).status, 200)
    assert.deepEqual(
      w.calls.map((c) => c.url),
      [MCP],
    )
  })

  it('refreshes an expiring token once for many concurrent callers (single flight)', async () => {
    const w = world({ rotate: true })
    const store = new MemoryStore()
    await seed(store, { refresh_token: 'rt-0', expires_at: Date.now() + 1000 })
    const f = authorizedFetch({ serverUrl: MCP, fetch: w.fetch, authorizer, store })
    const results = await Promise.all(Array.from({ length: 8 }, () => f(MCP, { method: 'POST', body: '{}' })))
    assert.ok(results.every((r) => r.status === 200))
    assert.equal(w.refreshCount(), 1)
  })

  it('on invalid_grant, uses newer tokens another process saved instead of signing in', async () => {
    const w = world({ rotate: true })
    const store = new MemoryStore()
    await seed(store, { refresh_token: 'rt-gone', expires_at: Date.now() + 1000 })
    const s = new Session({ serverUrl: MCP, fetch: w.fetch, store })
    const stale = await s.load()
    // Another process refreshes and saves meanwhile.
    const key = storeKey.session(MCP, AS, 'c1')
    const cur = await store.get<SessionRecord>(key)
    w.valid.set('fresh', 'read')
    await store.set(key, {
      ...cur!.value,
      tokens: { ...cur!.value.tokens, access_token: 'fresh', expires_at: Date.now() + 3_600_000 },
    })
    const t = await s.refresh(stale!)
    assert.equal(t.access_token, 'fresh')
  })

  it('steps up on 403 insufficient_scope with the union of scopes, never by refresh, and stops after the cap', async () => {
    const w = world({ requiredScope: 'admin' })
    const a = { ...authorizer, prompts: 0 }
    const f = authorizedFetch({ serverUrl: MCP, fetch: w.fetch, authorizer: a, store: new MemoryStore() })
    assert.equal((await f(MCP, { method: 'POST', body: '{}' })).status, 200)
    const scopes = w.calls
      .filter((c) => c.url === `${AS}/token`)
      .map((c) => new URLSearchParams(c.body).get('code'))
    assert.deepEqual(scopes, ['scope:read', 'scope:read admin'])
    assert.equal(w.refreshCount(), 0)
    assert.equal(a.prompts, 2)
  })

  it('gives up step-up after the retry cap when the AS never grants the scope', async () => {
    const w = world({ requiredScope: 'admin' })
    const stingy = {
      ...authorizer,
      prompts: 0,
      async authorize(_url: URL, ctx: { state: string }) {
        this.prompts++
        return new URL(`http://127.0.0.1:1/cb?code=scope:read&state=${ctx.state}`)
      },
    }
    const f = authorizedFetch({
      serverUrl: MCP,
      fetch: w.fetch,
      authorizer: stingy,
      store: new MemoryStore(),
    })
    assert.equal((await f(MCP, { method: 'POST', body: '{}' })).status, 403)
    assert.ok(stingy.prompts <= 3, `prompted ${stingy.prompts} times`)
  })

  it('logout revokes and forgets the tokens but keeps the client registration', async () => {
    const w = world()
    const store = new MemoryStore()
    const f = authorizedFetch({ serverUrl: MCP, fetch: w.fetch, authorizer, store })
    await f(MCP, { method: 'POST', body: '{}' })
    const status = await f.session.status()
    assert.equal(status.signed_in, true)
    assert.ok(!JSON.stringify(status).includes('at-'), 'status never shows a token')
    assert.deepEqual(await f.session.logout(), {
      revoked: true,
      signed_in: true,
      refresh_token_revoked: true,
      access_token_revoked: true,
    })
    assert.equal(w.calls.filter((c) => c.url === `${AS}/revoke`).length, 2)
    assert.equal((await f.session.status()).signed_in, false)
    assert.ok(await store.get(storeKey.registration(AS)))
  })

  it('reads a store written before accounts as the default account; a named account is separate', async () => {
    const store = new MemoryStore()
    // The keys of a store from before accounts existed, written literally.
    const key = `session ${MCP} ${AS} c1`
    const record: SessionRecord = {
      server: MCP,
      resource: MCP,
      issuer: AS,
      client_id: 'c1',
      tokens: { access_token: 'old-at', token_type: 'bearer', issued_at: Date.now() },
      updated_at: Date.now(),
    }
    await store.set(key, record)
    await store.set(`current ${MCP}`, { key })
    assert.equal((await new Session({ serverUrl: MCP, store }).load())?.access_token, 'old-at')
    assert.equal(await new Session({ serverUrl: MCP, store, account: 'work' }).load(), undefined)
    assert.equal(storeKey.current(MCP), `current ${MCP}`)
    assert.equal(storeKey.current(MCP, 'work'), `current ${MCP} account=work`)
    assert.throws(() => new Session({ serverUrl: MCP, store, account: 'a b' }), /bad account name/)
  })

  it('expiringSoon uses 60 s or a fifth of the lifetime', () => {
    const now = Date.now()
    assert.equal(
      expiringSoon({ access_token: '', token_type: 'bearer', issued_at: now, expires_at: now + 5000 }, now),
      false,
    )
    assert.equal(
      expiringSoon(
        { access_token: '', token_type: 'bearer', issued_at: now, expires_at: now + 5000 },
        now + 4100,
      ),
      true,
    )
    assert.equal(
      expiringSoon(
        { access_token: '', token_type: 'bearer', issued_at: now, expires_at: now + 3_600_000 },
        now + 3_550_000,
      ),
      true,
    )
  })
})

describe('authorizedFetch boundaries', () => {
  it('never sends the token to another origin', async () => {
    const w = world()
    const seen: { url: string; auth: string | null }[] = []
    const spy = async (input: string | URL | Request, init?: RequestInit) => {
      const r = new Request(input, init)
      seen.push({ url: r.url, auth: r.headers.get('authorization') })
      if (r.url.startsWith('https://elsewhere.example')) return new Response('ok')
      return w.fetch(input, init)
    }
    const f = authorizedFetch({ serverUrl: MCP, fetch: spy, authorizer, store: new MemoryStore() })
    await f(MCP, { method: 'POST', body: '{}' })
    await f('https://elsewhere.example/api')
    assert.equal(seen.find((s) => s.url === 'https://elsewhere.example/api')?.auth, null)
    assert.match(seen.filter((s) => s.url === MCP).at(-1)?.auth ?? '', /^Bearer /)
  })

  it('refuses a plain-http redirect URI on a remote host before registering', async () => {
    const w = world()
    const f = authorizedFetch({
      serverUrl: MCP,
      fetch: w.fetch,
      authorizer: { ...authorizer, redirectUri: 'http://callback.example/cb' },
      store: new MemoryStore(),
    })
    await assert.rejects(
      f(MCP, { method: 'POST', body: '{}' }),
      (e: Error & { code?: string }) => e.code === 'insecure_redirect_uri',
    )
    assert.equal(w.calls.filter((c) => c.url === `${AS}/register`).length, 0)
  })

  it('keeps the granted scopes when signing in again after a 401', async () => {
    const w = world({ requiredScope: 'admin' })
    const a = { ...authorizer, prompts: 0 }
    const store = new MemoryStore()
    const f = authorizedFetch({ serverUrl: MCP, fetch: w.fetch, authorizer: a, store })
    await f(MCP, { method: 'POST', body: '{}' })
    // The server forgets every token and the grant: the 401 leads to a new sign-in, not a refresh.
    w.valid.clear()
    w.refreshTokens.clear()
    await f(MCP, { method: 'POST', body: '{}' })
    const codes = w.calls
      .filter((c) => c.url === `${AS}/token`)
      .map((c) => new URLSearchParams(c.body).get('code'))
    assert.equal(codes.at(-1), 'scope:read admin')
  })
})

describe('hardening', () => {
  it('a malformed WWW-Authenticate header falls back to well-known discovery', async () => {
    const w = world()
    const wrapped = async (input: string | URL | Request, init?: RequestInit) => {
      const r = await w.fetch(input, init)
      if (r.status !== 401) return r
      return new Response(null, {
        status: 401,
        headers: { 'www-authenticate': 'Bearer realm="x" resource_metadata=broken' },
      })
    }
    const f = authorizedFetch({ serverUrl: MCP, fetch: wrapped, authorizer, store: new MemoryStore() })
    assert.equal((await f(MCP, { method: 'POST', body: '{}' })).status, 200)
  })

  it('logout revokes nothing when the server now names another authorization server', async () => {
    const w = world()
    const store = new MemoryStore()
    const f = authorizedFetch({ serverUrl: MCP, fetch: w.fetch, authorizer, store })
    await f(MCP, { method: 'POST', body: '{}' })
    await store.delete(storeKey.discovery(MCP))
    const moved = async (input: string | URL | Request, init?: RequestInit) => {
      const url = new Request(input, init).url
      if (url.endsWith('/.well-known/oauth-protected-resource/mcp')) {
        return Response.json({ resource: MCP, authorization_servers: ['https://evil.example'] })
      }
      if (url === 'https://evil.example/.well-known/oauth-authorization-server') {
        return Response.json({
          issuer: 'https://evil.example',
          authorization_endpoint: 'https://evil.example/a',
          token_endpoint: 'https://evil.example/t',
          revocation_endpoint: 'https://evil.example/revoke',
          code_challenge_methods_supported: ['S256'],
        })
      }
      return w.fetch(input, init)
    }
    const s = new Session({ serverUrl: MCP, fetch: moved, store })
    assert.deepEqual(await s.logout(), { revoked: false, signed_in: true, not_sent: 'issuer_changed' })
    assert.equal(w.calls.filter((c) => c.url.includes('evil.example/revoke')).length, 0)
  })

  it('a refresh that loses the race to another write keeps the other write', async () => {
    const w = world({ rotate: true })
    const store = new MemoryStore()
    await seed(store, { refresh_token: 'rt-0', expires_at: Date.now() + 1000 })
    const s = new Session({ serverUrl: MCP, fetch: w.fetch, store })
    const stale = await s.load()
    const key = storeKey.session(MCP, AS, 'c1')
    // Between the refresh's read and its write, another process saves step-up tokens.
    const realSet = store.set.bind(store)
    let once = true
    store.set = async (k, v, g) => {
      if (once && k === key && g !== undefined) {
        once = false
        const cur = await store.get<SessionRecord>(key)
        await realSet(key, {
          ...cur!.value,
          tokens: { ...cur!.value.tokens, access_token: 'stepped-up', scope: 'read write' },
        })
      }
      return realSet(k, v, g)
    }
    const t = await s.refresh(stale!)
    assert.equal(t.access_token, 'stepped-up')
    assert.equal((await store.get<SessionRecord>(key))?.value.tokens.access_token, 'stepped-up')
  })
})
