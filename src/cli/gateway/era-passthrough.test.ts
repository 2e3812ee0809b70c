import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { messages, modern } from '../../../test/support/era-requests.ts'
import { type JsonRpc, MODERN } from '../bridge/protocol.ts'
import { eraUpstream } from './era.ts'
import type { Upstream } from './upstream.ts'

const URL_ = 'http://gateway.test/mcp'

describe('eraUpstream passes untouched', () => {
  const recording = (discover: JsonRpc | Response) => {
    const requests: Request[] = []
    const upstream: Upstream = {
      describe: 'fake',
      async fetch(request) {
        requests.push(request)
        const body = request.method === 'POST' ? ((await request.clone().json()) as JsonRpc) : undefined
        if (body?.method === 'server/discover')
          return discover instanceof Response ? discover : Response.json({ ...discover, id: body.id })
        return Response.json({
          jsonrpc: '2.0',
          id: body?.id ?? null,
          result: { echoed: body?.method ?? null },
        })
      },
      async close() {},
    }
    return { upstream, requests }
  }

  it('2025 requests, the very Request object, without a probe', async () => {
    const { upstream, requests } = recording({ jsonrpc: '2.0', error: { code: -32601, message: 'no' } })
    const era = eraUpstream(upstream)
    const legacy = new Request(URL_, {
      method: 'POST',
      headers: { 'mcp-protocol-version': '2025-11-25', 'mcp-session-id': 's' },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    })
    await era.fetch(legacy)
    const get = new Request(URL_, { headers: { 'mcp-session-id': 's' } })
    await era.fetch(get)
    assert.deepEqual(requests, [legacy, get])
    await era.close()
  })

  it('every request once the upstream answered server/discover as a 2026-07-28 server', async () => {
    const { upstream, requests } = recording({
      jsonrpc: '2.0',
      result: { resultType: 'complete', supportedVersions: [MODERN], capabilities: {} },
    })
    const era = eraUpstream(upstream)
    const first = await messages(await era.fetch(modern('tools/list', {}, { id: 5 })))
    assert.deepEqual(first[0]?.result, { echoed: 'tools/list' })
    const again = modern('tools/list', {}, { id: 6 })
    await era.fetch(again)
    // One probe, then the requests as sent (the first re-made from its bytes, the next one not even read).
    assert.deepEqual(
      requests.map((r) => r.headers.get('mcp-method')),
      ['server/discover', 'tools/list', 'tools/list'],
    )
    assert.equal(requests.at(-1), again)
    await era.close()
  })

  it('an error only a 2026-07-28 server gives also says modern; a failed probe is tried again', async () => {
    let down = true
    const { upstream, requests } = recording({
      jsonrpc: '2.0',
      error: { code: -32022, message: 'Unsupported protocol version', data: { supported: ['2026-07-28'] } },
    })
    const era = eraUpstream({
      ...upstream,
      fetch: (r) => (down ? Promise.reject(new Error('connect ECONNREFUSED')) : upstream.fetch(r)),
    })
    await assert.rejects(era.fetch(modern('tools/list')), /ECONNREFUSED/)
    down = false
    const [m] = await messages(await era.fetch(modern('tools/list', {}, { id: 8 })))
    assert.deepEqual(m?.result, { echoed: 'tools/list' })
    assert.equal(requests.filter((r) => r.headers.get('mcp-method') === 'server/discover').length, 1)
    await era.close()
  })
})
