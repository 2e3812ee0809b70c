/**
 * `mcp-oauth connect` between a host and an SDK v1 server that speaks only 2025 revisions, on the server's GET
 * stream: change notifications (list changes, resource updates) reach a 2025 host as they did, and never a host
 * pinned to 2026-07-28, which gets them only on a `subscriptions/listen` stream it asked for (the bridge offers
 * none); progress for the host's own request reaches both.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/patterns/subscriptions
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Server as V1Server } from '@modelcontextprotocol/sdk/server/index.js'
import {
  CallToolRequestSchema,
  EmptyResultSchema,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js'
import { legacyServerForBridges, modernMeta } from '../support/raw-stdio-host.ts'

const CHANGES = [
  'notifications/tools/list_changed',
  'notifications/prompts/list_changed',
  'notifications/resources/list_changed',
  'notifications/resources/updated',
]

/** `announce` sends every change notification on the GET stream, then progress for its own request there too. */
function v1Server(): V1Server {
  const server = new V1Server(
    { name: 'changes', version: '1.0.0' },
    {
      capabilities: {
        tools: { listChanged: true },
        prompts: { listChanged: true },
        resources: { listChanged: true, subscribe: true },
      },
    },
  )
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [{ name: 'announce', inputSchema: { type: 'object' } }],
  }))
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    for (const method of CHANGES) {
      const params = method.endsWith('updated') ? { uri: 'file:///config.json' } : {}
      await server.notification({ method, params } as never)
    }
    // Also without a related request, so on the same GET stream, after the changes: the host has seen them
    // (or their absence) once this arrives.
    const progressToken = request.params._meta?.progressToken
    if (progressToken !== undefined)
      await server.notification({ method: 'notifications/progress', params: { progressToken, progress: 1 } })
    // Awaited on the GET stream too: the bridge, reading it in order, has handled the progress before the call is
    // answered (a 2026-07-28 host gets progress only for a request in flight), which the answer, on a stream of
    // its own, could otherwise overtake.
    await server.request({ method: 'ping' }, EmptyResultSchema).catch(() => {})
    return { content: [{ type: 'text', text: 'announced' }] }
  })
  return server
}

let legacy: Awaited<ReturnType<typeof legacyServerForBridges>>

before(async () => {
  legacy = await legacyServerForBridges(v1Server)
})
after(() => legacy.close())

const call = (meta: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  id: 2,
  method: 'tools/call',
  params: { name: 'announce', arguments: {}, _meta: { ...meta, progressToken: 'tok' } },
})
const progress = (m: { method?: string; params?: Record<string, unknown> }) =>
  m.method === 'notifications/progress' && m.params?.['progressToken'] === 'tok'

describe('connect: server notifications on a 2025 GET stream', { timeout: 60_000 }, () => {
  it('a host pinned to 2026-07-28 gets progress but no change notifications it never subscribed to', async (t) => {
    const meta = modernMeta()
    const host = await legacy.modernHost(t, meta)
    host.send(call(meta))
    await host.next(progress)
    await host.next((m) => m.id === 2)
    assert.deepEqual(
      host.lines.filter((m) => CHANGES.includes(m.method ?? '')).map((m) => m.method),
      [],
    )
    assert.equal(await host.exited(), 0)
  })

  it('a 2025 host gets every notification as the server sent it', async (t) => {
    const host = await legacy.legacyHost(t)
    host.send(call({}))
    await host.next(progress)
    await host.next((m) => m.id === 2)
    assert.deepEqual(
      host.lines.filter((m) => CHANGES.includes(m.method ?? '')).map((m) => m.method),
      CHANGES,
    )
    assert.equal(await host.exited(), 0)
  })
})
