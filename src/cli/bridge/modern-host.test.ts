import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { forModernHost, KindsSeen } from './modern-host.ts'
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
