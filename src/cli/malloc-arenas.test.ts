import assert from 'node:assert/strict'
import { test } from 'node:test'
import { boundMallocArenas } from './malloc-arenas.ts'

function fake(
  overrides: Partial<{ platform: NodeJS.Platform; env: NodeJS.ProcessEnv; argv: string[] }> = {},
) {
  const calls: { file: string; args: readonly string[]; env: NodeJS.ProcessEnv }[] = []
  const proc = {
    platform: 'linux' as NodeJS.Platform,
    env: { PATH: '/bin' } as NodeJS.ProcessEnv,
    argv: ['/opt/node', '/pkg/bin/mcp-oauth.js', 'serve', '--port', '0'],
    execArgv: ['--conditions=x'],
    execPath: '/opt/node',
    execve: ((file: string, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}) => {
      calls.push({ file, args, env })
    }) as never,
    ...overrides,
  }
  boundMallocArenas(proc)
  return calls
}

test('serve re-executes itself once with two malloc arenas, keeping its arguments and environment', () => {
  const [call, ...more] = fake()
  assert.equal(more.length, 0)
  assert.equal(call?.file, '/opt/node')
  assert.deepEqual(call?.args, [
    '/opt/node',
    '--conditions=x',
    '/pkg/bin/mcp-oauth.js',
    'serve',
    '--port',
    '0',
  ])
  assert.deepEqual(call?.env, { PATH: '/bin', MALLOC_ARENA_MAX: '2' })
})

test('no re-execution when the operator chose arenas, off Linux, or when not started as the mcp-oauth command', () => {
  assert.equal(fake({ env: { MALLOC_ARENA_MAX: '8' } }).length, 0)
  assert.equal(fake({ platform: 'darwin' }).length, 0)
  assert.equal(fake({ argv: ['/opt/node', '/usr/lib/node_modules/test-runner.js', 'serve'] }).length, 0)
})
