/**
 * stdioUpstream against a real child: an SDK v1 stdio server (test/support/stdio-server.ts) in its own process,
 * spoken to through `fetch` with Streamable HTTP requests, as the gateway does.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { AuthInfo } from '../../server/index.ts'
import { forPrincipal } from './identity.ts'
import { IDENTITY_META_KEY, stdioUpstream } from './stdio-upstream.ts'
import type { Upstream } from './upstream.ts'

const SERVER = fileURLToPath(new URL('../../../test/support/stdio-server.ts', import.meta.url))
const URL_ = 'http://127.0.0.1/mcp'
// biome-ignore lint/suspicious/noExplicitAny: test reads of JSON-RPC messages
type Message = Record<string, any>

let upstream: Upstream
const log: string[] = []
before(async () => {
  process.env['MCP_OAUTH_TEST_SECRET'] = 'must-not-reach-the-child'
  upstream = await stdioUpstream({
    command: process.execPath,
    args: [SERVER],
    env: { PASSED_EXPLICITLY: 'yes' },
    log: (line) => log.push(line),
    restartDelayMs: { initial: 50, max: 1000 },
  })
})
after(async () => {
  delete process.env['MCP_OAUTH_TEST_SECRET']
  await upstream.close()
})

/** Reads SSE events from a response until `done` says so (or the stream ends); returns the messages. */
async function readEvents(response: Response, done: (messages: Message[]) => boolean = () => false) {
  const messages: Message[] = []
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done: end } = await reader.read()
    if (end) break
    buffer += value
    let cut = buffer.indexOf('\n\n')
    while (cut !== -1) {
      const data = buffer
        .slice(0, cut)
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n')
      if (data) messages.push(JSON.parse(data))
      buffer = buffer.slice(cut + 2)
      cut = buffer.indexOf('\n\n')
    }
    if (done(messages)) {
      await reader.cancel()
      break
    }
  }
  return messages
}

/** Whom the gateway verified, for the requests of these tests: tokens of client c1 without a subject. */
const principal = (token: string): AuthInfo => ({ token, clientId: 'c1', scopes: ['mcp'] })
const CALLER = principal('token-of-the-usual-caller')

/** A request as the gateway forwards it: marked with the principal of the token it verified. */
function forward(sid: string | undefined, init: RequestInit, as = CALLER) {
  const headers = new Headers(init.headers)
  if (sid) {
    headers.set('mcp-session-id', sid)
    headers.set('mcp-protocol-version', '2025-11-25')
  }
  return upstream.fetch(forPrincipal(new Request(URL_, { ...init, headers }), as))
}

function post(sid: string | undefined, body: unknown, headers: Record<string, string> = {}, as = CALLER) {
  const accept = 'application/json, text/event-stream'
  return forward(
    sid,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept, ...headers },
      body: JSON.stringify(body),
    },
    as,
  )
}

async function openSession(name: string, as = CALLER): Promise<string> {
  const response = await post(
    undefined,
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: { roots: {} },
        clientInfo: { name, version: '1' },
      },
    },
    {},
    as,
  )
  assert.equal(response.status, 200)
  const sid = response.headers.get('mcp-session-id')!
  const [init] = await readEvents(response)
  assert.equal(init!['result'].serverInfo.name, 'stdio-test')
  assert.equal((await post(sid, { jsonrpc: '2.0', method: 'notifications/initialized' }, {}, as)).status, 202)
  return sid
}

async function call(sid: string, id: number, name: string, args: Message = {}, extra: Message = {}) {
  const response = await post(sid, {
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name, arguments: args, ...extra },
  })
  assert.equal(response.status, 200)
  return await readEvents(response)
}
const textOf = (m: Message | undefined) => m?.['result']?.content?.[0]?.text as string
const waitForLog = async (needle: string) => {
  while (!log.some((l) => l.includes(needle))) await new Promise((r) => setTimeout(r, 10))
}

test('the child stderr reaches the log with a prefix; our secrets stay out of its environment', async () => {
  const sid = await openSession('env')
  await waitForLog('[upstream] stdio-server ready')
  assert.equal(textOf((await call(sid, 2, 'env', { name: 'MCP_OAUTH_TEST_SECRET' })).at(-1)), 'null')
  assert.equal(textOf((await call(sid, 3, 'env', { name: 'PASSED_EXPLICITLY' })).at(-1)), '"yes"')
})

