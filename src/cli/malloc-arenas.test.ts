import assert from 'node:assert/strict'
import { test } from 'node:test'
import { boundMallocArenas, type ReexecDependencies, type ReexecProcess } from './malloc-arenas.ts'

function fake(
  overrides: Partial<ReexecProcess> = {},
  deps: Partial<ReexecDependencies> = {},
  warnings: string[] = [],
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
  boundMallocArenas(proc, { access: () => {}, warn: (line) => warnings.push(line), ...deps })
  return calls
}

test('serve re-executes itself once with two malloc arenas, a fixed mmap threshold and a capped young generation, keeping its arguments and environment', () => {
  const [call, ...more] = fake()
  assert.equal(more.length, 0)
  assert.equal(call?.file, '/opt/node')
  assert.deepEqual(call?.args, [
    '/opt/node',
    '--max-semi-space-size=8',
    '--conditions=x',
    '/pkg/bin/mcp-oauth.js',
    'serve',
    '--port',
    '0',
  ])
  assert.deepEqual(call?.env, { PATH: '/bin', MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '1048576' })
})

test('a setting the operator chose is kept; only the missing one is added', () => {
  const [call] = fake({ env: { PATH: '/bin', MALLOC_ARENA_MAX: '8' } })
  assert.deepEqual(call?.env, { PATH: '/bin', MALLOC_ARENA_MAX: '8', MALLOC_MMAP_THRESHOLD_: '1048576' })
  const warnings: string[] = []
  fake({ env: { MALLOC_MMAP_THRESHOLD_: '4194304' }, permission: { has: () => false } }, {}, warnings)
  assert.match(warnings[0] ?? '', /with MALLOC_ARENA_MAX=2 --max-semi-space-size=8 \(/)
  assert.match(
    warnings[0] ?? '',
    /Start it with MALLOC_ARENA_MAX=2 in the environment and node --max-semi-space-size=8 /,
  )
  assert.doesNotMatch(warnings[0] ?? '', /MALLOC_MMAP_THRESHOLD_/)
})

test("the operator's own young-generation size is kept: with both variables set too, nothing is re-executed", () => {
  const both = { MALLOC_ARENA_MAX: '8', MALLOC_MMAP_THRESHOLD_: '131072' }
  const [flagOnly] = fake({ env: both })
  assert.deepEqual(flagOnly?.args.slice(0, 2), ['/opt/node', '--max-semi-space-size=8'])
  assert.deepEqual(flagOnly?.env, both)
  assert.equal(fake({ env: both, execArgv: ['--max-semi-space-size=32'] }).length, 0)
  assert.equal(fake({ env: { ...both, NODE_OPTIONS: '--max-semi-space-size=2' } }).length, 0)
  const [envOnly] = fake({ execArgv: ['--max-semi-space-size=32'] })
  assert.deepEqual(envOnly?.args.slice(0, 2), ['/opt/node', '--max-semi-space-size=32'])
  // V8's underscore spelling is the same flag.
  assert.equal(fake({ env: { ...both, NODE_OPTIONS: '--max_semi_space_size=64' } }).length, 0)
  // V8 aborts at start on a heap size given with both generation sizes: with the operator's heap size, no flag
  // of ours is added (only the missing variables).
  const heap = fake({ env: { NODE_OPTIONS: '--max-heap-size=512 --max-old-space-size=256' } })
  assert.deepEqual(heap[0]?.args.slice(0, 2), ['/opt/node', '--conditions=x'])
  assert.equal(fake({ env: { ...both, NODE_OPTIONS: '--max_heap_size=512' } }).length, 0)
})

test('no re-execution once re-executed, off Linux, when not started as the mcp-oauth command, or when told not to', () => {
  assert.equal(fake({ env: { MCP_OAUTH_NO_REEXEC: '1' } }).length, 0)
  const reexecuted = { env: { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '1048576' } }
  assert.equal(fake({ ...reexecuted, execArgv: ['--max-semi-space-size=8', '--conditions=x'] }).length, 0)
  assert.equal(fake({ platform: 'darwin' }).length, 0)
  assert.equal(fake({ argv: ['/opt/node', '/usr/lib/node_modules/test-runner.js', 'serve'] }).length, 0)
})

test('under the permission model without child processes, serve runs as is and says how to bound memory', () => {
  const warnings: string[] = []
  const calls = fake({ permission: { has: (scope) => scope !== 'child' } }, {}, warnings)
  assert.equal(calls.length, 0)
  assert.equal(warnings.length, 1)
  assert.match(warnings[0] ?? '', /MALLOC_ARENA_MAX=2/)
  // Allowed child processes: the re-exec goes ahead.
  assert.equal(fake({ permission: { has: () => true } }).length, 1)
})

test('a Node binary that is no longer executable is never exec-ed (a failed execve would abort)', () => {
  const warnings: string[] = []
  const calls = fake(
    {},
    {
      access: () => {
        throw Object.assign(new Error('EACCES'), { code: 'EACCES' })
      },
    },
    warnings,
  )
  assert.equal(calls.length, 0)
  assert.match(warnings[0] ?? '', /not executable.*MALLOC_ARENA_MAX=2/)
})

test('an execve that throws falls back to running without the re-exec', () => {
  const warnings: string[] = []
  fake(
    {
      execve: (() => {
        throw Object.assign(new Error('denied'), { code: 'ERR_ACCESS_DENIED' })
      }) as never,
    },
    {},
    warnings,
  )
  assert.match(warnings[0] ?? '', /ERR_ACCESS_DENIED.*MALLOC_ARENA_MAX=2/)
})
