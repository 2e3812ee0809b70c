/**
 * The legacy HTTP+SSE transport (2024-11-05, still run by old servers): the SDK's SSEClientTransport takes
 * mcp-oauth's authorized fetch, and `mcp-oauth connect --transport auto` falls back to it. Real sockets; the
 * old server is SDK v1's SSEServerTransport behind the resource-server kit and mcp-oauth's authorization server.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Client, SSEClientTransport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js'
import { createAuthorizationServer, hashPassword } from '../../src/authorization-server/index.ts'
import { type Authorizer, authorizedFetch, FileStore, MemoryStore, Session } from '../../src/client/index.ts'
import { createResourceServer, jwtVerifier } from '../../src/server/index.ts'
import { HeadlessAgent } from './authorization-server-helpers.ts'

const USER = { username: 'carol', password: 'a long enough password' }
let http: Server
let origin = ''
let closeAs: () => Promise<void>

function toRequest(req: IncomingMessage, body?: string): Request {
  const headers = new Headers()
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v)
  return new Request(`${origin}${req.url}`, {
    method: req.method ?? 'GET',
    headers,
    ...(body ? { body } : {}),
  })
}

async function send(res: ServerResponse, r: Response) {
  res.writeHead(r.status, Object.fromEntries(r.headers)).end(Buffer.from(await r.arrayBuffer()))
}

before(async () => {
  http = createServer()
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
  origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  const resource = `${origin}/sse`
  const as = await createAuthorizationServer({
    issuer: origin,
    users: [{ username: USER.username, passwordHash: await hashPassword(USER.password) }],
    resources: [{ uri: resource, scopes: ['mcp'] }],
    rateLimits: false,
  })
  closeAs = () => as.close()
  const rs = createResourceServer({
    resource,
    authorizationServers: [origin],
    scopesSupported: ['mcp'],
    verifier: jwtVerifier({ issuer: origin, keys: as.jwks as never }),
    policy: { required: ['mcp'] },
  })
  const sessions = new Map<string, SSEServerTransport>()
  http.on('request', async (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!
    if (path.startsWith('/.well-known/oauth-protected-resource'))
      return send(res, rs.metadata(toRequest(req))!)
    if (path === '/sse' && req.method === 'GET') {
      const verdict = await rs.protect(toRequest(req))
      if (verdict instanceof Response) return send(res, verdict)
      const t = new SSEServerTransport('/messages', res)
      sessions.set(t.sessionId, t)
      const server = new McpServer({ name: 'old-sse', version: '1.0.0' })
      server.registerTool('hello', { description: 'says hello' }, async () => ({
        content: [{ type: 'text', text: 'hello' }],
      }))
      await server.connect(t)
      return
    }
    if (path === '/messages' && req.method === 'POST') {
      const chunks: Buffer[] = []
      for await (const c of req) chunks.push(c as Buffer)
      const body = Buffer.concat(chunks).toString()
      const verdict = await rs.protect(toRequest(req, body), { parsedBody: JSON.parse(body) })
      if (verdict instanceof Response) return send(res, verdict)
      const t = sessions.get(new URL(`${origin}${req.url}`).searchParams.get('sessionId') ?? '')
      if (!t) return void res.writeHead(404).end()
      return t.handlePostMessage(req, res, JSON.parse(body))
    }
    as.handler(req, res)
  })
})
after(async () => {
  http.closeAllConnections()
  await new Promise<void>((r) => http.close(() => r()))
  await closeAs()
})

describe('legacy HTTP+SSE transport', () => {
  it('SSEClientTransport with the authorized fetch signs in, lists and calls tools', async () => {
    const agent = new HeadlessAgent()
    const redirect = 'http://127.0.0.1:9/callback'
    let signIns = 0
    const authorizer: Authorizer = {
      redirectUri: redirect,
      async authorize(url) {
        signIns++
        return new URL((await agent.authorize(url.href, redirect, USER)).callback)
      },
    }
    const fetch = authorizedFetch({
      serverUrl: `${origin}/sse`,
      store: new MemoryStore(),
      authorizer,
      dpop: 'never',
    })
    const client = new Client({ name: 'sse-host', version: '1.0.0' })
    await client.connect(new SSEClientTransport(new URL(`${origin}/sse`), { fetch }))
    const { tools } = await client.listTools()
    assert.deepEqual(
      tools.map((t) => t.name),
      ['hello'],
    )
    const r = (await client.callTool({ name: 'hello', arguments: {} })) as { content: { text: string }[] }
    assert.equal(r.content[0]?.text, 'hello')
    assert.equal(signIns, 1)
    await client.close()
  })
})

describe('mcp-oauth connect --transport auto with an HTTP+SSE server', () => {
  it('falls back to the legacy transport and uses the session `login` stored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-sse-'))
    try {
      const agent = new HeadlessAgent()
      const redirect = 'http://127.0.0.1:9/callback'
      const session = new Session({
        serverUrl: `${origin}/sse`,
        store: new FileStore({ dir }),
        dpop: 'never',
        authorizer: {
          redirectUri: redirect,
          authorize: async (url) => new URL((await agent.authorize(url.href, redirect, USER)).callback),
        },
      })
      await session.authorize({ reason: 'login' })
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [
          fileURLToPath(new URL('../../bin/mcp-oauth.js', import.meta.url)),
          'connect',
          `${origin}/sse`,
          '--store',
          'file',
          '--store-dir',
          dir,
        ],
        stderr: 'pipe',
      })
      let stderr = ''
      transport.stderr?.on('data', (c: Buffer) => {
        stderr += c.toString()
      })
      const client = new Client({ name: 'stdio-host', version: '1.0.0' })
      await client.connect(transport)
      const { tools } = await client.listTools()
      assert.deepEqual(
        tools.map((t) => t.name),
        ['hello'],
        stderr,
      )
      await client.close()
      assert.doesNotMatch(stderr, /open this URL/, 'no new sign-in')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
