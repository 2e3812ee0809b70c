/**
 * HTTP_PROXY / NO_PROXY are honoured by `mcp-oauth connect`: requests go through a forward proxy on loopback,
 * and bypass it when NO_PROXY names the host. An mcp-remote argument list ignores them unless --enable-proxy is
 * given, as mcp-remote does.
 */
import assert from 'node:assert/strict'
import { createServer, request as httpRequest, type Server } from 'node:http'
import { type AddressInfo, connect } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server'
import { nodeListener } from '../../src/server/index.ts'

const BIN = fileURLToPath(new URL('../../bin/mcp-oauth.js', import.meta.url))
let mcp: Server
let proxy: Server
let url = ''
let proxyUrl = ''
let proxied = 0

before(async () => {
  const handler = createMcpHandler(() => new McpServer({ name: 'behind-proxy', version: '1.0.0' }))
  mcp = createServer(nodeListener((r) => handler.fetch(r)))
  await new Promise<void>((r) => mcp.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(mcp.address() as AddressInfo).port}/mcp`
  // A plain forward proxy: absolute-form request targets, forwarded as they are.
  proxy = createServer((req, res) => {
    proxied++
    const target = new URL(req.url ?? '')
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: req.method,
        headers: req.headers,
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers)
        r.pipe(res)
      },
    )
    upstream.on('error', () => res.writeHead(502).end())
    req.pipe(upstream)
  })
  // …and CONNECT tunnels, which fetch (undici) uses for proxied requests.
  proxy.on('connect', (req, socket, head) => {
    proxied++
    const [host, port] = (req.url ?? '').split(':')
    const upstream = connect(Number(port), host!, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(socket)
      socket.pipe(upstream)
    })
    upstream.on('error', () => socket.destroy())
    socket.on('error', () => upstream.destroy())
  })
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r))
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
})
after(async () => {
  for (const s of [mcp, proxy]) {
    s.closeAllConnections()
    await new Promise<void>((r) => s.close(() => r()))
  }
})

async function listThrough(env: Record<string, string>, extra: string[] = []) {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(https?|no)_proxy$/i.test(k)),
  ) as Record<string, string>
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'connect', url, ...extra, '--store', 'memory'],
    env: { ...base, ...env },
    stderr: 'pipe',
  })
  const client = new Client({ name: 'host', version: '1.0.0' })
  await client.connect(transport)
  await client.listTools()
  await client.close()
}

describe('connect behind a proxy', () => {
  it('sends its requests through HTTP_PROXY', async () => {
    proxied = 0
    await listThrough({ HTTP_PROXY: proxyUrl, NO_PROXY: '' })
    assert.ok(proxied >= 2, `the proxy saw ${proxied} requests`)
  })
  it('bypasses the proxy for hosts in NO_PROXY', async () => {
    proxied = 0
    await listThrough({ HTTP_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' })
    assert.equal(proxied, 0)
  })
  it('an mcp-remote argument list ignores HTTP_PROXY without --enable-proxy, as mcp-remote does', async () => {
    proxied = 0
    await listThrough({ HTTP_PROXY: proxyUrl, NO_PROXY: '' }, ['--transport', 'http-first'])
    assert.equal(proxied, 0)
    await listThrough({ HTTP_PROXY: proxyUrl, NO_PROXY: '' }, ['--transport', 'http-first', '--enable-proxy'])
    assert.ok(proxied >= 2, `the proxy saw ${proxied} requests`)
  })
})
