import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { isMcpOAuthError } from '../shared/errors.ts'
import { authorizationServerOptions } from './authorization-server-options.ts'
import { translateMcpRemoteArgs } from './mcp-remote-args.ts'
import { openSession, parseCommandArgs } from './options.ts'

const dir = mkdtempSync(join(tmpdir(), 'mcp-oauth-as-options-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const usage = (e: unknown) => isMcpOAuthError(e, 'invalid_usage')

describe('authorization server flags', () => {
  it('--authorize-param, --resource-parameter and the endpoint flags become session options', () => {
    const { values } = parseCommandArgs([
      'https://mcp.example/mcp',
      '--authorize-param',
      'access_type=offline',
      '--authorize-param',
      'hd=example.com',
      '--resource-parameter',
      'omit',
      '--authorization-endpoint',
      'https://github.com/login/oauth/authorize',
      '--token-endpoint',
      'https://github.com/login/oauth/access_token',
    ])
    const o = authorizationServerOptions(values)
    assert.deepEqual(o.authorizationParams, { access_type: 'offline', hd: 'example.com' })
    assert.equal(o.resourceParameter, 'omit')
    assert.deepEqual(o.authorizationServerMetadata, {
      authorization_endpoint: 'https://github.com/login/oauth/authorize',
      token_endpoint: 'https://github.com/login/oauth/access_token',
    })
  })

  it('--as-metadata reads an RFC 8414 document; flags override its fields', () => {
    const file = join(dir, 'as.json')
    writeFileSync(
      file,
      JSON.stringify({
        issuer: 'https://as.example',
        authorization_endpoint: 'https://as.example/a',
        token_endpoint: 'https://as.example/t',
      }),
    )
    const o = authorizationServerOptions({ 'as-metadata': file, 'token-endpoint': 'https://as.example/t2' })
    assert.equal(o.authorizationServerMetadata?.issuer, 'https://as.example')
    assert.equal(o.authorizationServerMetadata?.token_endpoint, 'https://as.example/t2')
  })

  it('refuses malformed or contradictory values with usage errors', () => {
    assert.throws(() => authorizationServerOptions({ 'authorize-param': ['novalue'] }), usage)
    assert.throws(() => authorizationServerOptions({ 'resource-parameter': 'maybe' }), usage)
    assert.throws(() => authorizationServerOptions({ 'resource-parameter': 'omit', resource: 'x' }), usage)
    assert.throws(() => authorizationServerOptions({ 'token-endpoint': 'https://as.example/t' }), usage)
    assert.throws(() => authorizationServerOptions({ 'as-metadata': join(dir, 'missing.json') }), usage)
  })

  it('a security-critical --authorize-param is refused when the session is built', async () => {
    await assert.rejects(
      openSession('https://mcp.example/mcp', {
        store: 'memory',
        'authorize-param': ['redirect_uri=https://evil.example'],
      }),
      (e: unknown) => isMcpOAuthError(e, 'protected_authorization_parameter'),
    )
  })

  it('mcp-remote arguments: --authorize-param and --disable-resource-parameter keep their meaning', () => {
    const t = translateMcpRemoteArgs([
      'https://mcp.example/mcp',
      '--authorize-param',
      'access_type=offline',
      '--disable-resource-parameter',
    ])
    const { values } = parseCommandArgs(t.args)
    assert.deepEqual(values['authorize-param'], ['access_type=offline'])
    assert.equal(values['resource-parameter'], 'omit')
    assert.equal(t.warning, undefined)
    // A lone --token-endpoint stays mcp-remote's (ignored, named); with --authorization-endpoint it is ours.
    const lone = translateMcpRemoteArgs([
      'https://mcp.example/mcp',
      '--token-endpoint',
      'https://as.example/t',
    ])
    assert.match(lone.warning!, /--token-endpoint/)
    const both = translateMcpRemoteArgs([
      'https://mcp.example/mcp',
      '--authorization-endpoint',
      'https://as.example/a',
      '--token-endpoint',
      'https://as.example/t',
    ])
    assert.equal(parseCommandArgs(both.args).values['token-endpoint'], 'https://as.example/t')
  })
})
