import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { httpUpstream, readEvents } from './upstream.ts'

// A loopback upstream that records what arrives and answers per method.
const seen: { method: string; headers: IncomingMessage['headers']; body: string }[] = []
let release: (() => void) | undefined
let closedEarly: Promise<void> = Promise.resolve()
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  let body = ''
  req.on('data', (c: Buffer) => (body += c.toString()))
  req.on('end', () => {
    seen.push({ method: req.method ?? '', headers: req.headers, body })
    if (req.method === 'DELETE') return res.writeHead(200).end()
    if (req.method === 'GET') {
      // An SSE stream that sends one event, then waits: the gateway must pass it on before the stream ends.
      res.writeHead(200, { 'content-type': 'text/event-stream', 'mcp-session-id': 's1' })
      res.write('event: message\ndata: {"jsonrpc":"2.0","method":"notifications/tools/list_changed"}\n\n')
      closedEarly = new Promise((resolve) => res.once('close', () => resolve()))
      release = () => res.end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(`{"echo":${JSON.stringify(body)}}`)
  })
})
let url = ''
before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`
})
after(() => {
  release?.()
  server.closeAllConnections()
  server.close()
})

describe('httpUpstream', () => {
  const upstream = () => httpUpstream(url)

  it('forwards POST bodies and headers, and DELETE with the session id', async () => {
    const r = await upstream().fetch(
      new Request('http://gw/mcp', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'mcp-session-id': 's1', host: 'gw' },
        body: '{"a":1}',
      }),
    )
    assert.deepEqual(await r.json(), { echo: '{"a":1}' })
    const d = await upstream().fetch(
      new Request('http://gw/mcp', { method: 'DELETE', headers: { 'mcp-session-id': 's1' } }),
    )
    assert.equal(d.status, 200)
    assert.equal(seen.at(-2)!.headers['content-length'], '7')
    assert.notEqual(seen.at(-2)!.headers.host, 'gw')
    assert.equal(seen.at(-1)!.method, 'DELETE')
    assert.equal(seen.at(-1)!.headers['mcp-session-id'], 's1')
  })

  it('streams a GET event stream as it comes, and a client that goes away closes the upstream request', {
    timeout: 30_000,
  }, async () => {
    const controller = new AbortController()
    const r = await upstream().fetch(
      new Request('http://gw/mcp', {
        headers: { accept: 'text/event-stream', 'mcp-session-id': 's1' },
        signal: controller.signal,
      }),
    )
    assert.equal(r.headers.get('mcp-session-id'), 's1')
    const events = readEvents(r.body!)
    const first = await events.next()
    assert.equal(JSON.parse(first.value!.data).method, 'notifications/tools/list_changed')
    controller.abort()
    await closedEarly
    assert.equal(seen.at(-1)!.method, 'GET')
  })
})
