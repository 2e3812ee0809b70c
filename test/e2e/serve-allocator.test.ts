/**
 * `mcp-oauth serve` re-executes itself once with glibc's allocator bounded (two arenas, a fixed 1 MiB mmap
 * threshold) and V8's young generation capped (src/cli/malloc-arenas.ts), keeping its PID and any setting the operator chose. Read from the real
 * process's /proc/<pid>/environ, which execve replaces. The memory this saves is measured in
 * bench:authorization-server, not here.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, describe, test } from 'node:test'
import { type ServeProcess, spawnServe } from './authorization-server-helpers.ts'

function environOf(pid: number): Map<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean)
  return new Map(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]))
}

const args = ['--port', '0', '--store', 'memory', '--no-rate-limits', '--quiet']
// Whatever the test runner's own environment says, serve starts without either setting (spawn skips undefined).
const unset = { MALLOC_ARENA_MAX: undefined, MALLOC_MMAP_THRESHOLD_: undefined }

describe('serve bounds its allocator', { skip: process.platform !== 'linux' && 'Linux only' }, () => {
  const running: ServeProcess[] = []
  after(async () => {
    for (const serve of running) await serve.stop()
  })

  test('both settings are in the environment of the same process', async () => {
    const serve = await spawnServe(args, unset)
    running.push(serve)
    assert.equal(serve.ready.pid, serve.child.pid, 'execve keeps the PID')
    const env = environOf(serve.child.pid!)
    assert.equal(env.get('MALLOC_ARENA_MAX'), '2')
    assert.equal(env.get('MALLOC_MMAP_THRESHOLD_'), '1048576')
    const cmdline = readFileSync(`/proc/${serve.child.pid}/cmdline`, 'utf8').split('\0')
    assert.equal(cmdline[1], '--max-semi-space-size=8', 'the young generation is capped')
  })

  test("the operator's own arena count is kept and the threshold added", async () => {
    const serve = await spawnServe(args, { ...unset, MALLOC_ARENA_MAX: '4' })
    running.push(serve)
    const env = environOf(serve.child.pid!)
    assert.equal(env.get('MALLOC_ARENA_MAX'), '4')
    assert.equal(env.get('MALLOC_MMAP_THRESHOLD_'), '1048576')
  })
})
