import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isMcpOAuthError } from '../../shared/errors.ts'
import { run as runServe } from '../commands/serve.ts'
import { FILE, sources } from '../serve-config.test-helper.ts'
import { parseServeConfig } from '../serve-config.ts'
import { type GatewayServeOptions, gatewayBanner, gatewayResource } from './serve-gateway.ts'

const fails = (args: string[], pattern: RegExp) =>
  assert.throws(
    () => parseServeConfig(args),
    (e: unknown) =>
      isMcpOAuthError(e) && e.code.startsWith('invalid_') && pattern.test(e.message) && !!e.hint,
    args.join(' '),
  )

const upstream = (describe: string) => ({
  describe,
  fetch: async () => new Response(),
  close: async () => {},
})

describe('serve --proxy', () => {
  it('reads the URL, the transport, scopes and per-tool scopes', () => {
    const c = parseServeConfig([
      ...[
        '--proxy',
        'http://127.0.0.1:3000/mcp',
        '--scopes',
        'mcp files:read',
        '--upstream-transport',
        'sse',
      ],
      ...[
        '--tool-scope',
        'delete=files:admin',
        '--tool-scope',
        'delete=audit',
        '--tool-scope',
        'deploy=ops,admin',
      ],
    ])
    assert.deepEqual(c.proxy, { url: 'http://127.0.0.1:3000/mcp', transport: 'sse' })
    assert.deepEqual(c.scopes, ['mcp', 'files:read'])
    assert.deepEqual(c.toolScopes, { delete: ['files:admin', 'audit'], deploy: ['ops', 'admin'] })
    const shape = gatewayResource({ scopes: c.scopes!, toolScopes: c.toolScopes })
    assert.deepEqual(shape.scopes, ['mcp', 'files:read', 'files:admin', 'audit', 'ops', 'admin'])
    assert.deepEqual(shape.defaultScopes, ['mcp', 'files:read'])
    assert.deepEqual(shape.policy.required, ['mcp', 'files:read'])
    const plain = parseServeConfig(['--proxy', 'http://127.0.0.1:3000/mcp'])
    assert.equal(plain.proxy?.transport, 'auto')
    assert.equal(plain.scopes, undefined, 'serve then uses mcp')
  })

  it('the same from a config file, flags overriding it', () => {
    const file = { proxy: { url: 'http://127.0.0.1:3000/mcp', transport: 'streamable-http' }, scopes: ['a'] }
    const c = parseServeConfig(['--config', FILE, '--upstream-transport', 'sse'], sources(file))
    assert.deepEqual(c.proxy, { url: 'http://127.0.0.1:3000/mcp', transport: 'sse' })
    assert.deepEqual(c.scopes, ['a'])
  })

  it('refuses bad input with a hint, never echoing credentials', () => {
    fails(['--upstream-transport', 'sse'], /--upstream-transport needs --proxy/)
    fails(['--proxy', 'not a url'], /is not a URL/)
    fails(['--proxy', 'ftp://host/mcp'], /is not http/)
    fails(['--proxy', 'http://user:hunter2@127.0.0.1/mcp'], /must not carry credentials/)
    fails(['--proxy', 'http://127.0.0.1/mcp', '--upstream-transport', 'ws'], /--upstream-transport/)
    fails(['--proxy', 'http://127.0.0.1/mcp', '--scopes', 'a "b'], /--scopes/)
    fails(['--proxy', 'http://127.0.0.1/mcp', '--tool-scope', 'noequals'], /NAME=SCOPE/)
    fails(['--proxy', 'http://127.0.0.1/mcp', '--tool-scope', 'x='], /NAME=SCOPE/)
    fails(['--proxy', 'http://127.0.0.1/mcp', '--stdio', '--', 'x'], /exclude each other/)
    fails(['--proxy', 'http://127.0.0.1/mcp', '--resource', 'https://a.example'], /alone/)
    fails(['--scopes', 'mcp'], /scopes of a gateway/)
    assert.throws(
      () => parseServeConfig(['--proxy', 'http://user:hunter2@127.0.0.1/mcp']),
      (e: Error) => !e.message.includes('hunter2'),
    )
  })

  it('banner says where it forwards and warns about a non-loopback upstream', () => {
    const g: GatewayServeOptions = {
      target: { url: 'https://10.0.0.5/mcp?key=s3cret', transport: 'auto' },
      scopes: ['mcp'],
      toolScopes: { x: ['admin'] },
    }
    const lines = gatewayBanner(
      'https://gw.example/mcp',
      upstream('https://10.0.0.5/mcp (streamable-http)'),
      g,
      'https://gw.example',
    )
    assert.equal(lines[0], 'gateway https://gw.example/mcp → https://10.0.0.5/mcp (streamable-http)')
    assert.match(lines[1]!, /X-MCP-OAuth-Subject/)
    assert.ok(lines.some((l) => l === 'tool x also needs admin (step-up)'))
    assert.ok(lines.some((l) => l.startsWith('WARNING the upstream is not on loopback')))
    assert.ok(!lines.join('\n').includes('s3cret'))
  })

  it('mcp-oauth serve reaches the same parser (no unknown-option error)', async () => {
    const io = { stdout: { write: () => true }, stderr: { write: () => true } }
    await assert.rejects(
      runServe(['--proxy', 'http://127.0.0.1:1/mcp', '--upstream-transport', 'carrier-pigeon'], io as never),
      /--upstream-transport/,
    )
  })
})

