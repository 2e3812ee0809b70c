import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isMcpOAuthError } from '../../shared/errors.ts'
import { run as runServe } from '../commands/serve.ts'
import {
  gatewayBanner,
  gatewayPolicy,
  gatewayScopes,
  parseGatewayFlags,
  parseServedFlags,
  servedResource,
} from './serve-gateway.ts'

const fails = (values: Parameters<typeof parseGatewayFlags>[0], pattern: RegExp) =>
  assert.throws(
    () => parseGatewayFlags(values),
    (e: unknown) => isMcpOAuthError(e) && pattern.test(e.message) && typeof e.hint === 'string',
  )

describe('serve --proxy flags', () => {
  it('are absent without --proxy, and --upstream-transport needs it', () => {
    assert.equal(parseGatewayFlags({}), undefined)
    fails({ 'upstream-transport': 'sse' }, /--upstream-transport needs --proxy/)
    // --scopes and --tool-scope are shared with --stdio: serve itself refuses them without either.
    assert.equal(parseGatewayFlags({ scopes: 'mcp' }), undefined)
  })

  it('read scopes, per-tool scopes and the transport', () => {
    const g = parseGatewayFlags({
      proxy: 'http://127.0.0.1:3000/mcp',
      scopes: 'mcp files:read',
      'tool-scope': ['delete=files:admin', 'delete=audit', 'deploy=ops,admin'],
      'upstream-transport': 'sse',
    })!
    assert.deepEqual(g, {
      url: 'http://127.0.0.1:3000/mcp',
      transport: 'sse',
      scopes: ['mcp', 'files:read'],
      toolScopes: { delete: ['files:admin', 'audit'], deploy: ['ops', 'admin'] },
    })
    assert.deepEqual(gatewayScopes(g), ['mcp', 'files:read', 'files:admin', 'audit', 'ops', 'admin'])
    assert.deepEqual(gatewayPolicy(g).required, ['mcp', 'files:read'])
    assert.equal(parseGatewayFlags({ proxy: 'http://127.0.0.1:3000/mcp' })!.transport, 'auto')
    assert.deepEqual(parseGatewayFlags({ proxy: 'http://127.0.0.1:3000/mcp' })!.scopes, ['mcp'])
  })

  it('refuse bad input with a hint, never echoing credentials', () => {
    fails({ proxy: 'not a url' }, /is not a URL/)
    fails({ proxy: 'ftp://host/mcp' }, /is not http/)
    fails({ proxy: 'http://user:hunter2@127.0.0.1/mcp' }, /must not carry credentials/)
    fails({ proxy: 'http://127.0.0.1/mcp', 'upstream-transport': 'ws' }, /bad --upstream-transport/)
    fails({ proxy: 'http://127.0.0.1/mcp', scopes: 'a "b' }, /is not a scope/)
    fails({ proxy: 'http://127.0.0.1/mcp', 'tool-scope': ['noequals'] }, /NAME=SCOPE/)
    fails({ proxy: 'http://127.0.0.1/mcp', 'tool-scope': ['x='] }, /names no scope/)
    assert.throws(
      () => parseGatewayFlags({ proxy: 'http://user:hunter2@127.0.0.1/mcp' }),
      (e: Error) => !e.message.includes('hunter2'),
    )
  })

  it('banner says where it forwards and warns about a non-loopback upstream', () => {
    const g = parseGatewayFlags({ proxy: 'https://10.0.0.5/mcp?key=s3cret', 'tool-scope': ['x=admin'] })!
    const lines = gatewayBanner(
      'https://gw.example/mcp',
      {
        describe: 'https://10.0.0.5/mcp (streamable-http)',
        fetch: async () => new Response(),
        close: async () => {},
      },
      g,
      'https://gw.example',
    )
    assert.equal(lines[0], 'gateway https://gw.example/mcp → https://10.0.0.5/mcp (streamable-http)')
    assert.ok(lines.some((l) => l === 'tool x also needs admin (step-up)'))
    assert.ok(lines.some((l) => l.startsWith('WARNING the upstream is not on loopback')))
    assert.ok(!lines.join('\n').includes('s3cret'))
  })
})

describe('what serve puts at /mcp', () => {
  it('the demo, --stdio or --proxy, never both; --scopes only with one of them', () => {
    assert.deepEqual(parseServedFlags({}, undefined), { stdioOptions: undefined, gateway: undefined })
    assert.equal(servedResource(undefined, undefined), undefined)
    const proxied = parseServedFlags({ proxy: 'http://127.0.0.1:3000/mcp', scopes: 'a' }, undefined)
    assert.deepEqual(servedResource(proxied.gateway, undefined)?.defaultScopes, ['a'])
    const local = parseServedFlags({ stdio: true, scopes: 'b' }, ['node', 'server.js'])
    assert.deepEqual(servedResource(undefined, local.stdioOptions)?.defaultScopes, ['b'])
    assert.throws(
      () => parseServedFlags({ stdio: true, proxy: 'http://127.0.0.1/mcp' }, ['x']),
      /exclude each other/,
    )
    assert.throws(() => parseServedFlags({ scopes: 'mcp' }, undefined), /need --proxy or --stdio/)
    assert.throws(() => parseServedFlags({ 'tool-scope': ['a=b'] }, undefined), /need --proxy or --stdio/)
  })
})

describe('mcp-oauth serve reads the gateway flags', () => {
  it('--proxy and --upstream-transport reach the gateway parser (no unknown-option error)', async () => {
    const io = { stdout: { write: () => true }, stderr: { write: () => true } }
    await assert.rejects(
      runServe(['--proxy', 'http://127.0.0.1:1/mcp', '--upstream-transport', 'carrier-pigeon'], io as never),
      /bad --upstream-transport/,
    )
  })
})
