import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Bridge } from './bridge.ts'
import type { Answer, Post } from './node-post.ts'
import { META, MODERN } from './protocol.ts'

function answer(
  status: number,
  body: string,
  headers: Record<string, string> = {},
  each?: Answer['each'],
): Answer {
  return {
    status,
    header: (name) => headers[name],
    text: async () => body,
    each:
      each ??
      (async (on) => {
        if (body) on(body)
      }),
    discard: async () => {},
  }
}

test("a 2025 server's request arriving as a 2026-07-28 host's bridge closes is not answered on a session of its own", async () => {
  let pushPing = () => {}
  const posts: { session: string | undefined; body: string }[] = []
  const json = { 'content-type': 'application/json' }
  const post: Post = async (_url, headers, body, options = {}) => {
    if (options.method === 'GET')
      return answer(200, '', { 'content-type': 'text/event-stream' }, (on) => {
        return new Promise<void>((resolve) => {
          pushPing = () => {
            on('event: message\ndata: {"jsonrpc":"2.0","id":99,"method":"ping"}\n\n')
            resolve()
          }
        })
      })
    if (options.method === 'DELETE') {
      // The server asks something just as the session ends.
      pushPing()
      await new Promise((resolve) => setTimeout(resolve, 20))
      return answer(200, '')
    }
    posts.push({ session: headers['mcp-session-id'], body })
    const m = JSON.parse(body) as { id?: unknown; method?: string }
    if (m.method === 'server/discover')
      return answer(
        400,
        JSON.stringify({ jsonrpc: '2.0', id: m.id, error: { code: -32600, message: 'no' } }),
        json,
      )
    if (m.method === 'initialize') {
      const result = {
        protocolVersion: '2025-11-25',
        capabilities: {},
        serverInfo: { name: 's', version: '1' },
      }
      return answer(200, JSON.stringify({ jsonrpc: '2.0', id: m.id, result }), {
        ...json,
        'mcp-session-id': 's1',
      })
    }
    if (m.id === undefined || m.method === undefined) return answer(202, '')
    return answer(200, JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { tools: [] } }), json)
  }
  const lines: string[] = []
  const bridge = new Bridge({
    url: 'http://127.0.0.1:9/mcp',
    fetch: async () => {
      throw new Error('every request of this test goes through post')
    },
    post,
    toHost: () => {},
    log: (line) => lines.push(line),
  })
  const meta = {
    [META.protocolVersion]: MODERN,
    [META.clientInfo]: { name: 'host', version: '1' },
    [META.clientCapabilities]: {},
  }
  await bridge.fromHost({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta } })
  await new Promise((resolve) => setTimeout(resolve, 20))
  await bridge.close()
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.deepEqual(
    posts.filter((p) => p.body.includes('"id":99')),
    [],
    'no answer posted once the bridge is closing (it would open a session of its own, or sign in)',
  )
  assert.ok(posts.every((p) => p.session === 's1' || /server\/discover|initialize/.test(p.body)))
  assert.match(lines.join('\n'), /not answering "ping": its session is ending/)
})
