/**
 * A cross-process lock made of one file created exclusively (link or O_EXCL), naming its owner (host, pid, nonce)
 * and an expiry the living owner keeps pushing forward. A lock whose owner died (same host, pid gone) or stopped
 * renewing (expiry passed) is taken over. Removals happen under a short guard file, so a takeover can never delete
 * a lock someone else has just taken.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import { hostname } from 'node:os'
import { setTimeout as delay } from 'node:timers/promises'
import { McpOAuthError, SPEC } from '../../shared/errors.ts'
import { renameReplacing } from './rename.ts'

/** What a lock file says. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export interface LockOwner {
  pid: number
  host: string
  nonce: string
  /** Epoch milliseconds after which the lock counts as abandoned. */
  expires: number
}

/** Options of {@link acquireFileLock}. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export interface FileLockOptions {
  /** How long the lock survives its owner's silence (a dead owner on this host is detected at once). Default 30 s. */
  ttlMs?: number
  signal?: AbortSignal
  /** Give up after this long (a typed `lock_timeout` error). Default: wait as long as it takes. */
  waitMs?: number
}

/** A held lock; `release` is idempotent. `lost` turns true if another process took the lock over. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export interface HeldLock {
  release(): Promise<void>
  readonly lost: boolean
}

/** A guard older than this was left by a process killed within its few-microsecond critical section. */
const GUARD_STALE_MS = 2000
const HOST = hostname()

/** Whether `pid` is a living process on this host. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Whether a lock's owner can be presumed gone. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export function isAbandoned(owner: LockOwner, now = Date.now()): boolean {
  if (owner.expires <= now) return true
  return owner.host === HOST && !pidAlive(owner.pid)
}

async function readOwner(path: string): Promise<LockOwner | undefined | 'unreadable'> {
  let text: string
  try {
    text = await fs.readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    return 'unreadable'
  }
  try {
    const o = JSON.parse(text) as LockOwner
    if (typeof o.pid === 'number' && typeof o.nonce === 'string' && typeof o.expires === 'number') return o
  } catch {}
  return 'unreadable'
}

/** Create `path` holding `content` only if it does not exist: via a temp file and link(), so it is never seen half-written. */
async function createExclusive(path: string, content: string): Promise<boolean> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  await fs.writeFile(temp, content, { mode: 0o600 })
  try {
    await fs.link(temp, path)
    return true
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return false
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error
    // File systems without hard links: O_EXCL (a reader may briefly see it empty, which counts as held).
    try {
      await fs.writeFile(path, content, { flag: 'wx', mode: 0o600 })
      return true
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false
      throw e
    }
  } finally {
    await fs.rm(temp, { force: true })
  }
}

/** Run `fn` holding the short guard of `path` (all removals and renewals of the lock file happen under it). */
async function underGuard<T>(path: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const guard = `${path}.guard`
  for (let i = 0; ; i++) {
    try {
      await fs.writeFile(guard, String(process.pid), { flag: 'wx', mode: 0o600 })
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const stat = await fs.stat(guard).catch(() => undefined)
      if (stat && Date.now() - stat.mtimeMs > GUARD_STALE_MS) await fs.rm(guard, { force: true })
      else await delay(Math.min(2 + i, 20), undefined, { signal })
    }
  }
  try {
    return await fn()
  } finally {
    await fs.rm(guard, { force: true })
  }
}

/**
 * Take the lock at `path`, waiting while a living owner holds it; renews itself every ttl/3 while held.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
export async function acquireFileLock(path: string, options: FileLockOptions = {}): Promise<HeldLock> {
  const ttlMs = options.ttlMs ?? 30_000
  const deadline = options.waitMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.waitMs
  const nonce = randomBytes(12).toString('hex')
  const ownerText = () => JSON.stringify({ pid: process.pid, host: HOST, nonce, expires: Date.now() + ttlMs })
  for (let attempt = 0; ; attempt++) {
    options.signal?.throwIfAborted()
    if (await createExclusive(path, ownerText())) break
    const seen = await readOwner(path)
    if (seen === undefined) continue
    const abandoned =
      seen === 'unreadable'
        ? await fs.stat(path).then(
            (s) => Date.now() - s.mtimeMs > GUARD_STALE_MS,
            () => false,
          )
        : isAbandoned(seen)
    if (abandoned) {
      await underGuard(
        path,
        async () => {
          const now = await readOwner(path)
          const same = now === 'unreadable' ? seen === 'unreadable' : now?.nonce === (seen as LockOwner).nonce
          if (now !== undefined && same) await fs.rm(path, { force: true })
        },
        options.signal,
      )
      continue
    }
    if (Date.now() > deadline) {
      throw new McpOAuthError('lock_timeout', 'another process holds the store lock for too long', {
        spec: SPEC.mcpAuth,
        hint: 'another mcp-oauth process is busy with this session; try again shortly',
        details: { ...(seen !== 'unreadable' ? { ownerPid: seen.pid } : {}) },
      })
    }
    await delay(Math.min(5 * 2 ** Math.min(attempt, 4), 80) + Math.random() * 10, undefined, {
      signal: options.signal,
    })
  }

  let lost = false
  let released = false
  const renew = setInterval(
    () => {
      void underGuard(path, async () => {
        const now = await readOwner(path)
        if (now === undefined || now === 'unreadable' || now.nonce !== nonce) {
          lost = true
          clearInterval(renew)
          return
        }
        const temp = `${path}.${nonce}.renew`
        await fs.writeFile(temp, ownerText(), { mode: 0o600 })
        await renameReplacing(temp, path)
      }).catch(() => {})
    },
    Math.max(Math.floor(ttlMs / 3), 50),
  )
  renew.unref()

  return {
    get lost() {
      return lost
    },
    async release() {
      if (released) return
      released = true
      clearInterval(renew)
      await underGuard(path, async () => {
        const now = await readOwner(path)
        if (now !== undefined && now !== 'unreadable' && now.nonce === nonce)
          await fs.rm(path, { force: true })
      })
    },
  }
}
