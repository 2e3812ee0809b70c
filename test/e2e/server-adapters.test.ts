/**
 * The thin adapters and the SDK wrapping recipes: Express (with and without express.json), Hono, and a
 * session-based (2025-style) SDK v2 server through WebStandardStreamableHTTPServerTransport.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { createMcpHandler, WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server'
import express from 'express'
import { Hono } from 'hono'
import { expressMiddleware } from '../../src/server/adapters/express.ts'
import { honoMiddleware } from '../../src/server/adapters/hono.ts'
import { createResourceServer, jwtVerifier, type ResourceServer } from '../../src/server/index.ts'
import { type TestIssuer, testIssuer } from '../../src/server/testing/keys.test-helper.ts'
import { buildMcpServer, type Listening, serveFetch } from '../../src/server/testing/mcp.test-helper.ts'

const toolsCall = (name: string) => ({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name, arguments: {} },
})

let as: TestIssuer
before(async () => {
  as = await testIssuer('ES256', 'http://127.0.0.1:1/issuer')
})

function kit(resource: string): ResourceServer {
  return createResourceServer({
    resource,
    authorizationServers: [as.issuer],
    verifier: jwtVerifier({ issuer: as.issuer, keys: as.jwks }),
    policy: { required: ['mcp'], tools: { deploy: ['deploy'] } },
  })
}

describe('Express', () => {
  for (const withJson of [true, false]) {
    it(`authorizes, sets req.auth and keeps the body (${withJson ? 'after' : 'without'} express.json)`, async () => {
      const app = express()
      if (withJson) app.use(express.json())
      let rs: ResourceServer | undefined
      // Mounted under a path: the middleware must still see the full URL.
      app.use('/mcp', (req, res, next) => expressMiddleware(rs!)(req, res, next))
      app.use('/.well-known', (req, res, next) => expressMiddleware(rs!)(req, res, next))
      app.post('/mcp', (req, res) => {
        const auth = (req as { auth?: { extra?: Record<string, unknown> } }).auth
        res.json({ subject: auth?.extra?.['subject'], method: req.body?.method })
      })
      const server = app.listen(0, '127.0.0.1')
      await new Promise((r) => server.once('listening', r))
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      rs = kit(`${base}/mcp`)
      try {
        const meta = await fetch(rs.metadataUrl)
        assert.equal(meta.status, 200)
        const post = async (token: string | undefined, body: unknown) =>
          fetch(`${base}/mcp`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              ...(token ? { authorization: `Bearer ${token}` } : {}),
            },
            body: JSON.stringify(body),
          })
        const none = await post(undefined, toolsCall('whoami'))
        assert.equal(none.status, 401)
        assert.match(none.headers.get('www-authenticate') ?? '', /resource_metadata=/)
        const ok = await post(await as.mint({ aud: `${base}/mcp` }), toolsCall('whoami'))
        assert.equal(ok.status, 200)
        assert.deepEqual(await ok.json(), { subject: 'user-1', method: 'tools/call' })
        assert.match(ok.headers.get('access-control-expose-headers') ?? '', /WWW-Authenticate/)
        const stepUp = await post(await as.mint({ aud: `${base}/mcp` }), toolsCall('deploy'))
        assert.equal(stepUp.status, 403)
        assert.match(stepUp.headers.get('www-authenticate') ?? '', /scope="mcp deploy"/)
      } finally {
        server.closeAllConnections()
        await new Promise((r) => server.close(r))
      }
    })
  }
})

describe('Hono', () => {
  it('authorizes, exposes c.var.authInfo, and leaves c.req readable for an SDK route', async () => {
    const resource = 'http://hono.test/mcp'
    const rs = kit(resource)
    const mcp = createMcpHandler(() => buildMcpServer())
    const app = new Hono<{ Variables: { authInfo: import('../../src/server/index.ts').AuthInfo } }>()
    app.use('*', honoMiddleware(rs))
    app.post('/echo', async (c) => c.json({ body: await c.req.json(), scopes: c.var.authInfo.scopes }))
    app.all('/mcp', (c) => mcp.fetch(c.req.raw, { authInfo: c.var.authInfo }))
    const token = await as.mint({ aud: resource })
    const echo = await app.request('http://hono.test/echo', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(toolsCall('whoami')),
    })
    assert.equal(echo.status, 200)
    assert.deepEqual(await echo.json(), { body: toolsCall('whoami'), scopes: ['mcp'] })
    const meta = await app.request('http://hono.test/.well-known/oauth-protected-resource/mcp')
    assert.equal(meta.status, 200)
    const denied = await app.request('http://hono.test/mcp', { method: 'POST', body: '{}' })
    assert.equal(denied.status, 401)
  })
})

describe('session-based (2025) SDK v2 server behind the kit', () => {
  let server: Listening
  let resource = ''
  let rs: ResourceServer
  const owners = new Map<string, string | undefined>()

  before(async () => {
    const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>()
    server = await serveFetch((request) =>
      rs.handle(request, async (req, { authInfo, parsedBody }) => {
        const id = req.headers.get('mcp-session-id')
        const subject = authInfo.extra?.['subject'] as string | undefined
        let transport = id ? sessions.get(id) : undefined
        if (id && !transport) return new Response('unknown session', { status: 404 })
        // A session belongs to the subject that opened it: another user's token cannot ride on it.
        if (id && owners.get(id) !== subject)
          return new Response('session belongs to someone else', { status: 403 })
        if (!transport) {
          transport = new WebStandardStreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            onsessioninitialized: (sid) => {
              sessions.set(sid, transport!)
              owners.set(sid, subject)
            },
          })
          await buildMcpServer().connect(transport)
        }
        return transport.handleRequest(req, { authInfo, parsedBody })
      }),
    )
    resource = `${server.url}/mcp`
    rs = kit(resource)
  })
  after(() => server.close())

  it('opens a session with initialize and calls tools with the claims in authInfo', async () => {
    const token = await as.mint({ aud: resource })
    const client = new Client({ name: 'legacy', version: '1' })
    await client.connect(
      new StreamableHTTPClientTransport(new URL(resource), { authProvider: { token: async () => token } }),
    )
    const r = await client.callTool({ name: 'whoami', arguments: {} })
    assert.deepEqual(JSON.parse((r.content as { text: string }[])[0]!.text), {
      subject: 'user-1',
      scopes: ['mcp'],
    })
    assert.equal(owners.size >= 1, true, 'a session was opened')
    await client.close()
  })
})
