import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { forModernHost } from './modern-host.ts'
import { logLevelAllows } from './protocol.ts'

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

  it('drops log messages below the level, without one, off a request stream; and change notifications', () => {
    assert.ok('drop' in forModernHost(log('info'), { logLevel: 'warning' }))
    assert.ok('drop' in forModernHost(log('emergency'), {}))
    assert.ok('drop' in forModernHost(log('emergency'), { logLevel: 'loud' }))
    assert.ok('drop' in forModernHost(log('emergency'), undefined))
    const changed = { jsonrpc: '2.0' as const, method: 'notifications/tools/list_changed' }
    assert.ok('drop' in forModernHost(changed, { logLevel: 'debug' }))
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
