/**
 * Several real Node processes share one FileStore: compare-and-swap and lock() must hold across them
 * (no lost update), and a process killed with SIGKILL mid-write must never leave the store unloadable.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { FileStore } from '../../src/client/stores/file-store.ts'

const SELF = fileURLToPath(import.meta.url)
const role = process.env['STORE_WORKER']

/** A value whose integrity can be checked: a payload and its hash. */
function makeValue(n: number, size: number) {
  const payload = `${n}:`.padEnd(size, String.fromCharCode(97 + (n % 26)))
  return { n, payload, sha: createHash('sha256').update(payload).digest('hex') }
}

async function worker(): Promise<void> {
  const dir = process.env['STORE_DIR']!
  const store = new FileStore({ dir, log: () => {} })
  if (role === 'hammer') {
    const rounds = Number(process.env['ROUNDS'])
    let conflicts = 0
    // Start together: Node's start-up time would otherwise spread the workers out until they barely overlap.
    const go = process.env['GO_FILE']
    if (go) {
      await store.get('warmup')
      process.stderr.write('ready\n')
      while (!(await fs.stat(go).catch(() => undefined))) await new Promise((r) => setTimeout(r, 5))
    }
    for (let i = 0; i < rounds; i++) {
      // Optimistic: read, increment, compare-and-swap; retry on conflict.
      for (;;) {
        const cur = await store.get<number>('cas counter')
        const r = await store.set('cas counter', (cur?.value ?? 0) + 1, cur?.generation ?? 0)
        if (r.ok) break
        conflicts++
      }
      // Pessimistic: under lock(), an unconditional read-modify-write.
      const release = await store.lock('locked counter')
      try {
        const cur = await store.get<number>('locked counter')
        await store.set('locked counter', (cur?.value ?? 0) + 1)
      } finally {
        await release()
      }
    }
    process.stdout.write(`${JSON.stringify({ conflicts })}\n`)
  } else if (role === 'writer') {
    process.stdout.write('ready\n')
    for (let n = 1; ; n++) {
      const release = await store.lock('refresh')
      const cur = await store.get<{ n: number }>('session')
      await store.set(
        'session',
        makeValue((cur?.value.n ?? 0) + 1, 4096 + (n % 7) * 1000),
        cur?.generation ?? 0,
      )
      await release()
    }
  }
}

function run(child: ChildProcess): Promise<string> {
  let out = ''
  let err = ''
  child.stdout?.on('data', (c) => {
    out += c
  })
  child.stderr?.on('data', (c) => {
    err += c
  })
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`worker exited ${code}: ${err}`)),
    ),
  )
}

function spawnWorker(kind: string, dir: string, extra: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [SELF], {
    env: { ...process.env, STORE_WORKER: kind, STORE_DIR: dir, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

if (role) {
  await worker()
} else {
  const dirs: string[] = []
  const tempDir = async () => {
    const d = await fs.mkdtemp(join(tmpdir(), 'mcp-oauth-mp-'))
    dirs.push(d)
    return d
  }
  after(async () => {
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true })
  })

  describe('FileStore shared by several processes', () => {
    it('loses no update under compare-and-swap or lock() with 4 processes', async (t) => {
      const dir = await tempDir()
      // Create the key first so the workers also race on reads of an existing store, not only on creation.
      await new FileStore({ dir, log: () => {} }).set('warmup', true)
      const rounds = 40
      const go = join(dir, 'go')
      const children = Array.from({ length: 4 }, () =>
        spawnWorker('hammer', dir, { ROUNDS: String(rounds), GO_FILE: go }),
      )
      const outs = Promise.all(children.map(run))
      await Promise.all(children.map((c) => new Promise<void>((r) => c.stderr!.once('data', () => r()))))
      await fs.writeFile(go, '')
      const results = await outs
      const store = new FileStore({ dir, log: () => {} })
      assert.equal((await store.get('cas counter'))?.value, 4 * rounds)
      assert.equal((await store.get('cas counter'))?.generation, 4 * rounds)
      assert.equal((await store.get('locked counter'))?.value, 4 * rounds)
      const conflicts = results.reduce(
        (sum, o) => sum + (JSON.parse(o) as { conflicts: number }).conflicts,
        0,
      )
      t.diagnostic(
        `4 processes x ${rounds} rounds: ${conflicts} compare-and-swap conflicts detected and retried`,
      )
      // Conflicts happened (the processes really raced) and every one was detected and retried.
      assert.ok(conflicts > 0, 'expected some compare-and-swap conflicts between 4 processes')
    })

    it('creates the store exactly once when 4 processes open an empty directory together', async () => {
      const dir = await tempDir()
      await Promise.all(Array.from({ length: 4 }, () => run(spawnWorker('hammer', dir, { ROUNDS: '3' }))))
      const store = new FileStore({ dir, log: () => {} })
      assert.equal((await store.get('cas counter'))?.value, 12)
      assert.equal((await fs.readdir(dir)).filter((f) => f.includes('corrupt')).length, 0)
    })

    it('always loads after kill -9 mid-write, 20 times at random moments', async () => {
      const dir = await tempDir()
      await new FileStore({ dir, log: () => {} }).set('created', true)
      let last = 0
      let leftovers = 0
      for (let i = 0; i < 20; i++) {
        const child = spawnWorker('writer', dir)
        const exited = new Promise((r) => child.once('exit', r))
        await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()))
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 120))
        child.kill('SIGKILL')
        await exited
        const left = [
          ...(await fs.readdir(join(dir, 'locks')).catch(() => [])),
          ...(await fs.readdir(join(dir, 'entries')).catch(() => [])),
        ].filter((f) => /\.(lock|write|tmp|guard)$/.test(f))
        if (left.length > 0) leftovers++
        const warnings: string[] = []
        const store = new FileStore({ dir, log: (l) => warnings.push(l) })
        const entry = await store.get<ReturnType<typeof makeValue>>('session')
        assert.deepEqual(warnings, [], 'no file was found damaged')
        if (entry) {
          const { n, payload, sha } = entry.value
          assert.equal(createHash('sha256').update(payload).digest('hex'), sha, 'the entry is whole')
          assert.ok(n >= last, 'no older value came back')
          assert.equal(entry.generation, n)
          last = n
        }
        // The killed process may have held the lock: the next writer gets it (dead pid) and writes.
        const release = await store.lock('refresh', { ttlMs: 60_000 })
        const r = await store.set('session', makeValue(last + 1, 100), entry?.generation ?? 0)
        await release()
        assert.equal(r.ok, true)
        last += 1
      }
      assert.ok(last > 20, 'the writers made progress between kills')
      // Evidence the kills landed mid-operation: the dead writer left its lock or temp files behind.
      assert.ok(leftovers > 0, 'no kill interrupted a write or a held lock')
    })
  })
}
