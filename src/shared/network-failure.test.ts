import assert from 'node:assert/strict'
import { test } from 'node:test'
import { classifyNetworkFailure, describeNetworkFailure } from './network-failure.ts'

const failed = (cause: unknown) => new TypeError('fetch failed', { cause })
const coded = (code: string, message: string) => Object.assign(new Error(message), { code })

test('a failed fetch is classified by the Node code on its cause chain', () => {
  assert.deepEqual(classifyNetworkFailure(failed(coded('ENOTFOUND', 'getaddrinfo ENOTFOUND x.invalid'))), {
    kind: 'dns',
    nodeCode: 'ENOTFOUND',
    message: 'getaddrinfo ENOTFOUND x.invalid',
  })
  assert.equal(classifyNetworkFailure(failed(coded('EAI_AGAIN', 'getaddrinfo EAI_AGAIN x'))).kind, 'dns')
  assert.equal(classifyNetworkFailure(failed(coded('ECONNREFUSED', 'connect ECONNREFUSED'))).kind, 'refused')
  assert.equal(
    classifyNetworkFailure(failed(coded('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed'))).kind,
    'tls',
  )
  assert.equal(classifyNetworkFailure(failed(coded('CERT_HAS_EXPIRED', 'expired'))).kind, 'tls')
  assert.equal(classifyNetworkFailure(failed(coded('ECONNRESET', 'other side closed'))).kind, 'reset')
})

test('an AbortSignal.timeout is a timeout; anything else is "other" with its innermost message', () => {
  const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError')
  assert.equal(classifyNetworkFailure(timeout).kind, 'timeout')
  assert.equal(classifyNetworkFailure(failed(timeout)).kind, 'timeout')
  assert.deepEqual(classifyNetworkFailure(failed(new Error('boom'))), { kind: 'other', message: 'boom' })
})

test('describeNetworkFailure says the cause in one phrase', () => {
  assert.equal(
    describeNetworkFailure(classifyNetworkFailure(failed(coded('ENOTFOUND', 'getaddrinfo ENOTFOUND x')))),
    'the host name was not found (ENOTFOUND)',
  )
  assert.equal(
    describeNetworkFailure(classifyNetworkFailure(failed(coded('ECONNREFUSED', 'connect ECONNREFUSED')))),
    'the connection was refused (ECONNREFUSED)',
  )
  assert.equal(
    describeNetworkFailure(classifyNetworkFailure(failed(coded('CERT_HAS_EXPIRED', 'x')))),
    'TLS failed: the certificate has expired (CERT_HAS_EXPIRED)',
  )
})
