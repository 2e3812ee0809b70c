import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { forModernHost, InFlight, KindsSeen } from './modern-host.ts'
import { legacyClientCapabilities, logLevelAllows } from './protocol.ts'

/** No request in flight awaits progress. */
const none = { awaitsProgress: () => false }

const log = (level: string) => ({
  jsonrpc: '2.0' as const,
  method: 'notifications/message',
  params: { level, data: 'x' },
})

describe('forModernHost', () => {
  it('forwards answers, progress and log messages at or above the level their request asked for', () => {
    const answer = { jsonrpc: '2.0' as const, id: 1, result: {} }
    assert.deepEqual(forModernHost(answer, undefined, none), { forward: answer })
    const progress = {
      jsonrpc: '2.0' as const,
      method: 'notifications/progress',
      params: { progressToken: 1 },
    }
    const awaits = { awaitsProgress: (token: unknown) => token === 1 }
    assert.deepEqual(forModernHost(progress, undefined, awaits), { forward: progress })
    assert.deepEqual(forModernHost(log('error'), { logLevel: 'warning' }, none), { forward: log('error') })
    assert.deepEqual(forModernHost(log('warning'), { logLevel: 'warning' }, none), {
      forward: log('warning'),
    })
  })

  it('drops progress whose token is none of a request in flight, whichever stream carried it', () => {
    const progress = (progressToken: unknown) => ({
      jsonrpc: '2.0' as const,
      method: 'notifications/progress',
      params: { progressToken, progress: 1 },
    })
    const awaits = { awaitsProgress: (token: unknown) => token === 'mine' }
    assert.ok('drop' in forModernHost(progress('other'), undefined, awaits))
    assert.ok('drop' in forModernHost(progress('other'), { logLevel: 'debug' }, awaits))
    assert.ok('drop' in forModernHost(progress(undefined), undefined, awaits))
    assert.ok('forward' in forModernHost(progress('mine'), undefined, awaits))
  })

  it('drops log messages below the level, without one, off a request stream; change notifications and cancellations', () => {
    assert.ok('drop' in forModernHost(log('info'), { logLevel: 'warning' }, none))
    assert.ok('drop' in forModernHost(log('emergency'), {}, none))
    assert.ok('drop' in forModernHost(log('emergency'), { logLevel: 'loud' }, none))
    assert.ok('drop' in forModernHost(log('emergency'), undefined, none))
    const changed = { jsonrpc: '2.0' as const, method: 'notifications/tools/list_changed' }
    assert.ok('drop' in forModernHost(changed, { logLevel: 'debug' }, none))
    const cancelled = { jsonrpc: '2.0' as const, method: 'notifications/cancelled', params: { requestId: 3 } }
    assert.ok('drop' in forModernHost(cancelled, { logLevel: 'debug' }, none))
    assert.ok('drop' in forModernHost(cancelled, undefined, none))
  })

  it("drops every other notification: only those about a request, and a listen stream's, reach the host", () => {
    for (const method of ['notifications/tasks/status', 'notifications/elicitation/complete', 'x/custom'])
      assert.ok(
        'drop' in forModernHost({ jsonrpc: '2.0', method, params: {} }, { logLevel: 'debug' }, none),
        method,
      )
  })

  it('answers a request whose id is null rather than passing it on as a notification', () => {
    const verdict = forModernHost({ jsonrpc: '2.0', id: null, method: 'roots/list' }, undefined, none)
    assert.ok('answer' in verdict)
  })
})

describe('InFlight', () => {
  it('modernizes the answer to a request in flight, once', () => {
    const inFlight = new InFlight()
    const on = inFlight.start({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/list',
      params: { _meta: { 'io.modelcontextprotocol/logLevel': 'info' } },
    })
    assert.deepEqual(on, { logLevel: 'info' })
    const answer = { jsonrpc: '2.0' as const, id: 1, result: { tools: [] } }
    assert.equal(inFlight.answered(answer).result?.['cacheScope'], 'private')
    assert.equal(inFlight.answered(answer), answer)
  })

  it("awaits progress for the tokens of the host's requests until their answer (or failure)", () => {
    const inFlight = new InFlight()
    const call = (id: number, progressToken?: unknown) => ({
      jsonrpc: '2.0' as const,
      id,
      method: 'tools/call',
      params: { name: 't', _meta: progressToken === undefined ? {} : { progressToken } },
    })
    inFlight.start(call(1, 'a'))
    inFlight.start(call(2, 7))
    inFlight.start(call(3, 'a'))
    inFlight.start(call(4, { not: 'a token' }))
    inFlight.start(call(5))
    assert.equal(inFlight.awaitsProgress('a'), true)
    assert.equal(inFlight.awaitsProgress(7), true)
    assert.equal(inFlight.awaitsProgress('7'), false)
    assert.equal(inFlight.awaitsProgress(undefined), false)
    inFlight.answered({ jsonrpc: '2.0', id: 1, result: {} })
    assert.equal(inFlight.awaitsProgress('a'), true, 'request 3 still has it')
    inFlight.answered({ jsonrpc: '2.0', id: 3, error: { code: -32603, message: 'x' } })
    assert.equal(inFlight.awaitsProgress('a'), false)
    inFlight.end(2)
    assert.equal(inFlight.awaitsProgress(7), false)
    // A request's own id reused for a new one replaces it.
    inFlight.start(call(6, 'b'))
    inFlight.start(call(6, 'c'))
    assert.equal(inFlight.awaitsProgress('b'), false)
    assert.equal(inFlight.awaitsProgress('c'), true)
  })
})

describe('KindsSeen', () => {
  it('says each kind once, and past 64 kinds counts the rest as one', () => {
    const seen = new KindsSeen()
    assert.equal(seen.first('a'), true)
    assert.equal(seen.first('a'), false)
    for (let i = 0; i < 63; i++) seen.first(`k${i}`)
    assert.equal(seen.first('new-1'), true)
    assert.equal(seen.first('new-2'), false)
    assert.equal(seen.first('a'), false)
  })
})

describe('server requests for a 2026-07-28 host', () => {
  it('answers ping and refuses the rest as an unknown method, never forwarding them', () => {
    assert.deepEqual(forModernHost({ jsonrpc: '2.0', id: 7, method: 'ping' }, undefined, none), {
      answer: { jsonrpc: '2.0', id: 7, result: {} },
    })
    for (const method of ['roots/list', 'sampling/createMessage', 'elicitation/create']) {
      const verdict = forModernHost({ jsonrpc: '2.0', id: 'a', method }, { logLevel: 'debug' }, none)
      assert.ok('answer' in verdict)
      assert.equal(verdict.answer.id, 'a')
      assert.equal(verdict.answer.error?.code, -32601)
    }
  })

  it('declares to the 2025 server none of the capabilities that let it send requests', () => {
    const declared = legacyClientCapabilities({
      roots: { listChanged: true },
      sampling: {},
      elicitation: { form: {} },
      tasks: { requests: {} },
      experimental: { x: {} },
    })
    assert.deepEqual(declared, { experimental: { x: {} } })
    assert.deepEqual(legacyClientCapabilities(undefined), {})
  })
})

describe('logLevelAllows', () => {
  it('orders the RFC 5424 severities and refuses an unknown level on either side', () => {
    assert.equal(logLevelAllows('debug', 'emergency'), true)
    assert.equal(logLevelAllows('critical', 'error'), false)
    assert.equal(logLevelAllows(undefined, 'error'), false)
    assert.equal(logLevelAllows('info', 'verbose'), false)
  })
})
