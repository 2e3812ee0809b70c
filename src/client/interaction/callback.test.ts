import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { validateCallback } from './callback.ts'

const ISS = 'https://as.example.com/tenant'
const cb = (q: string) => new URL(`http://127.0.0.1:8080/callback?${q}`)
const expect = (issParameterSupported: boolean) => ({
  state: 'st',
  expectedIssuer: ISS,
  issParameterSupported,
})
const iss = (v: string) => `iss=${encodeURIComponent(v)}`

describe('validateCallback: the MCP four-row iss table', () => {
  it('row 1: supported, present: exact comparison', () => {
    assert.equal(validateCallback(cb(`code=c&state=st&${iss(ISS)}`), expect(true)).kind, 'code')
    for (const wrong of [
      `${ISS}/`,
      ISS.toUpperCase(),
      'https://AS.example.com/tenant',
      'https://as.example.com:443/tenant',
    ]) {
      assert.equal(
        validateCallback(cb(`code=c&state=st&${iss(wrong)}`), expect(true)).kind,
        'iss_mismatch',
        wrong,
      )
    }
    assert.equal(
      validateCallback(cb(`code=c&state=st&iss=https%3A%2F%2Fas.example.com%2Ftenan%74`), expect(true)).kind,
      'code',
      'form decoding happens before comparison',
    )
  })
  it('row 2: supported, absent: reject', () => {
    assert.equal(validateCallback(cb('code=c&state=st'), expect(true)).kind, 'iss_missing')
  })
  it('row 3: not advertised, present: still compared', () => {
    assert.equal(
      validateCallback(cb(`code=c&state=st&${iss('https://evil.example')}`), expect(false)).kind,
      'iss_mismatch',
    )
    assert.equal(validateCallback(cb(`code=c&state=st&${iss(ISS)}`), expect(false)).kind, 'code')
  })
  it('row 4: not advertised, absent: proceed', () => {
    assert.equal(validateCallback(cb('code=c&state=st'), expect(false)).kind, 'code')
  })
  it('applies to error responses and hides their text on mismatch', () => {
    const bad = validateCallback(
      cb(`error=access_denied&error_description=x&state=st&${iss('https://x')}`),
      expect(true),
    )
    assert.deepEqual(bad, { kind: 'iss_mismatch' })
    const good = validateCallback(cb(`error=access_denied&state=st&${iss(ISS)}`), expect(true))
    assert.equal(good.kind, 'error')
  })
  it('checks state before anything else, exactly', () => {
    assert.equal(validateCallback(cb(`code=c&state=ST&${iss(ISS)}`), expect(true)).kind, 'wrong_state')
    assert.equal(validateCallback(cb(`code=c&${iss(ISS)}`), expect(true)).kind, 'wrong_state')
    assert.equal(validateCallback(cb(`code=c&state=st&state=st&${iss(ISS)}`), expect(true)).kind, 'malformed')
    assert.equal(validateCallback(cb(`state=st&${iss(ISS)}`), expect(true)).kind, 'malformed')
  })
})
