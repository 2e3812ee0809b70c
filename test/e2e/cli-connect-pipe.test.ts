/**
 * `mcp-oauth connect` as a pipe between a 2025 host and a 2025 server (a hand-written one, to see the wire):
 * answers go to the host as the server wrote them, SSE events as they arrive (not when the stream ends), the
 * session and version headers ride on every request, and closing stdin ends the session with DELETE.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/mcp-oauth.js', import.meta.url))
const SESSION = 'session-7f3a'
/** Valid JSON-RPC no serializer would write this way: escaped `é`, odd spacing, an extra member. */
const VERBATIM =
  '{"jsonrpc":"2.0", "id":4,"result":{"content":[{"type":"text","text":"caf\\u00e9"}],"x-extra":1}}'

let server: Server
let url = ''
const seen: { method: string; rpc: string | undefined; headers: IncomingMessage['headers'] }[] = []
let releaseSlow: () => void = () => {}
const slowReleased = new Promise<void>((resolve) => {
  releaseSlow = resolve
})

before(async () => {
  server = createServer(async (req, res) => {
    let body = ''
    for await (const c of req) body += c
    const m = body
      ? (JSON.parse(body) as { id?: number | string; method?: string; params?: { name?: string } })
      : {}
    seen.push({ method: req.method ?? '', rpc: m.method, headers: req.headers })
    if (req.method === 'GET') return void res.writeHead(405).end()
    if (req.method === 'DELETE') return void res.writeHead(200).end()
    const json = (text: string, headers: Record<string, string> = {}) =>
      res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(text)
    if (m.method === 'server/discover') {
      return json(
        JSON.stringify({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'Method not found' } }),
      )
    }
    if (m.method === 'initialize') {
      const result = {
        protocolVersion: '2025-11-25',
        capabilities: { tools: {} },
        serverInfo: { name: 'wire', version: '1' },
      }
      return json(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }), { 'mcp-session-id': SESSION })
    }
    if (m.id === undefined) return void res.writeHead(202).end()
    const name = m.params?.name
    if (name === 'slow') {
      // A progress event now, the result only once the test has seen the event reach the host.
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(
        `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'p', progress: 1 } })}\n\n`,
      )
      await slowReleased
      res.end(`data: ${JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { content: [] } })}\n\n`)
      return
    }
    if (name === 'pretty') {
      return json(
        JSON.stringify(
          { jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text: 'p' }] } },
          null,
          2,
        ),
      )
    }
    return json(VERBATIM)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`
})
after(async () => {
  server.closeAllConnections()
  await new Promise<void>((r) => server.close(() => r()))
})

describe('connect as a pipe (same era on both sides)', () => {
  it('forwards answers verbatim and SSE events as they arrive, with session headers; DELETE at the end', async (t) => {
    const child = spawn(process.execPath, [BIN, 'connect', url, '--store', 'memory'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    // A failed assertion must not leave the bridge running.
    t.after(() => void child.kill())
    const lines: string[] = []
    const waiters: { test: (l: string) => boolean; resolve: (l: string) => void }[] = []
    let buffered = ''
    child.stdout.on('data', (c: Buffer) => {
      buffered += c.toString()
      for (let i = buffered.indexOf('\n'); i !== -1; i = buffered.indexOf('\n')) {
        const line = buffered.slice(0, i)
        buffered = buffered.slice(i + 1)
        lines.push(line)
        for (const w of waiters.filter((w) => w.test(line))) w.resolve(line)
      }
    })
    const next = (test: (l: string) => boolean) =>
      new Promise<string>((resolve) => {
        const found = lines.find(test)
        if (found !== undefined) resolve(found)
        else waiters.push({ test, resolve })
      })
    const byId = (id: number) => (l: string) => (JSON.parse(l) as { id?: number }).id === id
    const send = (m: unknown) => child.stdin.write(`${JSON.stringify(m)}\n`)
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))

    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'host', version: '1' } },
    })
    await next(byId(1))
    send({ jsonrpc: '2.0', method: 'notifications/initialized' })

    send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'slow', arguments: {} } })
    // The server holds the answer until this event is at the host: a bridge that buffered the body never gets here.
    const progress = JSON.parse(await next((l) => l.includes('notifications/progress')))
    assert.equal(progress.params.progress, 1)
    assert.equal(lines.some(byId(2)), false)
    releaseSlow()
    assert.deepEqual(JSON.parse(await next(byId(2))).result, { content: [] })

    send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'pretty', arguments: {} } })
    assert.deepEqual(JSON.parse(await next(byId(3))).result, { content: [{ type: 'text', text: 'p' }] })

    send({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'verbatim', arguments: {} } })
    assert.equal(await next(byId(4)), VERBATIM, 'the server text reached the host unchanged')

    child.stdin.end()
    assert.equal(await exited, 0)
    for (const line of lines) JSON.parse(line) // stdout is JSON-RPC only, one message per line

    const calls = seen.filter((s) => s.rpc === 'tools/call')
    assert.equal(calls.length, 3)
    for (const c of calls) {
      assert.equal(c.headers['mcp-session-id'], SESSION)
      assert.equal(c.headers['mcp-protocol-version'], '2025-11-25')
    }
    assert.ok(
      seen.some((s) => s.method === 'DELETE' && s.headers['mcp-session-id'] === SESSION),
      'the session was ended with DELETE',
    )
  })
})
