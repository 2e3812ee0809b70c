import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { DiscoveryResult } from '../../client/discovery.ts'
import { ProtocolViolationError } from '../../shared/errors.ts'
import { checkQuirks } from './quirks.ts'

const AS = 'https://as.example'
function result(metadata: Record<string, unknown> = {}): DiscoveryResult {
  return {
    server: 'https://mcp.example/mcp',
    resource: 'https://mcp.example/mcp',
    issuer: AS,
    metadata: { issuer: AS, ...metadata },
    legacy: false,
    expires_at: Date.now() + 60_000,
  }
}
const ids = (checks: { diagnosis?: string }[]) => checks.map((c) => c.diagnosis).filter(Boolean)

describe('doctor names authorization server quirks with their fix', () => {
  it('an OpenID provider: offline_access needs consent, or a provider parameter when not offered', () => {
    const consent = checkQuirks({
      result: result({ scopes_supported: ['openid', 'offline_access'] }),
      steps: [],
      givenEndpoints: false,
    })
    assert.deepEqual(ids(consent), ['offline_access_needs_consent'])
    const google = checkQuirks({
      result: result({ scopes_supported: ['openid', 'email'] }),
      steps: [],
      givenEndpoints: false,
    })
    assert.deepEqual(ids(google), ['refresh_needs_provider_parameter'])
    assert.match(google[0]!.fix!, /--authorize-param access_type=offline/)
    assert.deepEqual(
      checkQuirks({ result: result({ scopes_supported: ['mcp'] }), steps: [], givenEndpoints: false }),
      [],
    )
  })

  it('a refused resource parameter (from the sign-in trace) and a registered scope narrower than asked', () => {
    const checks = checkQuirks({
      result: result(),
      steps: [
        {
          kind: 'token',
          url: AS,
          outcome: 'rejected',
          code: 'resource_parameter_refused',
          note: 'invalid_target',
        },
      ],
      givenEndpoints: false,
      registration: { requested: 'mcp deploy offline_access', registered: 'mcp' },
    })
    assert.deepEqual(ids(checks), ['resource_parameter_refused', 'registered_scope_caps_step_up'])
    assert.match(checks[0]!.fix!, /--resource-parameter omit/)
    assert.match(checks[1]!.detail, /deploy offline_access will be refused with invalid_scope/)
    const same = checkQuirks({
      result: result(),
      steps: [],
      givenEndpoints: false,
      registration: { requested: 'mcp', registered: 'mcp' },
    })
    assert.deepEqual(same, [])
  })

  it('no metadata at all: give the endpoints', () => {
    const error = new ProtocolViolationError('authorization_server_metadata_not_found', 'no metadata found')
    const checks = checkQuirks({ error, steps: [], givenEndpoints: false })
    assert.deepEqual(ids(checks), ['no_authorization_server_metadata'])
    assert.match(checks[0]!.fix!, /--authorization-endpoint URL --token-endpoint URL/)
  })
})
