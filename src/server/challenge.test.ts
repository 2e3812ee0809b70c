import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { readMcpChallenge } from '../shared/www-authenticate.ts'
import { challengeHeaders } from './challenge.ts'

describe('challengeHeaders', () => {
  it('puts the error on the DPoP challenge for a DPoP request even without configured algorithms', () => {
    const values = challengeHeaders({
      error: 'insufficient_scope',
      scheme: 'DPoP',
      scope: ['tools', 'admin'],
      resourceMetadata: 'https://mcp.example/.well-known/oauth-protected-resource/mcp',
    })
    const c = readMcpChallenge(values, { preferDpop: true })
    assert.equal(c?.error, 'insufficient_scope')
    assert.equal(c?.scope, 'tools admin')
    assert.equal(c?.resource_metadata, 'https://mcp.example/.well-known/oauth-protected-resource/mcp')
  })
  it('sends a Bearer challenge with no error when there was no token', () => {
    const [bearer, ...rest] = challengeHeaders({ scope: ['tools'], resourceMetadata: 'https://m/prm' })
    assert.equal(rest.length, 0)
    assert.doesNotMatch(bearer!, /error=/)
  })
})
