/**
 * `mcp-oauth connect` between a host pinned to 2026-07-28 and an SDK v1 server that speaks only 2025 revisions:
 * the host gets only what a 2026-07-28 server may send it. Log messages come only on the stream of a request that
 * asked for them in `_meta`, at or above its level (one naming an unknown level gets Invalid params from the bridge
 * and never reaches the server); a 2025 host still gets every one. The server's own requests never reach the host
 * (2026-07-28 has none): the bridge answers `ping` and refuses the rest, and declared no roots, sampling or
 * elicitation to the server. Progress comes only for the `progressToken` of a request in flight (a 2025 host gets
 * it all), and no `notifications/cancelled`, which a 2026-07-28 server sends only to end a `subscriptions/listen`
 * stream.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/server/utilities/logging#per-request-log-level
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Server as V1Server } from '@modelcontextprotocol/sdk/server/index.js'
import {
  CallToolRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  EmptyResultSchema,
  ListRootsResultSchema,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js'
import { type HostLine, legacyServerForBridges, modernMeta } from '../support/raw-stdio-host.ts'

const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] })

/** How the server's requests were answered: `ok`, or the JSON-RPC error code. */
async function answered(ask: () => Promise<unknown>): Promise<string | number> {
  return ask().then(
    () => 'ok',
    (e: { code?: number }) => e.code ?? String(e),
  )
}

/**
 * `ask` sends the host's requests on its own response stream, and `roots/list` on the GET stream, and says how
 * each was answered and which client capabilities the session declared.
 */
async function ask(
  server: V1Server,
  send: (r: { method: string; params?: object }, schema: never) => Promise<unknown>,
) {
  const result = {
    ping: await answered(() => send({ method: 'ping' }, EmptyResultSchema as never)),
    'sampling/createMessage': await answered(() =>
      send(
        { method: 'sampling/createMessage', params: { messages: [], maxTokens: 1 } },
        CreateMessageResultSchema as never,
      ),
    ),
    'elicitation/create': await answered(() =>
      send(
        {
          method: 'elicitation/create',
          params: { message: 'name?', requestedSchema: { type: 'object', properties: {} } },
        },
        ElicitResultSchema as never,
      ),
    ),
    'roots/list': await answered(() => server.request({ method: 'roots/list' }, ListRootsResultSchema)),
    capabilities: Object.keys(server.getClientCapabilities() ?? {}),
  }
  return text(JSON.stringify(result))
}

/**
 * `chatty` logs at three levels on its own response stream and once on the GET stream, then sends progress on the
 * GET stream after that log: once the host has the progress, it has seen the GET-stream log or never will.
 */
/**
 * Progress for the host's request on the GET stream, then a ping there that the server awaits: the bridge reads that
 * stream in order, so once the call is answered it has handled the progress (its request still in flight) and what
 * the GET stream carried before it. Without the ping the answer may overtake them, on a stream of its own.
 */
async function marker(server: V1Server, progressToken: unknown) {
  if (progressToken !== undefined)
    await server.notification({
      method: 'notifications/progress',
      params: { progressToken, progress: 1 },
    } as never)
  await server.request({ method: 'ping' }, EmptyResultSchema).catch(() => {})
}

/** `tools/call` requests the server received, in every session. */
let calls = 0

function v1Server(): V1Server {
  const server = new V1Server(
    { name: 'legacy', version: '1.0.0' },
    { capabilities: { tools: {}, logging: {} } },
  )
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [
      { name: 'chatty', inputSchema: { type: 'object' } },
      { name: 'ask', inputSchema: { type: 'object' } },
      { name: 'cancel', inputSchema: { type: 'object' } },
      { name: 'stray', inputSchema: { type: 'object' } },
    ],
  }))
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    calls++
    if (request.params.name === 'cancel') {
      // A server that cancels requests of its own (as the SDK does when one times out), on both streams.
      await extra.sendNotification({
        method: 'notifications/cancelled',
        params: { requestId: 'on the request' },
      })
      await server.notification({
        method: 'notifications/cancelled',
        params: { requestId: 'on the GET stream' },
      })
      await marker(server, request.params._meta?.progressToken)
      return text('cancelled')
    }
    if (request.params.name === 'stray') {
      // Progress for a token no request of the host's carries, on both streams, then the GET stream's marker.
      const stray = {
        method: 'notifications/progress' as const,
        params: { progressToken: 'stray', progress: 1 },
      }
      await extra.sendNotification(stray)
      await server.notification(stray)
      await marker(server, request.params._meta?.progressToken)
      return text('strayed')
    }
    if (request.params.name === 'ask') {
      const out = await ask(server, extra.sendRequest as never)
      await marker(server, request.params._meta?.progressToken)
      return out
    }
    for (const level of ['debug', 'warning', 'error'] as const)
      await extra.sendNotification({
        method: 'notifications/message',
        params: { level, data: `${level} on the request` },
      })
    await server.sendLoggingMessage({ level: 'error', data: 'error on the GET stream' })
    await marker(server, request.params._meta?.progressToken)
    return text('chatted')
  })
  return server
}

let legacy: Awaited<ReturnType<typeof legacyServerForBridges>>

before(async () => {
  legacy = await legacyServerForBridges(v1Server)
})
after(() => legacy.close())

const call = (name: string, meta: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  id: 2,
  method: 'tools/call',
  params: { name, arguments: {}, _meta: { ...meta, progressToken: 'tok' } },
})
/** The answer to the host's call (the server's own requests may use the same id). */
const isAnswer = (m: HostLine) => m.id === 2 && m.method === undefined
const progress = (m: HostLine) =>
  m.method === 'notifications/progress' && m.params?.['progressToken'] === 'tok'