test('two sessions using the same ids and progress token each get their own answers and progress', async () => {
  const [a, b] = await Promise.all([openSession('a'), openSession('b')])
  assert.notEqual(a, b)
  const meta = { _meta: { progressToken: 'p' } }
  const [fromA, fromB] = await Promise.all([
    call(a, 7, 'slow', { steps: 3, tag: 'A' }, meta),
    call(b, 7, 'slow', { steps: 3, tag: 'B' }, meta),
  ])
  for (const [messages, tag] of [
    [fromA, 'A'],
    [fromB, 'B'],
  ] as const) {
    const progress = messages.filter((m) => m['method'] === 'notifications/progress')
    assert.deepEqual(
      progress.map((m) => [m['params'].progressToken, m['params'].progress, m['params'].message]),
      [
        ['p', 1, tag],
        ['p', 2, tag],
        ['p', 3, tag],
      ],
    )
    assert.equal(messages.at(-1)!['id'], 7)
    assert.equal(textOf(messages.at(-1)), `${tag} done`)
  }
})

test('the identity the gateway verified goes in _meta; a client cannot forge it', async () => {
  const sid = await openSession('who')
  const forged = { _meta: { [IDENTITY_META_KEY]: { subject: 'mallory', scopes: ['admin'] } } }
  const response = await post(
    sid,
    { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'whoami', arguments: {}, ...forged } },
    { 'x-mcp-oauth-subject': 'alice', 'x-mcp-oauth-scopes': 'tools admin', 'x-mcp-oauth-client': 'c1' },
  )
  const who = JSON.parse(textOf((await readEvents(response)).at(-1)))
  assert.deepEqual(who.identity, { subject: 'alice', scopes: ['tools', 'admin'], client_id: 'c1' })
  const anonymous = JSON.parse(textOf((await call(sid, 3, 'whoami', {}, forged)).at(-1)))
  assert.equal(anonymous.identity, null)
})

test('a cancellation reaches the child under its own id', async () => {
  const sid = await openSession('cancel')
  const response = await post(sid, {
    jsonrpc: '2.0',
    id: 5,
    method: 'tools/call',
    params: { name: 'slow', arguments: { steps: 0, tag: 'to-cancel' } },
  })
  await waitForLog('stdio-server started to-cancel')
  const cancelled = await post(sid, {
    jsonrpc: '2.0',
    method: 'notifications/cancelled',
    params: { requestId: 5, reason: 'test' },
  })
  assert.equal(cancelled.status, 202)
  await waitForLog('stdio-server cancelled to-cancel')
  await response.body!.cancel()
})

test('server notifications without a request go to every session; a 5 MB result arrives whole', async () => {
  const [a, b] = await Promise.all([openSession('n1'), openSession('n2')])
  // Each GET stream is registered by the time its fetch returns, so awaiting the responses orders them first.
  const opened = await Promise.all(
    [a, b].map((sid) => forward(sid, { headers: { accept: 'text/event-stream' } })),
  )
  for (const response of opened) assert.equal(response.status, 200)
  const streams = opened.map((response) =>
    readEvents(response, (ms) => ms.some((m) => m['method'] === 'notifications/tools/list_changed')),
  )
  assert.equal(textOf((await call(a, 2, 'announce')).at(-1)), 'announced')
  for (const messages of await Promise.all(streams)) {
    assert.ok(
      messages.some((m) => m['method'] === 'notifications/message' && m['params'].data === 'announced'),
    )
  }
  const big = await call(b, 3, 'big')
  assert.equal(textOf(big.at(-1)).length, 5 * 1024 * 1024)
})

test('a request from the child reaches the one client in flight, under our id; its answer goes back', async () => {
  const sid = await openSession('roots')
  const response = await post(sid, {
    jsonrpc: '2.0',
    id: 9,
    method: 'tools/call',
    params: { name: 'roots', arguments: {} },
  })
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  const next = async (): Promise<Message> => {
    for (;;) {
      const cut = buffer.indexOf('\n\n')
      if (cut !== -1) {
        const event = buffer.slice(0, cut)
        buffer = buffer.slice(cut + 2)
        const data = event.split('\n').find((l) => l.startsWith('data:'))
        if (data) return JSON.parse(data.slice(5))
        continue
      }
      const { value, done } = await reader.read()
      if (done) throw new Error('stream ended')
      buffer += value
    }
  }
  const ask = await next()
  assert.equal(ask['method'], 'roots/list')
  const roots = [{ uri: 'file:///srv/a', name: 'a' }]
  const answered = await post(sid, { jsonrpc: '2.0', id: ask['id'], result: { roots } })
  assert.equal(answered.status, 202)
  const result = await next()
  assert.equal(result['id'], 9)
  assert.deepEqual(JSON.parse(textOf(result)), roots)
})

