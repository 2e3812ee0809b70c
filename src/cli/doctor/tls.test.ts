import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { connectionCheck, errorCode, isTlsError } from './tls.ts'

const fetchError = (code: string) =>
  new TypeError('fetch failed', { cause: Object.assign(new Error(`tls said ${code}`), { code }) })

describe('TLS diagnosis', () => {
  it('finds the Node error code on the cause chain', () => {
    assert.equal(errorCode(fetchError('CERT_HAS_EXPIRED')), 'CERT_HAS_EXPIRED')
    assert.equal(errorCode(new Error('x')), undefined)
    assert.equal(isTlsError(fetchError('ECONNREFUSED')), false)
  })

  it('names each certificate problem with its fix', () => {
    const cases: [string, string][] = [
      ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls_self_signed'],
      ['SELF_SIGNED_CERT_IN_CHAIN', 'tls_self_signed'],
      ['CERT_HAS_EXPIRED', 'tls_expired'],
      ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls_name_mismatch'],
      ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls_untrusted'],
    ]
    for (const [code, diagnosis] of cases) {
      const c = connectionCheck('x', 'https://a.example/mcp', fetchError(code))
      assert.equal(c.diagnosis, diagnosis, code)
      assert.equal(c.status, 'fail')
      assert.match(c.detail, new RegExp(code))
      assert.ok(c.fix)
    }
    assert.match(
      connectionCheck('x', 'https://a.example', fetchError('DEPTH_ZERO_SELF_SIGNED_CERT')).fix!,
      /--ca-file/,
    )
  })

  it('reports an unreachable host with the root cause', () => {
    const c = connectionCheck('x', 'https://a.example/mcp', fetchError('ECONNREFUSED'))
    assert.equal(c.diagnosis, undefined)
    assert.match(c.detail, /tls said ECONNREFUSED \(ECONNREFUSED\)/)
  })
})