/** Call `name` and wait for its answer and the GET stream's progress after what it sent. */
async function callAndWait(
  host: Awaited<ReturnType<typeof legacy.modernHost>>,
  name: string,
  meta: Record<string, unknown>,
) {
  host.send(call(name, meta))
  await host.next(progress)
  await host.next(isAnswer)
}
const strayProgress = (lines: HostLine[]) =>
  lines.filter((m) => m.method === 'notifications/progress' && m.params?.['progressToken'] === 'stray').length
const cancellations = (lines: HostLine[]) =>
  lines.filter((m) => m.method === 'notifications/cancelled').map((m) => String(m.params?.['requestId']))
const logs = (lines: HostLine[]) =>
  lines.filter((m) => m.method === 'notifications/message').map((m) => String(m.params?.['data']))

describe('connect: a 2026-07-28 host in front of a 2025 server', { timeout: 60_000 }, () => {
  it('gets log messages only on the stream of a request that asked, at or above its level', async (t) => {
    const host = await legacy.modernHost(t)
    await callAndWait(host, 'chatty', { ...modernMeta(), 'io.modelcontextprotocol/logLevel': 'warning' })
    assert.deepEqual(logs(host.lines), ['warning on the request', 'error on the request'])
    assert.equal(await host.exited(), 0)
  })

  it('gets Invalid params for a request asking for an unknown log level, which never reaches the server', async (t) => {
    const host = await legacy.modernHost(t)
    const before = calls
    host.send(call('chatty', { ...modernMeta(), 'io.modelcontextprotocol/logLevel': 'loud' }))
    await host.next(isAnswer)
    const answer = host.lines.find(isAnswer) as { error?: { code: number; message: string } }
    assert.equal(answer.error?.code, -32602)
    assert.match(answer.error?.message ?? '', /"loud"/)
    // The bridge answered alone: a call the server handled, like the next one, would have been counted.
    await callAndWait(host, 'chatty', modernMeta())
    assert.equal(calls, before + 1)
    assert.equal(await host.exited(), 0)
  })

  it('gets no log message for a request that asked for none', async (t) => {
    const host = await legacy.modernHost(t)
    await callAndWait(host, 'chatty', modernMeta())
    assert.deepEqual(logs(host.lines), [])
    assert.equal(await host.exited(), 0)
  })

  it('never gets a server request: the bridge answers ping, refuses the rest, and declared none of them', async (t) => {
    const meta = modernMeta({ roots: { listChanged: true }, sampling: {}, elicitation: { form: {} } })
    const host = await legacy.modernHost(t, meta)
    await callAndWait(host, 'ask', meta)
    assert.deepEqual(
      host.lines.filter((m) => m.method !== undefined && m.id !== undefined),
      [],
    )
    const answer = host.lines.find(isAnswer)?.result as { content: { text: string }[] }
    assert.deepEqual(JSON.parse(answer.content[0]!.text), {
      ping: 'ok',
      'sampling/createMessage': -32601,
      'elicitation/create': -32601,
      'roots/list': -32601,
      capabilities: [],
    })
    assert.equal(await host.exited(), 0)
  })

  it('gets no notifications/cancelled from the server', async (t) => {
    const host = await legacy.modernHost(t)
    await callAndWait(host, 'cancel', modernMeta())
    assert.deepEqual(cancellations(host.lines), [])
    assert.equal(await host.exited(), 0)
  })

  it('gets progress only for the token of a request in flight', async (t) => {
    const host = await legacy.modernHost(t)
    await callAndWait(host, 'stray', modernMeta())
    assert.equal(strayProgress(host.lines), 0)
    assert.equal(await host.exited(), 0)
  })

  it('a 2025 host still gets every log message the server sends', async (t) => {
    const host = await legacy.legacyHost(t)
    await callAndWait(host, 'chatty', {})
    assert.deepEqual(logs(host.lines).sort(), [
      'debug on the request',
      'error on the GET stream',
      'error on the request',
      'warning on the request',
    ])
    assert.equal(await host.exited(), 0)
  })
})

describe('connect: a 2025 host in front of a 2025 server', { timeout: 60_000 }, () => {
  it('gets the server requests its capabilities allow, and answers them itself', async (t) => {
    const host = await legacy.legacyHost(t, { roots: {}, sampling: {}, elicitation: {} })
    await callAndWait(host, 'ask', {})
    const asked = host.lines.filter((m) => m.method !== undefined && m.id !== undefined).map((m) => m.method)
    // Each once, and `ping` once more: the GET stream's marker.
    assert.deepEqual(asked.sort(), [
      'elicitation/create',
      'ping',
      'ping',
      'roots/list',
      'sampling/createMessage',
    ])
    const answer = host.lines.find(isAnswer)?.result as { content: { text: string }[] }
    assert.deepEqual(JSON.parse(answer.content[0]!.text)['capabilities'].sort(), [
      'elicitation',
      'roots',
      'sampling',
    ])
    assert.equal(await host.exited(), 0)
  })

  it('gets progress whatever its token', async (t) => {
    const host = await legacy.legacyHost(t)
    await callAndWait(host, 'stray', {})
    assert.equal(strayProgress(host.lines), 2)
    assert.equal(await host.exited(), 0)
  })

  it("gets the server's notifications/cancelled", async (t) => {
    const host = await legacy.legacyHost(t)
    await callAndWait(host, 'cancel', {})
    assert.deepEqual(cancellations(host.lines).sort(), ['on the GET stream', 'on the request'])
    assert.equal(await host.exited(), 0)
  })
})
