import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { modern } from '../../../test/support/era-requests.ts'
import type { JsonRpc } from '../bridge/protocol.ts'
import { eraUpstream } from './era.ts'
import type { Upstream } from './upstream.ts'

/** A 2025 upstream whose every session step goes as usual and whose tools/call answer is `answer`. */
function scripted(
  answer: (upstreamId: string) => Response,
  log?: (line: string) => void,
  notified: () => Response = () => new Response(null, { status: 202 }),
) {
  const upstream: Upstream = {
    describe: 'scripted (test)',
    async fetch(request) {
      const m = (await request.json()) as JsonRpc
      if (m.method === 'server/discover')
        return Response.json(
          { jsonrpc: '2.0', id: m.id, error: { code: -32600, message: 'not initialized' } },
          { status: 400 },
        )
      if (m.method === 'initialize') {
        const result = {
          protocolVersion: '2025-11-25',
          capabilities: {},
          serverInfo: { name: 's', version: '1' },
        }
        return Response.json({ jsonrpc: '2.0', id: m.id, result }, { headers: { 'mcp-session-id': 's1' } })
      }
      if (m.method === 'notifications/initialized') return new Response(null, { status: 202 })
      if (m.id === undefined) return notified()
      return answer(String(m.id))
    },
    async close() {},
  }
  return eraUpstream(upstream, log ? { log } : {})
}

const call = (era: Upstream) => era.fetch(modern('tools/call', { name: 'echo', arguments: {} }, { id: 42 }))
const json = (body: unknown, status = 200) => Response.json(body, { status })
const text = (body: string, type: string, status = 200) =>
  new Response(body, { status, headers: { 'content-type': type } })
const sse = (...messages: unknown[]) =>
  text(messages.map((m) => `event: message\ndata: ${JSON.stringify(m)}\n\n`).join(''), 'text/event-stream')

describe('a 2025 upstream answer with no response to the 2026-07-28 request', () => {
  it('reaches the client as one JSON-RPC error with its id, and nothing of the upstream body', async () => {
    const secret = 'internal-db-host-10.1.2.3'
    const cases: [string, (id: string) => Response][] = [
      ['another id', () => json({ jsonrpc: '2.0', id: 'someone-else', result: { secret } })],
      ['an empty batch', () => json([])],
      [
        'notifications only',
        () => json([{ jsonrpc: '2.0', method: 'notifications/message', params: { secret } }]),
      ],
      ['our id, neither result nor error', (id) => json({ jsonrpc: '2.0', id, secret })],
      ['an id-less error that is not JSON-RPC', () => json({ error: secret }, 400)],
      ['a body that is not JSON', () => text(`<html>${secret}</html>`, 'application/json')],
      ['a text answer', () => text(`stack trace: ${secret}`, 'text/plain', 500)],
      ['no body', () => new Response(null, { status: 202 })],
    ]
    for (const [name, answer] of cases) {
      const lines: string[] = []
      const era = scripted(answer, (l) => lines.push(l))
      const r = await call(era)
      const body = await r.text()
      assert.equal(r.status, 502, name)
      assert.equal(r.headers.get('content-type'), 'application/json', name)
      const m = JSON.parse(body) as JsonRpc
      assert.ok(!Array.isArray(m), `${name}: ${body}`)
      assert.equal(m.id, 42, name)
      assert.equal(m.error?.code, -32603, name)
      assert.ok(!body.includes(secret), `${name}: ${body}`)
      // The operator learns what came, never the body.
      assert.match(lines.join('\n'), /"tools\/call" .*no response to it/, name)
      assert.ok(!lines.join('\n').includes(secret), name)
      await era.close()
    }
  })

  it('on a stream that ends without a valid answer, ends with that error too', async () => {
    const era = scripted((id) => sse({ jsonrpc: '2.0', id: 'other', result: {} }, { jsonrpc: '2.0', id }))
    const r = await call(era)
    assert.equal(r.status, 200)
    const body = await r.text()
    assert.equal(body.match(/^data: /gm)?.length, 1, body)
    const m = JSON.parse(body.slice(body.indexOf('data: ') + 6)) as JsonRpc
    assert.deepEqual([m.id, m.error?.code], [42, -32603])
    await era.close()
  })

  it('but an answer in a batch, or an id-less JSON-RPC error, is the answer, as one object', async () => {
    const batch = scripted((id) =>
      json([
        { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'error', data: 'x' } },
        { jsonrpc: '2.0', id, result: { content: [] } },
      ]),
    )
    const r = await call(batch)
    assert.equal(r.status, 200)
    const m = (await r.json()) as JsonRpc
    assert.deepEqual([m.id, m.result?.['resultType']], [42, 'complete'])
    await batch.close()
    const refused = scripted(() =>
      json({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'no' } }, 400),
    )
    const e = await call(refused)
    assert.equal(e.status, 400)
    assert.deepEqual(await e.json(), { jsonrpc: '2.0', id: 42, error: { code: -32600, message: 'no' } })
    await refused.close()
  })

  it('keeps a 408, 429 or 503 and its Retry-After, so the client still backs off', async () => {
    for (const status of [408, 429, 503]) {
      const era = scripted(
        () =>
          new Response('slow down', {
            status,
            headers: { 'content-type': 'text/plain', 'retry-after': '7', 'x-upstream': 'internal' },
          }),
        () => {},
      )
      const r = await call(era)
      assert.equal(r.status, status)
      assert.equal(r.headers.get('retry-after'), '7')
      assert.equal(r.headers.get('x-upstream'), null)
      const m = (await r.json()) as JsonRpc
      assert.deepEqual([m.id, m.error?.code], [42, -32603])
      await era.close()
    }
  })
})

describe("a 2026-07-28 notification's acknowledgement", () => {
  it('is 202 without a body when the upstream took it, its status without the body otherwise', async () => {
    const notify = (era: Upstream) =>
      era.fetch(modern('notifications/cancelled', { requestId: 'x' }, { id: null }))
    const took = scripted(
      () => json({}),
      undefined,
      () => json({ jsonrpc: '2.0', method: 'x', params: { secret: 'internal' } }),
    )
    const ok = await notify(took)
    assert.deepEqual([ok.status, await ok.text()], [202, ''])
    await took.close()
    const failed = scripted(
      () => json({}),
      undefined,
      () => text('<html>internal stack</html>', 'text/html', 500),
    )
    const no = await notify(failed)
    assert.deepEqual([no.status, await no.text()], [500, ''])
    await failed.close()
  })
})
