// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the ${ENV} header syntax is what these tests exercise
import assert from 'node:assert/strict'
import http from 'node:http'
import { describe, it } from 'node:test'
import tls from 'node:tls'
import { isMcpOAuthError } from '../shared/errors.ts'
import {
  applyNetworkSettings,
  expandEnv,
  interactionOff,
  openSession,
  parseCommandArgs,
  parseHeaders,
} from './options.ts'

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

describe('network settings on a Node.js older than the APIs they use', () => {
  it('--ca-file without tls.setDefaultCACertificates (before Node 22.19): unsupported_runtime naming NODE_EXTRA_CA_CERTS', () => {
    const t = tls as { setDefaultCACertificates?: unknown }
    const saved = t.setDefaultCACertificates
    t.setDefaultCACertificates = undefined
    try {
      assert.throws(
        () => applyNetworkSettings({ 'ca-file': ['corp-root.pem'] } as never),
        (e: unknown) =>
          isMcpOAuthError(e, 'unsupported_runtime') &&
          /22\.19/.test(e.message) &&
          e.hint.includes('NODE_EXTRA_CA_CERTS=corp-root.pem'),
      )
    } finally {
      t.setDefaultCACertificates = saved
    }
  })

  it('HTTPS_PROXY without http.setGlobalProxyFromEnv (before Node 24.14): one warning naming NODE_USE_ENV_PROXY, no crash', () => {
    const h = http as { setGlobalProxyFromEnv?: unknown }
    const saved = {
      fn: h.setGlobalProxyFromEnv,
      proxy: process.env['HTTPS_PROXY'],
      use: process.env['NODE_USE_ENV_PROXY'],
    }
    const write = process.stderr.write
    let said = ''
    h.setGlobalProxyFromEnv = undefined
    process.env['HTTPS_PROXY'] = 'http://127.0.0.1:9'
    delete process.env['NODE_USE_ENV_PROXY']
    process.stderr.write = ((chunk: string) => {
      said += chunk
      return true
    }) as typeof process.stderr.write
    try {
      applyNetworkSettings({} as never)
    } finally {
      process.stderr.write = write
      h.setGlobalProxyFromEnv = saved.fn
      if (saved.proxy === undefined) delete process.env['HTTPS_PROXY']
      else process.env['HTTPS_PROXY'] = saved.proxy
      if (saved.use !== undefined) process.env['NODE_USE_ENV_PROXY'] = saved.use
    }
    assert.match(said, /NODE_USE_ENV_PROXY=1/)
    assert.equal(said.trim().split('\n').length, 1)
  })
})

describe('interactionOff', () => {
  it('is on with --no-interaction or a truthy MCP_OAUTH_NO_INTERACTION, off otherwise', () => {
    assert.equal(interactionOff({ 'no-interaction': true }, {}), true)
    for (const value of ['1', 'true', 'yes', ' TRUE '])
      assert.equal(interactionOff({}, { MCP_OAUTH_NO_INTERACTION: value }), true, value)
    for (const value of [undefined, '', '0', 'false', 'False'])
      assert.equal(interactionOff({}, { MCP_OAUTH_NO_INTERACTION: value }), false, String(value))
  })
  it('refuses to be combined with a flag that asks a person', () => {
    assert.throws(
      () => interactionOff({ 'no-interaction': true, 'device-code': true }, {}),
      (e: unknown) => isMcpOAuthError(e) && e.code === 'invalid_usage' && /--device-code/.test(e.message),
    )
    assert.throws(
      () => interactionOff({ 'no-browser': true }, { MCP_OAUTH_NO_INTERACTION: '1' }),
      (e: unknown) => isMcpOAuthError(e) && /MCP_OAUTH_NO_INTERACTION/.test(e.message),
    )
  })
})
