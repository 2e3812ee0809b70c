import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isMcpOAuthError } from '../../shared/errors.ts'
import { parseStdioFlags, splitCommand, stdioResource } from './serve-stdio.ts'

test('the command is everything after the first --, flags before it', () => {
  assert.deepEqual(splitCommand(['--stdio', '--port', '0', '--', 'node', 'server.js', '--', '-x']), {
    flags: ['--stdio', '--port', '0'],
    command: ['node', 'server.js', '--', '-x'],
  })
  assert.deepEqual(splitCommand(['--port', '0']), { flags: ['--port', '0'], command: undefined })
})

test('--stdio with a command, restart policy, scopes and tool scopes', () => {
  const options = parseStdioFlags(
    {
      stdio: true,
      restart: 'always',
      scopes: 'mcp files:read',
      'tool-scope': ['rm=files:admin', 'rm=audit'],
    },
    ['node', 'server.js'],
  )!
  assert.deepEqual(options, {
    command: 'node',
    args: ['server.js'],
    restart: 'always',
    scopes: ['mcp', 'files:read'],
    toolScopes: { rm: ['files:admin', 'audit'] },
  })
  assert.deepEqual(stdioResource(options).scopes, ['mcp', 'files:read', 'files:admin', 'audit'])
  assert.deepEqual(stdioResource(options).policy, {
    required: ['mcp', 'files:read'],
    tools: options.toolScopes,
  })
  assert.equal(parseStdioFlags({ stdio: true }, ['srv'])!.restart, 'on-failure')
  assert.deepEqual(parseStdioFlags({ stdio: true }, ['srv'])!.scopes, ['mcp'])
  assert.equal(parseStdioFlags({}, undefined), undefined)
})

test('mistakes are typed errors whose hint is a command that works', () => {
  const cases: [Parameters<typeof parseStdioFlags>[0], string[] | undefined, RegExp][] = [
    [{ stdio: true }, undefined, /needs the server command after --/],
    [{ stdio: true }, [], /needs the server command after --/],
    [{ stdio: true, restart: 'sometimes' }, ['srv'], /bad --restart/],
    [{ restart: 'never' }, undefined, /--restart needs --stdio/],
    [{}, ['srv'], /a command after -- needs --stdio/],
    [{ stdio: true, 'tool-scope': ['rm'] }, ['srv'], /NAME=SCOPE/],
    [{ stdio: true, scopes: 'a"b' }, ['srv'], /is not a scope/],
  ]
  for (const [values, command, message] of cases) {
    assert.throws(
      () => parseStdioFlags(values, command),
      (e: unknown) => isMcpOAuthError(e, 'invalid_argument') && message.test(e.message) && !!e.hint,
    )
  }
})
