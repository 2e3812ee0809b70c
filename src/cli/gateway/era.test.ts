import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Server as V1Server } from '@modelcontextprotocol/sdk/server/index.js'
import {
  CallToolRequestSchema,
  ListRootsResultSchema,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js'
import { messages, modern } from '../../../test/support/era-requests.ts'
import { v1StreamableHandler } from '../../../test/support/gateway-upstreams.ts'
import type { AuthInfo } from '../../server/index.ts'
import { type JsonRpc, META, MODERN, TRANSLATED_FROM_META_KEY } from '../bridge/protocol.ts'
import { eraUpstream } from './era.ts'
import type { Upstream } from './upstream.ts'

const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] })

/** A 2025-only SDK v1 server: echo, progress (steps, a log line per step), roots (asks the client), wait (until cancelled). */
function legacyUpstream() {
  const cancelled: string[] = []
  const seen: JsonRpc[] = []
  const handler = v1StreamableHandler(() => {
    const server = new V1Server(
      { name: 'legacy', version: '2.5.0' },
      { capabilities: { tools: {}, logging: {} } },
    )
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: ['echo', 'progress', 'roots', 'wait'].map((name) => ({ name, inputSchema: { type: 'object' } })),
    }))
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const args = (request.params.arguments ?? {}) as Record<string, unknown>
      const name = request.params.name
      if (name === 'echo') return text(JSON.stringify(args))
      if (name === 'progress') {
        const token = request.params._meta?.progressToken
        for (let i = 1; i <= 3; i++) {
          if (token !== undefined)
            await extra.sendNotification({
              method: 'notifications/progress',
              params: { progressToken: token, progress: i },
            })
          for (const level of ['debug', 'warning'] as const)
            await extra.sendNotification({
              method: 'notifications/message',
              params: { level, data: `${level} ${i}` },
            })
        }
        return text(`${args['tag']} done`)
      }
      if (name === 'roots') {
        // Related to the call, so a Streamable HTTP transport sends it on the call's stream.
        const roots = await extra.sendRequest({ method: 'roots/list' }, ListRootsResultSchema).then(
          (r) => JSON.stringify(r.roots),
          (e: Error) => `refused: ${e.message}`,
        )
        return text(roots)
      }
      await new Promise<void>((resolve) => extra.signal.addEventListener('abort', () => resolve()))
      cancelled.push(String(args['tag']))
      return text('cancelled')
    })
    return server
  })
  const upstream: Upstream = {
    describe: 'legacy (test)',
    async fetch(request) {
      if (request.method === 'POST') seen.push((await request.clone().json()) as JsonRpc)
      return handler.fetch(request)
    },
    async close() {},
  }
  return { upstream, handler, cancelled, seen }
}

const textOf = (m: JsonRpc | undefined) => (m!.result as { content: { text: string }[] }).content[0]!.text

