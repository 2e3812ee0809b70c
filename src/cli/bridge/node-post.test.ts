import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { startServer, type TestServer } from '../../../test/support/http-server.ts'
import { Session } from '../../client/session.ts'
import { MemoryStore, storeKey } from '../../client/stores/store.ts'
import { sessionPost } from './node-post.ts'

describe('sessionPost (the bridge steady-state POST on node:http)', () => {
  let server: TestServer
  const seen: {
    method: string
    authorization: string | undefined
    body: string
    custom: string | undefined
  }[] = []
  before(async () => {
    server = await startServer({
      '/mcp': (req, res, body) => {
        seen.push({
          method: req.method ?? '',
          authorization: req.headers.authorization,
          body,
          custom: req.headers['x-custom'] as string | undefined,
        })
        const mode = req.headers['x-mode']
        if (mode === '401') return void res.writeHead(401, { 'www-authenticate': 'Bearer' }).end()
        if (mode === '403') return void res.writeHead(403).end()
        if (mode === '307') return void res.writeHead(307, { location: '/elsewhere' }).end()
        if (mode === 'slow') return // never answers
        if (mode === 'sse') {
          res.writeHead(200, { 'content-type': 'text/event-stream' })
          res.write('event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\n')
          setTimeout(() => res.end('event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n'), 20)
          return
        }
        res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 's1' }).end(body)
      },
    })
  })
  after(() => server.close())

  async function sessionWith(tokenType: string | undefined): Promise<Session> {
    const store = new MemoryStore()
    const session = new Session({ serverUrl: `${server.origin}/mcp`, store })
    if (tokenType) {
      // A stored session, as `mcp-oauth login` leaves it.
      const now = Date.now()
      await store.set(storeKey.current(session.server), { key: 'session test' })
      await store.set('session test', {
        server: session.server,
        resource: session.server,
        issuer: 'https://as.example',
        client_id: 'c',
        tokens: { access_token: 'tok-1', token_type: tokenType, expires_at: now + 3_600_000, issued_at: now },
        updated_at: now,
      })
    }
    return session
  }

  it('presents the stored Bearer token, keeps the caller headers (case-insensitively), reads the answer', async () => {
    const session = await sessionWith('Bearer')
    const post = sessionPost(session, `${server.origin}/mcp`)!
    const body = '{"jsonrpc":"2.0","id":1,"method":"ping"}'
    const answer = await post(
      `${server.origin}/mcp`,
      { 'X-Custom': 'v', Authorization: 'Bearer forged' },
      body,
    )
    assert.ok(answer)
    assert.equal(answer.status, 200)
    assert.equal(answer.header('mcp-session-id'), 's1')
    assert.equal(await answer.text(), body)
    const last = seen.at(-1)!
    assert.equal(last.authorization, 'Bearer tok-1')
    assert.equal(last.custom, 'v')
  })

  it('hands SSE events on chunk by chunk', async () => {
    const post = sessionPost(await sessionWith('Bearer'), `${server.origin}/mcp`)!
    const answer = await post(`${server.origin}/mcp`, { 'x-mode': 'sse' }, '{}')
    const chunks: string[] = []
    await answer!.each((c) => chunks.push(c))
    assert.ok(chunks.length >= 2, 'the progress event arrived before the end')
    assert.match(chunks.join(''), /"id":1/)
  })

  it('declines what belongs to the authorized fetch: 401, 403, a redirect, a DPoP token, another URL', async () => {
    const bearer = sessionPost(await sessionWith('Bearer'), `${server.origin}/mcp`)!
    for (const mode of ['401', '403', '307']) {
      assert.equal(await bearer(`${server.origin}/mcp`, { 'x-mode': mode }, '{}'), undefined, mode)
    }
    assert.equal(await bearer(`${server.origin}/other`, {}, '{}'), undefined)
    const before = seen.length
    const dpop = sessionPost(await sessionWith('DPoP'), `${server.origin}/mcp`)!
    assert.equal(await dpop(`${server.origin}/mcp`, {}, '{}'), undefined)
    assert.equal(seen.length, before, 'a DPoP-bound token never goes out without its proof')
  })

  it('sends no Authorization header when no session is stored', async () => {
    const post = sessionPost(await sessionWith(undefined), `${server.origin}/mcp`)!
    const answer = await post(`${server.origin}/mcp`, {}, '{}')
    await answer!.text()
    assert.equal(seen.at(-1)!.authorization, undefined)
  })

  it('a server that never answers fails the request after timeoutMs, with a network error', async () => {
    const post = sessionPost(await sessionWith('Bearer'), `${server.origin}/mcp`)!
    await assert.rejects(
      post(`${server.origin}/mcp`, { 'x-mode': 'slow' }, '{}', { timeoutMs: 200 }),
      (e: Error) => {
        assert.doesNotMatch(e.message, /tok-1/)
        return true
      },
    )
  })

  it('a discarded short answer keeps its connection; a User-Agent is sent as fetch would', async () => {
    // Its own server: the shared one closes idle connections at once.
    const agents: (string | undefined)[] = []
    const keeper = createServer((req, res) => {
      agents.push(req.headers['user-agent'])
      req.resume()
      req.on('end', () => res.writeHead(202, { 'content-length': '0' }).end())
    })
    keeper.keepAliveTimeout = 10_000
    await new Promise<void>((r) => keeper.listen(0, '127.0.0.1', r))
    const sockets = new Set<unknown>()
    keeper.on('connection', (s) => void sockets.add(s))
    try {
      const origin = `http://127.0.0.1:${(keeper.address() as AddressInfo).port}`
      const store = new MemoryStore()
      const post = sessionPost(new Session({ serverUrl: `${origin}/mcp`, store }), `${origin}/mcp`)!
      for (let i = 0; i < 3; i++) await (await post(`${origin}/mcp`, {}, '{}'))!.discard()
    } finally {
      keeper.closeAllConnections()
      await new Promise((r) => keeper.close(r))
    }
    assert.equal(sockets.size, 1, 'three requests on one kept-alive connection')
    assert.deepEqual(agents, ['mcp-oauth', 'mcp-oauth', 'mcp-oauth'])
  })

  it('a header value HTTP forbids is refused naming the header, never its value', async () => {
    const post = sessionPost(await sessionWith('Bearer'), `${server.origin}/mcp`)!
    await assert.rejects(post(`${server.origin}/mcp`, { 'X-Api-Key': 'sec\u0000ret' }, '{}'), (e: Error) => {
      assert.match(e.message, /x-api-key/)
      assert.doesNotMatch(e.message, /sec|ret/)
      return true
    })
  })

  it('GET and DELETE go out without a body', async () => {
    const post = sessionPost(await sessionWith('Bearer'), `${server.origin}/mcp`)!
    for (const method of ['GET', 'DELETE'] as const) {
      const answer = await post(`${server.origin}/mcp`, {}, '', { method })
      await answer!.discard()
      assert.equal(seen.at(-1)!.method, method)
      assert.equal(seen.at(-1)!.body, '')
    }
  })

  it('is off when proxy variables are in force, or for another origin than the session', async () => {
    const session = await sessionWith('Bearer')
    const saved = process.env['HTTPS_PROXY']
    process.env['HTTPS_PROXY'] = 'http://127.0.0.1:9'
    try {
      assert.equal(sessionPost(session, `${server.origin}/mcp`), undefined)
      assert.ok(
        sessionPost(session, `${server.origin}/mcp`, false),
        'mcp-remote argument lists ignore proxies',
      )
    } finally {
      if (saved === undefined) delete process.env['HTTPS_PROXY']
      else process.env['HTTPS_PROXY'] = saved
    }
    assert.equal(sessionPost(session, 'http://127.0.0.2:1/mcp'), undefined)
  })
})
