// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the ${ENV} header syntax is what these tests exercise
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isMcpOAuthError } from '../shared/errors.ts'
import { expandEnv, openSession, parseCommandArgs, parseHeaders } from './options.ts'

describe('CLI session options', () => {
  it('expands ${ENV} in --header values and refuses unset variables with a hint', () => {
    assert.equal(expandEnv('Bearer ${TOKEN_X}', { TOKEN_X: 'abc' }), 'Bearer abc')
    assert.throws(
      () => expandEnv('${NOPE_NOT_SET_1}', {}),
      (e: unknown) => isMcpOAuthError(e, 'invalid_usage') && /NOPE_NOT_SET_1/.test(e.hint),
    )
  })
  it('parses "Name: value" headers and refuses malformed ones', () => {
    process.env['MCP_OAUTH_TEST_TEAM'] = 'blue'
    assert.deepEqual(parseHeaders(['X-Team: ${MCP_OAUTH_TEST_TEAM}', 'X-A:b:c']), {
      'X-Team': 'blue',
      'X-A': 'b:c',
    })
    assert.throws(
      () => parseHeaders(['no-colon']),
      (e: unknown) => isMcpOAuthError(e, 'invalid_usage'),
    )
  })
  it('refuses unknown flags as a usage error', () => {
    assert.throws(
      () => parseCommandArgs(['--nope']),
      (e: unknown) => isMcpOAuthError(e, 'invalid_usage'),
    )
  })
  it('refuses plain http to a remote host without --allow-http, and bad option values', async () => {
    await assert.rejects(
      openSession('http://mcp.example.com/mcp', {}),
      (e: unknown) => isMcpOAuthError(e, 'invalid_usage') && /--allow-http/.test(e.hint),
    )
    for (const flags of [
      { store: 'cloud' },
      { 'callback-port': '70000' },
      { dpop: 'sometimes' },
      { 'callback-host': '0.0.0.0' },
    ]) {
      await assert.rejects(
        openSession('http://127.0.0.1:1/mcp', { ...flags, ...(flags.store ? {} : { store: 'memory' }) }),
        (e: unknown) => isMcpOAuthError(e, 'invalid_usage'),
      )
    }
  })
})