describe('serve --stdio', () => {
  it('the command is everything after the first --, flags before it', () => {
    const c = parseServeConfig(['--stdio', '--port', '0', '--', 'node', 'server.js', '--', '-x'])
    assert.equal(c.port, 0)
    assert.deepEqual(c.stdio, { command: 'node', args: ['server.js', '--', '-x'], restart: 'on-failure' })
    assert.equal(parseServeConfig(['--port', '0']).stdio, undefined)
  })

  it('a restart policy, scopes and tool scopes; the banner names the child and _meta', () => {
    const c = parseServeConfig([
      ...['--stdio', '--restart', 'always', '--scopes', 'mcp files:read'],
      ...['--tool-scope', 'rm=files:admin', '--tool-scope', 'rm=audit', '--', 'node', 'server.js'],
    ])
    assert.deepEqual(c.stdio, { command: 'node', args: ['server.js'], restart: 'always' })
    assert.deepEqual(c.scopes, ['mcp', 'files:read'])
    assert.deepEqual(c.toolScopes, { rm: ['files:admin', 'audit'] })
    const g: GatewayServeOptions = { target: c.stdio!, scopes: c.scopes!, toolScopes: c.toolScopes }
    assert.deepEqual(gatewayResource(g).scopes, ['mcp', 'files:read', 'files:admin', 'audit'])
    const lines = gatewayBanner('http://127.0.0.1:1/mcp', upstream('stdio node'), g, 'http://127.0.0.1:1')
    assert.equal(lines[0], 'gateway http://127.0.0.1:1/mcp → stdio node (restart always)')
    assert.match(lines[1]!, /params\._meta\["io\.github\.mcp-oauth-toolkit\/identity"\] \(never the token\)/)
    assert.ok(!lines.some((l) => l.startsWith('WARNING')))
  })

  it('the same from a config file; flags override it; env values may come from the environment', () => {
    const file = {
      stdio: { command: 'node', args: ['a.js'], env: { API_KEY: { env: 'KEY' } }, restart: 'never' },
      scopes: ['mcp'],
      toolScopes: { rm: ['files:admin'] },
    }
    const c = parseServeConfig(['--config', FILE], sources(file, { KEY: 'k-123' }))
    assert.deepEqual(c.stdio, {
      command: 'node',
      args: ['a.js'],
      env: { API_KEY: 'k-123' },
      restart: 'never',
    })
    assert.deepEqual(c.toolScopes, { rm: ['files:admin'] })
    const over = parseServeConfig(
      ['--config', FILE, '--restart', 'always', '--stdio', '--', 'python', 'b.py'],
      sources(file, { KEY: 'k-123' }),
    )
    assert.deepEqual(over.stdio, {
      command: 'python',
      args: ['b.py'],
      env: { API_KEY: 'k-123' },
      restart: 'always',
    })
    const printed = parseServeConfig(['--config', FILE, '--print-config'], sources(file, { KEY: 'k-123' }))
    assert.ok(!JSON.stringify(printed.redacted).includes('k-123'))
  })

  it('mistakes are typed errors whose hint is a command that works', () => {
    fails(['--stdio'], /needs the server command after --/)
    fails(['--stdio', '--'], /needs the server command after --/)
    fails(['--stdio', '--restart', 'sometimes', '--', 'srv'], /bad --restart sometimes/)
    fails(['--restart', 'never'], /--restart needs --stdio/)
    fails(['--', 'srv'], /a command after -- needs --stdio/)
    fails(['--stdio', '--tool-scope', 'rm', '--', 'srv'], /NAME=SCOPE/)
    fails(['--stdio', '--scopes', 'a"b', '--', 'srv'], /--scopes/)
    fails(['--stdio', '--resource', 'https://a.example', '--', 'srv'], /alone/)
  })
})
