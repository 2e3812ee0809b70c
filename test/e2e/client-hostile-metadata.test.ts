/**
 * Hostile metadata through real sockets: each is refused with a typed error and nothing is stored.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  type Authorizer,
  authorizedFetch,
  discover,
  isMcpOAuthError,
  MemoryStore,
} from 'mcp-oauth-toolkit/client'
import { json, startServer, type TestServer } from '../support/http-server.ts'

let mcp: TestServer
let as: TestServer
before(async () => {
  mcp = await startServer()
  as = await startServer()
})
after(async () => {
  await mcp.close()
  await as.close()
})

function protect(prm: () => unknown) {
  mcp.routes.clear()
  mcp.routes.set('POST /mcp', (_req, res) =>
    json(
      res,
      401,
      { error: 'unauthorized' },
      {
        'www-authenticate': `Bearer resource_metadata="${mcp.origin}/.well-known/oauth-protected-resource/mcp"`,
      },
    ),
  )
  mcp.routes.set('/.well-known/oauth-protected-resource/mcp', (_req, res) => json(res, 200, prm()))
}

function goodMetadata(issuer = as.origin) {
  return {
    issuer,
    authorization_endpoint: `${as.origin}/authorize`,
    token_endpoint: `${as.origin}/token`,
    registration_endpoint: `${as.origin}/register`,
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
  }
}

async function expectCode(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isMcpOAuthError(e), `not a typed error: ${String(e)}`)
    assert.equal(e.code, code, `${e.code}: ${e.message}`)
    assert.ok(e.hint.length > 10, 'has a hint')
    assert.match(e.spec, /^https:\/\//)
    return true
  })
}

describe('hostile metadata', () => {
  it('refuses AS metadata whose issuer differs from the one asked for', async () => {
    protect(() => ({ resource: `${mcp.origin}/mcp`, authorization_servers: [as.origin] }))
    as.routes.set('/.well-known/oauth-authorization-server', (_q, res) =>
      json(res, 200, goodMetadata('https://evil.example')),
    )
    as.routes.set('/.well-known/openid-configuration', (_q, res) =>
      json(res, 200, goodMetadata('https://evil.example')),
    )
    await expectCode(discover(`${mcp.origin}/mcp`), 'issuer_mismatch')
  })

  it('refuses a PRM whose resource is another server', async () => {
    protect(() => ({ resource: 'https://other.example/mcp', authorization_servers: [as.origin] }))
    await expectCode(discover(`${mcp.origin}/mcp`), 'resource_mismatch')
  })

  it('refuses a 10 MB metadata body', async () => {
    protect(() => ({ resource: `${mcp.origin}/mcp`, authorization_servers: [as.origin] }))
    const big = `{"issuer":"${as.origin}","pad":"${'x'.repeat(10 * 1024 * 1024)}"}`
    as.routes.set('/.well-known/oauth-authorization-server', (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(big)
    })
    await expectCode(discover(`${mcp.origin}/mcp`), 'response_too_large')
  })

  it('refuses metadata that redirects to another origin', async () => {
    protect(() => ({ resource: `${mcp.origin}/mcp`, authorization_servers: [as.origin] }))
    as.routes.set('/.well-known/oauth-authorization-server', (_q, res) => {
      res.writeHead(302, { location: `${mcp.origin}/.well-known/oauth-authorization-server` }).end()
    })
    as.routes.delete('/.well-known/openid-configuration')
    await expectCode(discover(`${mcp.origin}/mcp`), 'cross_origin_redirect')
  })

  it('refuses http endpoints for a non-loopback server', async () => {
    // Real sockets; only name resolution is redirected: mcp.example.test and as.example.test live on loopback.
    const hosts: Record<string, string> = { 'mcp.example.test': mcp.origin, 'as.example.test': as.origin }
    const viaLoopback = (input: string | URL | Request, init?: RequestInit) => {
      const req = new Request(input, init)
      const u = new URL(req.url)
      const target = hosts[u.hostname]
      return fetch(target ? `${target}${u.pathname}${u.search}` : req.url, {
        ...init,
        method: req.method,
        headers: req.headers,
        redirect: 'manual',
      })
    }
    mcp.routes.set('/.well-known/oauth-protected-resource/mcp', (_q, res) =>
      json(res, 200, {
        resource: 'https://mcp.example.test/mcp',
        authorization_servers: ['https://as.example.test'],
      }),
    )
    as.routes.set('/.well-known/oauth-authorization-server', (_q, res) =>
      json(res, 200, {
        ...goodMetadata('https://as.example.test'),
        token_endpoint: 'http://as.example.test/token',
      }),
    )
    await expectCode(discover('https://mcp.example.test/mcp', { fetch: viaLoopback }), 'insecure_endpoint')
  })

  it('refuses an error response whose iss is wrong, without acting on its error', async () => {
    protect(() => ({ resource: `${mcp.origin}/mcp`, authorization_servers: [as.origin] }))
    as.routes.set('/.well-known/oauth-authorization-server', (_q, res) => json(res, 200, goodMetadata()))
    as.routes.set('POST /register', (_q, res) =>
      json(res, 201, { client_id: 'c1', redirect_uris: ['http://127.0.0.1:9/cb'] }),
    )
    const authorizer: Authorizer = {
      redirectUri: 'http://127.0.0.1:9/cb',
      async authorize(_url, ctx) {
        const cb = new URL('http://127.0.0.1:9/cb')
        cb.searchParams.set('error', 'access_denied')
        cb.searchParams.set('error_description', 'click here: https://phish.example')
        cb.searchParams.set('state', ctx.state)
        cb.searchParams.set('iss', 'https://attacker.example')
        return cb
      },
    }
    const store = new MemoryStore()
    const f = authorizedFetch({ serverUrl: `${mcp.origin}/mcp`, store, authorizer })
    await assert.rejects(f(`${mcp.origin}/mcp`, { method: 'POST', body: '{}' }), (e: unknown) => {
      assert.ok(isMcpOAuthError(e, 'iss_mismatch'), String(e))
      assert.doesNotMatch(e.message, /phish|access_denied/)
      return true
    })
    assert.deepEqual((await store.list('session')).length, 0)
  })

  it('refuses a PRM at an unknown path and falls back to the root before giving up', async () => {
    mcp.routes.clear()
    mcp.routes.set('/.well-known/oauth-protected-resource', (_q, res) =>
      json(res, 200, { resource: `${mcp.origin}/mcp`, authorization_servers: [as.origin] }),
    )
    as.routes.set('/.well-known/oauth-authorization-server', (_q, res) => json(res, 200, goodMetadata()))
    const d = await discover(`${mcp.origin}/mcp`, { resourceMetadataUrl: `${mcp.origin}/nope` })
    assert.equal(d.issuer, as.origin)
    assert.equal(d.prmUrl, `${mcp.origin}/.well-known/oauth-protected-resource`)
  })
})