/** The era decorator over `upstream`, with the session ids of the DELETEs it sends upstream. */
function recordingDeletes(upstream: Upstream) {
  const deletes: string[] = []
  const era = eraUpstream({
    ...upstream,
    async fetch(request) {
      if (request.method === 'DELETE') deletes.push(request.headers.get('mcp-session-id') ?? '')
      return upstream.fetch(request)
    },
  })
  return { deletes, era }
}
describe('eraUpstream in front of a 2025-only upstream', () => {
  it('answers server/discover from the upstream initialize, and lists tools with 2026 results', async () => {
    const { upstream, handler, seen } = legacyUpstream()
    const lines: string[] = []
    const era = eraUpstream(upstream, { log: (l) => lines.push(l) })
    const discover = await era.fetch(modern('server/discover', {}, { id: 'd1' as never }))
    assert.equal(discover.status, 200)
    assert.equal(discover.headers.get('mcp-session-id'), null)
    const [d] = await messages(discover)
    assert.equal(d?.id, 'd1')
    assert.deepEqual(d?.result?.['supportedVersions'], [MODERN])
    assert.deepEqual(d?.result?.['capabilities'], { tools: {}, logging: {} })
    const meta = d?.result?.['_meta'] as Record<string, unknown>
    assert.deepEqual(meta[META.serverInfo], { name: 'legacy', version: '2.5.0' })
    assert.equal(meta[TRANSLATED_FROM_META_KEY], '2025-11-25')
    assert.equal(d?.result?.['ttlMs'], 0)
    assert.match(lines.join('\n'), /speaks a 2025 revision only/)

    const list = await era.fetch(modern('tools/list', {}, { id: 7 }))
    assert.equal(list.headers.get('mcp-session-id'), null)
    const [l] = await messages(list)
    assert.equal(l?.id, 7)
    assert.equal(l?.result?.['resultType'], 'complete')
    assert.equal(l?.result?.['cacheScope'], 'private')
    assert.deepEqual(
      (l!.result!['tools'] as { name: string }[]).map((t) => t.name),
      ['echo', 'progress', 'roots', 'wait'],
    )
    // One session: probe, initialize, initialized, then the list with the envelope stripped and our own id.
    assert.equal(handler.initializes, 1)
    assert.deepEqual(
      seen.map((m) => m.method),
      ['server/discover', 'initialize', 'notifications/initialized', 'tools/list'],
    )
    const forwarded = seen.at(-1)!
    assert.notEqual(forwarded.id, 7)
    assert.equal(forwarded.params?.['_meta'], undefined)
    await era.close()
  })

  it('streams progress with the client token, logs at the asked level only, then the result', async () => {
    const { upstream } = legacyUpstream()
    const era = eraUpstream(upstream)
    const call = (meta: Record<string, unknown>) =>
      era.fetch(modern('tools/call', { name: 'progress', arguments: { tag: 't' } }, { id: 1, meta }))
    const out = await messages(await call({ progressToken: 'p', [META.logLevel]: 'info' }))
    assert.deepEqual(
      out.filter((m) => m.method === 'notifications/progress').map((m) => m.params),
      [1, 2, 3].map((progress) => ({ progressToken: 'p', progress })),
    )
    assert.deepEqual(
      out.filter((m) => m.method === 'notifications/message').map((m) => m.params?.['data']),
      ['warning 1', 'warning 2', 'warning 3'],
    )
    const final = out.at(-1)!
    assert.equal(final.id, 1)
    assert.equal(textOf(final), 't done')
    assert.equal(final.result?.['resultType'], 'complete')
    // Without a level in _meta, a 2026-07-28 client gets no log messages at all.
    const quiet = await messages(await call({}))
    assert.deepEqual(
      quiet.map((m) => m.method ?? 'answer'),
      ['answer'],
    )
    await era.close()
  })

  it('answers a log level that is none of RFC 5424 with Invalid params, sending the upstream nothing', async () => {
    const { upstream, seen } = legacyUpstream()
    const era = eraUpstream(upstream)
    const call = (level: unknown) =>
      era.fetch(
        modern('tools/call', { name: 'echo', arguments: {} }, { id: 7, meta: { [META.logLevel]: level } }),
      )
    const response = await call('loud')
    assert.equal(response.status, 200)
    const [answer] = await messages(response)
    assert.equal(answer?.id, 7)
    assert.equal(answer?.error?.code, -32602)
    assert.match(answer?.error?.message ?? '', /"loud"/)
    assert.equal(
      seen.some((m) => m.method === 'tools/call'),
      false,
      'the call went no further',
    )
    const [ok] = await messages(await call('error'))
    assert.equal(ok?.id, 7)
    assert.ok(ok?.result, 'a known level is translated as before')
    await era.close()
  })

  it('keeps two clients that reuse one JSON-RPC id apart, and opens one session per subject', async () => {
    const { upstream, handler } = legacyUpstream()
    const era = eraUpstream(upstream)
    const [a, b, c] = await Promise.all(
      ['a', 'b', 'c'].map((v, i) =>
        era.fetch(
          modern(
            'tools/call',
            { name: 'echo', arguments: { v } },
            { id: 1, subject: i === 2 ? 'bob' : 'alice' },
          ),
        ),
      ),
    )
    assert.equal(textOf((await messages(a!))[0]), '{"v":"a"}')
    assert.equal(textOf((await messages(b!))[0]), '{"v":"b"}')
    assert.equal(textOf((await messages(c!))[0]), '{"v":"c"}')
    assert.equal(handler.initializes, 2)
    await era.close()
  })

  it('refuses the upstream its server-to-client requests (a 2026 client has none) without hanging the call', async () => {
    const { upstream } = legacyUpstream()
    const era = eraUpstream(upstream)
    const out = await messages(
      await era.fetch(modern('tools/call', { name: 'roots', arguments: {} }, { id: 3 })),
    )
    assert.equal(out.length, 1, JSON.stringify(out))
    assert.match(textOf(out[0]), /^refused: .*roots\/list is not available/)
    await era.close()
  })

  it('starts a new upstream session when the upstream lost it (restart), without the client noticing', async () => {
    const { upstream, handler } = legacyUpstream()
    const lines: string[] = []
    const era = eraUpstream(upstream, { log: (l) => lines.push(l) })
    await messages(await era.fetch(modern('tools/list')))
    await handler.forgetSessions()
    const out = await messages(
      await era.fetch(modern('tools/call', { name: 'echo', arguments: { x: 1 } }, { id: 9 })),
    )
    assert.equal(out[0]?.id, 9)
    assert.equal(textOf(out[0]), '{"x":1}')
    assert.equal(handler.initializes, 2)
    assert.match(lines.join('\n'), /lost the session/)
    await era.close()
  })

  it('tells the upstream when the client closes the stream of a call (2026 cancellation)', async () => {
    const { upstream, cancelled, seen } = legacyUpstream()
    const era = eraUpstream(upstream)
    const response = await era.fetch(
      modern('tools/call', { name: 'wait', arguments: { tag: 'w' } }, { id: 4 }),
    )
    await response.body!.cancel()
    for (let i = 0; i < 200 && cancelled.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
    assert.deepEqual(cancelled, ['w'])
    const notice = seen.find((m) => m.method === 'notifications/cancelled')
    assert.equal(notice?.params?.['requestId'], seen.find((m) => m.method === 'tools/call')?.id)
    await era.close()
  })

  it('advertises no list-change or resource-subscription notifications: a translated session cannot deliver them', async () => {
    const handler = v1StreamableHandler(
      () =>
        new V1Server(
          { name: 'notifying', version: '1.0.0' },
          {
            capabilities: {
              tools: { listChanged: true },
              prompts: { listChanged: true },
              resources: { subscribe: true, listChanged: true },
              logging: {},
              completions: {},
            },
          },
        ),
    )
    const era = eraUpstream({ describe: 'notifying (test)', fetch: handler.fetch, async close() {} })
    const [d] = await messages(await era.fetch(modern('server/discover')))
    assert.deepEqual(d?.result?.['capabilities'], {
      tools: {},
      prompts: {},
      resources: {},
      logging: {},
      completions: {},
    })
    // The 2026-07-28 way to get them, subscriptions/listen, reaches a 2025 server that does not know it: no
    // acknowledgement, no stream, only its method-not-found.
    const listen = await messages(
      await era.fetch(
        modern('subscriptions/listen', { notifications: { toolsListChanged: true } }, { id: 5 }),
      ),
    )
    assert.deepEqual(
      listen.map((m) => [m.id, m.method, m.error?.code]),
      [[5, undefined, -32601]],
    )
    await era.close()
  })

  it('translates only for a verified principal: identity headers alone open no session', async () => {
    const { upstream, handler } = legacyUpstream()
    const lines: string[] = []
    const era = eraUpstream(upstream, { log: (l) => lines.push(l) })
    const marked = modern('tools/list', {}, { id: 2 })
    const unmarked = new Request(marked.url, {
      method: 'POST',
      headers: marked.headers,
      body: await marked.text(),
    })
    const r = await era.fetch(unmarked)
    assert.equal(r.status, 502)
    assert.equal(((await r.json()) as JsonRpc).id, 2)
    assert.equal(handler.initializes, 0)
    assert.match(lines.join('\n'), /no verified principal/)
    await era.close()
  })

  it('ends its upstream sessions on close', async () => {
    const { upstream } = legacyUpstream()
    const { deletes, era } = recordingDeletes(upstream)
    await messages(await era.fetch(modern('tools/list')))
    await era.close()
    assert.equal(deletes.length, 1)
    assert.ok(deletes[0])
  })

  it('ends the session of a token without a subject once that token expired; a subject keeps its session', async () => {
    const { upstream } = legacyUpstream()
    const { deletes, era } = recordingDeletes(upstream)
    const now = Math.floor(Date.now() / 1000)
    const list = async (auth: Partial<AuthInfo>) => {
      const [answer] = await messages(await era.fetch(modern('tools/list', {}, { auth })))
      assert.equal(answer?.result?.['resultType'], 'complete')
    }
    // Expired while its request was answered (the token was still good when checked): ended once it is done.
    await list({ token: 'expired', extra: {}, expiresAt: now - 1 })
    assert.equal(deletes.length, 1)
    // A token that is still good, or a subject (whose tokens come and go), keeps its session.
    await list({ token: 'fresh', extra: {}, expiresAt: now + 3600 })
    await list({ token: 'of-alice', expiresAt: now - 1 })
    assert.equal(deletes.length, 1)
    await era.close()
    assert.equal(deletes.length, 3)
    assert.equal(new Set(deletes).size, 3)
  })
})
