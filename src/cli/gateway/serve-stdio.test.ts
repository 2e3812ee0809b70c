import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isMcpOAuthError } from '../../shared/errors.ts'
import { FILE, sources } from '../serve-config.test-helper.ts'
import { parseServeConfig } from '../serve-config.ts'
import { stdioResource } from './serve-stdio.ts'

test('the command is everything after the first --, flags before it', () => {
  const c = parseServeConfig(['--stdio', '--port', '0', '--', 'node', 'server.js', '--', '-x'])
  assert.equal(c.port, 0)
  assert.deepEqual(c.stdio, { command: 'node', args: ['server.js', '--', '-x'], restart: 'on-failure' })
  assert.equal(parseServeConfig(['--port', '0']).stdio, undefined)
})

test('--stdio with a command, restart policy, scopes and tool scopes', () => {
  const c = parseServeConfig([
    ...['--stdio', '--restart', 'always', '--scopes', 'mcp files:read'],
    ...['--tool-scope', 'rm=files:admin', '--tool-scope', 'rm=audit', '--', 'node', 'server.js'],
  ])
  assert.deepEqual(c.stdio, { command: 'node', args: ['server.js'], restart: 'always' })
  assert.deepEqual(c.scopes, ['mcp', 'files:read'])
  assert.deepEqual(c.toolScopes, { rm: ['files:admin', 'audit'] })
  const options = { ...c.stdio!, scopes: c.scopes!, toolScopes: c.toolScopes }
  assert.deepEqual(stdioResource(options).scopes, ['mcp', 'files:read', 'files:admin', 'audit'])
  assert.deepEqual(stdioResource(options).policy, {
    required: ['mcp', 'files:read'],
    tools: { rm: ['files:admin', 'audit'] },
  })
})

test('the same from a config file; flags override it; env values may come from the environment', () => {
  const file = {
    stdio: { command: 'node', args: ['a.js'], env: { API_KEY: { env: 'KEY' } }, restart: 'never' },
    scopes: ['mcp'],
    toolScopes: { rm: ['files:admin'] },
  }
  const c = parseServeConfig(['--config', FILE], sources(file, { KEY: 'k-123' }))
  assert.deepEqual(c.stdio, { command: 'node', args: ['a.js'], env: { API_KEY: 'k-123' }, restart: 'never' })
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

test('mistakes are typed errors whose hint is a command that works', () => {
  const cases: [string[], RegExp][] = [
    [['--stdio'], /needs the server command after --/],
    [['--stdio', '--'], /needs the server command after --/],
    [['--stdio', '--restart', 'sometimes', '--', 'srv'], /bad --restart sometimes/],
    [['--restart', 'never'], /--restart needs --stdio/],
    [['--', 'srv'], /a command after -- needs --stdio/],
    [['--stdio', '--tool-scope', 'rm', '--', 'srv'], /NAME=SCOPE/],
    [['--stdio', '--scopes', 'a"b', '--', 'srv'], /--scopes/],
    [
      ['--stdio', '--resource', 'https://a.example', '--', 'srv'],
      /resources run the authorization server alone/,
    ],
  ]
  for (const [args, message] of cases) {
    assert.throws(
      () => parseServeConfig(args),
      (e: unknown) =>
        isMcpOAuthError(e) && e.code.startsWith('invalid_') && message.test(e.message) && !!e.hint,
      args.join(' '),
    )
  }
})
