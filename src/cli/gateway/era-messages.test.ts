import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { META, MODERN } from '../bridge/protocol.ts'
import { answerForClient, eraOfAnswer, toLegacy, toModern } from './era-messages.ts'

describe('era messages', () => {
  it('tells the era from a server/discover answer', () => {
    assert.equal(eraOfAnswer({ jsonrpc: '2.0', id: 1, result: { supportedVersions: [MODERN] } }), 'modern')
    assert.equal(eraOfAnswer({ jsonrpc: '2.0', id: 1, error: { code: -32022, message: 'x' } }), 'modern')
    assert.equal(eraOfAnswer({ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'x' } }), 'legacy')
    assert.equal(eraOfAnswer({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'x' } }), 'legacy')
    assert.equal(
      eraOfAnswer({ jsonrpc: '2.0', id: 1, result: { supportedVersions: ['2025-11-25'] } }),
      'legacy',
    )
    assert.equal(eraOfAnswer(undefined), 'legacy')
  })

  it('takes the envelope off, puts our id and progress token on, remembers the client ones', () => {
    const { message, call } = toLegacy(
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: {
          name: 'x',
          _meta: { [META.protocolVersion]: MODERN, [META.logLevel]: 'info', progressToken: 'p', other: 1 },
        },
      },
      'up-1',
    )
    assert.deepEqual(message, {
      jsonrpc: '2.0',
      id: 'up-1',
      method: 'tools/call',
      params: { name: 'x', _meta: { progressToken: 'up-1', other: 1 } },
    })
    assert.deepEqual(call, {
      clientId: 1,
      upstreamId: 'up-1',
      method: 'tools/call',
      clientToken: 'p',
      logLevel: 'info',
    })
    const note = toLegacy(
      { jsonrpc: '2.0', method: 'notifications/x', params: { _meta: { [META.protocolVersion]: MODERN } } },
      undefined,
    )
    assert.deepEqual(note, { message: { jsonrpc: '2.0', method: 'notifications/x', params: {} } })
  })

  it('gives back the answer, its own progress and asked-for logs only', () => {
    const call = {
      clientId: 7,
      upstreamId: 'up-2',
      method: 'tools/list',
      clientToken: 9,
      logLevel: 'warning',
    }
    assert.deepEqual(toModern({ jsonrpc: '2.0', id: 'up-2', result: { tools: [] } }, call), {
      message: {
        jsonrpc: '2.0',
        id: 7,
        result: { resultType: 'complete', tools: [], ttlMs: 0, cacheScope: 'private' },
      },
      final: true,
    })
    assert.deepEqual(toModern({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'bad' } }, call), {
      message: { jsonrpc: '2.0', id: 7, error: { code: -32000, message: 'bad' } },
      final: true,
    })
    assert.deepEqual(toModern({ jsonrpc: '2.0', id: 'up-3', result: {} }, call), {})
    // Not answers: our id with neither result nor error, an id-less "error" that is not a JSON-RPC error.
    assert.deepEqual(toModern({ jsonrpc: '2.0', id: 'up-2' }, call), {})
    assert.deepEqual(toModern({ jsonrpc: '2.0', id: 'up-2', result: [] as never }, call), {})
    assert.deepEqual(toModern({ jsonrpc: '2.0', id: null, error: 'bad' as never }, call), {})
    const progress = (token: unknown) => ({
      jsonrpc: '2.0' as const,
      method: 'notifications/progress',
      params: { progressToken: token, progress: 1 },
    })
    assert.deepEqual(toModern(progress('up-2'), call).message?.params, { progressToken: 9, progress: 1 })
    assert.deepEqual(toModern(progress('up-3'), call), {})
    const log = (level: string) => ({
      jsonrpc: '2.0' as const,
      method: 'notifications/message',
      params: { level, data: 1 },
    })
    assert.ok(toModern(log('error'), call).message)
    assert.deepEqual(toModern(log('info'), call), {})
    assert.deepEqual(toModern(log('error'), { ...call, logLevel: undefined as never }), {})
    assert.deepEqual(toModern({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }, call), {})
    assert.deepEqual(toModern({ jsonrpc: '2.0', id: 5, method: 'roots/list' }, call), { ask: true })
  })

  it('answers the upstream ping, and refuses its other requests by name', () => {
    assert.deepEqual(answerForClient({ jsonrpc: '2.0', id: 1, method: 'ping' }), {
      jsonrpc: '2.0',
      id: 1,
      result: {},
    })
    const refused = answerForClient({ jsonrpc: '2.0', id: 2, method: 'sampling/createMessage' })
    assert.equal(refused.error?.code, -32601)
    assert.match(refused.error!.message, /^sampling\/createMessage is not available/)
  })
})
