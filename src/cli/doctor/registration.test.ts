import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkDcrOutcome, checkRegistrationOptions } from './registration.ts'

const md = { issuer: 'https://as.example' }
const status = (checks: { id: string; status: string }[], id: string) =>
  checks.find((c) => c.id === id)?.status

describe('registration checks', () => {
  it('a missing registration_endpoint fails when nothing else works, warns when CIMD or a client ID remains', () => {
    const none = checkRegistrationOptions(md, {})
    assert.equal(status(none, 'registration.dcr'), 'fail')
    assert.equal(none.find((c) => c.id === 'registration.dcr')?.diagnosis, 'registration_endpoint_missing')
    assert.equal(
      status(
        checkRegistrationOptions({ ...md, client_id_metadata_document_supported: true }, {}),
        'registration.dcr',
      ),
      'warn',
    )
    assert.equal(
      status(checkRegistrationOptions(md, { preRegisteredClientId: 'c' }), 'registration.dcr'),
      'warn',
    )
    const full = checkRegistrationOptions(
      { ...md, registration_endpoint: 'https://as.example/reg', client_id_metadata_document_supported: true },
      {},
    )
    assert.deepEqual(
      full.map((c) => c.status),
      ['info', 'pass', 'pass'],
    )
  })

  it('the live DCR outcome: deleted passes, left behind warns with the client ID, 403 is dcr_allowlisted', () => {
    assert.equal(checkDcrOutcome({ kind: 'registered', client_id: 'x', deleted: 'yes' }).status, 'pass')
    const left = checkDcrOutcome({ kind: 'registered', client_id: 'x1', deleted: 'not-offered' })
    assert.equal(left.status, 'warn')
    assert.match(left.fix ?? '', /Remove client x1/)
    const forbidden = checkDcrOutcome({ kind: 'refused', status: 403, error: 'access_denied' })
    assert.equal(forbidden.diagnosis, 'dcr_allowlisted')
    assert.equal(forbidden.status, 'fail')
    const loopback = checkDcrOutcome({ kind: 'refused', status: 400, error: 'invalid_redirect_uri' })
    assert.equal(loopback.diagnosis, undefined)
    assert.match(loopback.fix ?? '', /RFC 8252/)
    assert.equal(checkDcrOutcome({ kind: 'not-run', reason: 'r' }).status, 'info')
  })
})
