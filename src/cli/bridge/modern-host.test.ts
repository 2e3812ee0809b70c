import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { forModernHost, InFlight, KindsSeen, refuseLogLevel } from './modern-host.ts'
import { legacyClientCapabilities, logLevelAllows } from './protocol.ts'

const log = (level: string) => ({
  jsonrpc: '2.0' as const,
  method: 'notifications/message',
  params: { level, data: 'x' },
})

describe('forModernHost', () => {
  it('forwards answers, progress and log messages at or above the level their request asked for', () => {
    const answer = { jsonrpc: '2.0' as const, id: 1, result: {} }
    assert.deepEqual(forModernHost(answer, undefined), { forward: answer })
    const progress = {
      jsonrpc: '2.0' as const,
      method: 'notifications/progress',
      params: { progressToken: 1 },
    }
    assert.deepEqual(forModernHost(progress, undefined), { forward: progress })
    assert.deepEqual(forModernHost(log('error'), { logLevel: 'warning' }), { forward: log('error') })
    assert.deepEqual(forModernHost(log('warning'), { logLevel: 'warning' }), { forward: log('warning') })
  })

  it('drops log messages below the level, without one, off a request stream; change notifications and cancellations', () => {
    assert.ok('drop' in forModernHost(log('info'), { logLevel: 'warning' }))
    assert.ok('drop' in forModernHost(log('emergency'), {}))
    assert.ok('drop' in forModernHost(log('emergency'), { logLevel: 'loud' }))
    assert.ok('drop' in forModernHost(log('emergency'), undefined))
    const changed = { jsonrpc: '2.0' as const, method: 'notifications/tools/list_changed' }
    assert.ok('drop' in forModernHost(changed, { logLevel: 'debug' }))
    const cancelled = { jsonrpc: '2.0' as const, method: 'notifications/cancelled', params: { requestId: 3 } }
    assert.ok('drop' in forModernHost(cancelled, { logLevel: 'debug' }))
    assert.ok('drop' in forModernHost(cancelled, undefined))
  })

  it("drops every other notification: only those about a request, and a listen stream's, reach the host", () => {
    for (const method of ['notifications/tasks/status', 'notifications/elicitation/complete', 'x/custom'])
      assert.ok(
        'drop' in forModernHost({ jsonrpc: '2.0', method, params: {} }, { logLevel: 'debug' }),
        method,
      )
  })

  it('answers a request whose id is null rather than passing it on as a notification', () => {
    const verdict = forModernHost({ jsonrpc: '2.0', id: null, method: 'roots/list' }, undefined)
    assert.ok('answer' in verdict)
  })
})

describe('refuseLogLevel', () => {
  const request = (meta: Record<string, unknown>) => ({
    jsonrpc: '2.0' as const,
    id: 4,
    method: 'tools/call',
    params: { name: 't', _meta: meta },
  })
  const key = 'io.modelcontextprotocol/logLevel'

  it('answers a request whose _meta names no RFC 5424 level with Invalid params, naming the value', () => {
    const refused = refuseLogLevel(request({ [key]: 'loud' }))
    assert.equal(refused?.id, 4)
    assert.equal(refused?.error?.code, -32602)
    assert.match(refused?.error?.message ?? '', /"loud"/)
    for (const level of [null, 3, 'Warning', { level: 'x'.repeat(200) }])
      assert.equal(refuseLogLevel(request({ [key]: level }))?.error?.code, -32602, JSON.stringify(level))
    const long = refuseLogLevel(request({ [key]: 'y'.repeat(500) }))?.error?.message ?? ''
    assert.ok(long.includes(`"${'y'.repeat(59)}`) && !long.includes('y'.repeat(60)), long)
  })

  it('lets a known level, no level, and a notification through', () => {
    assert.equal(refuseLogLevel(request({ [key]: 'debug' })), undefined)
    assert.equal(refuseLogLevel(request({})), undefined)
    assert.equal(refuseLogLevel({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), undefined)
    assert.equal(
      refuseLogLevel({ jsonrpc: '2.0', method: 'x', params: { _meta: { [key]: 'loud' } } }),
      undefined,
    )
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
    assert.deepEqual(forModernHost({ jsonrpc: '2.0', id: 7, method: 'ping' }, undefined), {
      answer: { jsonrpc: '2.0', id: 7, result: {} },
    })
    for (const method of ['roots/list', 'sampling/createMessage', 'elicitation/create']) {
      const verdict = forModernHost({ jsonrpc: '2.0', id: 'a', method }, { logLevel: 'debug' })
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