test('junk on stdout is logged, not fatal', async () => {
  const sid = await openSession('junk')
  assert.equal(textOf((await call(sid, 2, 'junk')).at(-1)), 'after junk')
  assert.ok(log.some((l) => l.startsWith('[upstream] stdout line that is not JSON-RPC')))
})

test('a child killed mid-request: that request gets an error, the child restarts, sessions go on', async () => {
  const sid = await openSession('restart')
  const before_ = JSON.parse(textOf((await call(sid, 2, 'whoami')).at(-1))).pid as number
  const inflight = call(sid, 3, 'slow', { steps: 0, tag: 'killed' })
  await waitForLog('stdio-server started killed')
  process.kill(before_, 'SIGKILL')
  const [error] = await inflight
  assert.equal(error!['id'], 3)
  assert.equal(error!['error'].code, -32603)
  assert.match(error!['error'].message, /was killed by SIGKILL/)
  const after_ = JSON.parse(textOf((await call(sid, 4, 'whoami')).at(-1))).pid as number
  assert.notEqual(after_, before_)
  assert.ok(log.some((l) => l.startsWith('[upstream] restarting in')))
})

test('past maxSessions the least recently used session ends (404); an answer over the line limit is an error', async () => {
  const small = await stdioUpstream({
    command: process.execPath,
    args: [SERVER],
    log: () => {},
    maxSessions: 2,
    maxMessageBytes: 1024 * 1024,
  })
  const saved = upstream
  upstream = small
  try {
    const a = await openSession('a')
    const b = await openSession('b')
    assert.equal((await post(a, { jsonrpc: '2.0', id: 2, method: 'ping' })).status, 200)
    const c = await openSession('c')
    assert.equal((await post(b, { jsonrpc: '2.0', id: 3, method: 'ping' })).status, 404)
    for (const sid of [a, c])
      assert.equal(
        textOf((await call(sid, 4, 'echo', { value: sid })).at(-1)),
        JSON.stringify({ value: sid }),
      )
  } finally {
    upstream = saved
    await small.close()
  }
})

test('--restart never: after the child exits, requests get an error naming the exit, and no restart', async () => {
  const lines: string[] = []
  const once = await stdioUpstream({
    command: process.execPath,
    args: [SERVER],
    log: (l) => lines.push(l),
    restart: 'never',
  })
  const saved = upstream
  upstream = once
  try {
    const sid = await openSession('never')
    const pid = JSON.parse(textOf((await call(sid, 2, 'whoami')).at(-1))).pid as number
    process.kill(pid, 'SIGTERM')
    while (!lines.some((l) => l.includes('process was killed by SIGTERM')))
      await new Promise((r) => setTimeout(r, 10))
    const [failed] = await call(sid, 3, 'whoami')
    assert.equal(failed!['error'].code, -32603)
    assert.match(failed!['error'].message, /was killed by SIGTERM/)
    assert.ok(!lines.some((l) => l.includes('restarting')), lines.join('\n'))
  } finally {
    upstream = saved
    await once.close()
  }
})

test('a command that cannot start is a typed error at once, with a hint', async () => {
  await assert.rejects(
    stdioUpstream({ command: 'mcp-oauth-no-such-command', args: [], log: () => {} }),
    (e: Error & { code?: string; hint?: string }) =>
      e.code === 'upstream_command_failed' &&
      /ENOENT/.test(e.message) &&
      /mcp-oauth serve --stdio --/.test(e.hint ?? ''),
  )
})

test('an unknown session is told 404; a request without one that is not initialize, 400', async () => {
  assert.equal((await post('nope', { jsonrpc: '2.0', id: 1, method: 'tools/list' })).status, 404)
  assert.equal((await post(undefined, { jsonrpc: '2.0', id: 1, method: 'tools/list' })).status, 400)
})

test('a session belongs to the principal that opened it: another gets 404 for POST, GET and DELETE', async () => {
  const [a, b] = [principal('token-a'), principal('token-b')]
  const sid = await openSession('owner', a)
  const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' }
  const attempts = [
    post(sid, list, {}, b),
    forward(sid, { headers: { accept: 'text/event-stream' } }, b),
    forward(sid, { method: 'DELETE' }, b),
  ]
  for (const response of await Promise.all(attempts)) {
    assert.equal(response.status, 404)
    await response.body?.cancel()
  }
  assert.ok(
    (await readEvents(await post(sid, list, {}, a))).at(-1)!['result'].tools,
    'the owner still uses it',
  )
  assert.equal((await forward(sid, { method: 'DELETE' }, a)).status, 200)
  const unmarked = new Request(URL_, { method: 'DELETE', headers: { 'mcp-session-id': sid } })
  assert.equal((await upstream.fetch(unmarked)).status, 500, 'a request the gateway did not verify')
})
