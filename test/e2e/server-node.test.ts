/**
 * The kit in front of an SDK v2 MCP server over real sockets, with a remote JWKS: tokens minted in the test,
 * the SDK client given a static token.
 */
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { createMcpHandler } from '@modelcontextprotocol/server'
import {
  createResourceServer,
  jwtVerifier,
  nodeListener,
  type ResourceServer,
} from '../../src/server/index.ts'
import { type TestIssuer, testIssuer } from '../../src/server/testing/keys.test-helper.ts'
import {
  buildMcpServer,
  type Listening,
  listen,
  serveFetch,
} from '../../src/server/testing/mcp.test-helper.ts'

describe('resource server on node:http with an SDK v2 server', () => {
  let as: TestIssuer
  let jwks: Listening
  let mcp: Listening
  let rs: ResourceServer
  let resource: string
  const seen: string[] = []

  before(async () => {
    as = await testIssuer('ES256', 'http://127.0.0.1:1/issuer')
    jwks = await serveFetch(() => Response.json(as.jwks))
    const handler = createMcpHandler(() => buildMcpServer())
    mcp = await serveFetch((req) => {
      const method = req.headers.get('mcp-method')
      if (method) seen.push(`${method} ${req.headers.get('mcp-name') ?? ''}`.trim())
      return rs.handle(req, (r, { authInfo, parsedBody }) => handler.fetch(r, { authInfo, parsedBody }))
    })
    resource = `${mcp.url}/mcp`
    rs = createResourceServer({
      resource,
      authorizationServers: [as.issuer],
      scopesSupported: ['mcp'],
      verifier: jwtVerifier({ issuer: as.issuer, jwksUri: `${jwks.url}/jwks` }),
      policy: { required: ['mcp'], tools: { deploy: ['deploy'] } },
    })
  })
  after(async () => {
    await mcp.close()
    await jwks.close()
  })

  async function connect(token: string) {
    // 'auto' negotiates 2026-07-28 with this server (the SDK default is the 2025 handshake).
    const client = new Client({ name: 't', version: '1' }, { versionNegotiation: { mode: 'auto' } })
    await client.connect(
      new StreamableHTTPClientTransport(new URL(resource), { authProvider: { token: async () => token } }),
    )
    return client
  }

  it('lets a valid token list and call tools, with the claims reaching the handler', async () => {
    const client = await connect(await as.mint({ aud: resource, scope: 'mcp' }))
    const tools = await client.listTools()
    assert.deepEqual(tools.tools.map((t) => t.name).sort(), ['deploy', 'whoami'])
    const r = await client.callTool({ name: 'whoami', arguments: {} })
    const text = (r.content as { type: string; text: string }[])[0]!.text
    assert.deepEqual(JSON.parse(text), { subject: 'user-1', scopes: ['mcp'] })
    // The official client speaks 2026-07-28 here, so the kit's Mcp-Method/Mcp-Name check saw real headers.
    assert.ok(seen.includes('tools/call whoami'), `headers seen: ${seen.join(', ')}`)
    await client.close()
  })

  it('answers 403 insufficient_scope for deploy without the deploy scope', async () => {
    const token = await as.mint({ aud: resource, scope: 'mcp' })
    const r = await fetch(`${resource}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'deploy', arguments: {} },
      }),
    })
    assert.equal(r.status, 403)
    assert.match(r.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/)
    assert.match(r.headers.get('www-authenticate') ?? '', /scope="mcp deploy"/)
  })

  it('serves the metadata document at the path-inserted URL', async () => {
    const r = await fetch(rs.metadataUrl)
    assert.equal(r.status, 200)
    const doc = (await r.json()) as { resource: string }
    assert.equal(doc.resource, resource)
  })
})

describe('node:http adapter', () => {
  it('streams a response as it is produced and answers 413 for an oversized body', async () => {
    let release: () => void = () => {}
    const gate = new Promise<void>((r) => {
      release = r
    })
    const server = await listen(
      nodeListener(
        () =>
          new Response(
            new ReadableStream({
              async start(c) {
                c.enqueue(new TextEncoder().encode('data: first\n\n'))
                await gate
                c.enqueue(new TextEncoder().encode('data: second\n\n'))
                c.close()
              },
            }),
            { headers: { 'content-type': 'text/event-stream' } },
          ),
        { maxBodyBytes: 1024 },
      ),
    )
    try {
      const r = await fetch(`${server.url}/sse`)
      const reader = r.body!.getReader()
      const first = new TextDecoder().decode((await reader.read()).value)
      assert.match(first, /first/, 'the first event arrives before the stream ends')
      release()
      let rest = ''
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        rest += new TextDecoder().decode(value)
      }
      assert.match(rest, /second/)
      const big = await fetch(`${server.url}/mcp`, { method: 'POST', body: 'x'.repeat(4096) })
      assert.equal(big.status, 413)
    } finally {
      release()
      await server.close()
    }
  })
})

describe('node:http adapter, malformed requests', () => {
  it('answers 400 to a Host header that makes no URL, and keeps serving', async () => {
    const server = await listen(nodeListener(() => new Response('fine')))
    try {
      const { port } = new URL(server.url)
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write('GET /mcp HTTP/1.1\r\nHost: [not-an-ipv6\r\nConnection: close\r\n\r\n')
        })
        let data = ''
        socket.on('data', (d) => {
          data += d.toString()
        })
        socket.on('end', () => resolve(data))
        socket.on('error', reject)
      })
      assert.match(raw, /^HTTP\/1\.1 400/)
      assert.equal(await (await fetch(`${server.url}/mcp`)).text(), 'fine')
    } finally {
      await server.close()
    }
  })
})
