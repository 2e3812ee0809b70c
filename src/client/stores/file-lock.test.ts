import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { promises as fs } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { isMcpOAuthError } from '../../shared/errors.ts'
import { acquireFileLock, isAbandoned } from './file-lock.ts'

const dirs: string[] = []
async function tempDir(): Promise<string> {
  const d = await fs.mkdtemp(join(tmpdir(), 'mcp-oauth-lock-'))
  dirs.push(d)
  return d
}
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true })
})

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((r) => child.once('exit', r))
  return child.pid!
}

describe('acquireFileLock', () => {
  it('takes over a lock whose owner on this host is dead', async () => {
    const path = join(await tempDir(), 'x.lock')
    const owner = { pid: await deadPid(), host: hostname(), nonce: 'dead', expires: Date.now() + 3_600_000 }
    await fs.writeFile(path, JSON.stringify(owner))
    const held = await acquireFileLock(path, { waitMs: 5000 })
    const now = JSON.parse(await fs.readFile(path, 'utf8'))
    assert.equal(now.pid, process.pid)
    await held.release()
    await assert.rejects(fs.stat(path))
  })

  it('takes over a lock whose ttl passed, even from a live pid', async () => {
    const path = join(await tempDir(), 'x.lock')
    await fs.writeFile(
      path,
      JSON.stringify({ pid: process.ppid, host: hostname(), nonce: 'old', expires: 1 }),
    )
    const held = await acquireFileLock(path, { waitMs: 5000 })
    await held.release()
  })

  it('waits for a live owner on another host until its ttl, and times out with a typed error', async () => {
    const path = join(await tempDir(), 'x.lock')
    const owner = { pid: 1, host: 'elsewhere', nonce: 'n', expires: Date.now() + 3_600_000 }
    assert.equal(isAbandoned(owner), false)
    await fs.writeFile(path, JSON.stringify(owner))
    await assert.rejects(acquireFileLock(path, { waitMs: 50 }), (e) => isMcpOAuthError(e, 'lock_timeout'))
  })

  it('renews while held, so a long holder keeps its lock past the ttl', async () => {
    const path = join(await tempDir(), 'x.lock')
    const held = await acquireFileLock(path, { ttlMs: 150 })
    await new Promise((r) => setTimeout(r, 400))
    assert.equal(held.lost, false)
    await assert.rejects(acquireFileLock(path, { waitMs: 20 }), (e) => isMcpOAuthError(e, 'lock_timeout'))
    await held.release()
    const next = await acquireFileLock(path, { waitMs: 1000 })
    await next.release()
  })

  it('honours an abort signal while waiting', async () => {
    const path = join(await tempDir(), 'x.lock')
    const held = await acquireFileLock(path)
    const ac = new AbortController()
    const waiting = acquireFileLock(path, { signal: ac.signal })
    ac.abort(new Error('stop'))
    await assert.rejects(waiting)
    await held.release()
  })
})
