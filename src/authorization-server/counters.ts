/**
 * Shared state for abuse limits: fixed-window counters and one-time markers (DPoP proof `jti`s). The in-memory
 * store serves one process; the SQL store (counters-sql.ts) and Redis store (counters-redis.ts) make several
 * instances enforce one budget.
 * @see https://www.rfc-editor.org/rfc/rfc6585#section-4
 */
import { createHash } from 'node:crypto'

/** A window's count after a hit, and how long until it resets. @see https://www.rfc-editor.org/rfc/rfc6585#section-4 */
export interface WindowCount {
  count: number
  resetInMs: number
}

/** Counters and once-markers shared by every instance that uses the same store. @see https://www.rfc-editor.org/rfc/rfc6585#section-4 */
export interface SharedCounters {
  /** Adds one to `key` in a fixed window of `windowMs` (started by the first hit) and returns the new count. */
  hit(key: string, windowMs: number): Promise<WindowCount>
  /** The current count of `key` without adding to it (0 once the window is over). */
  peek(key: string): Promise<WindowCount>
  /** Gives back one hit of `key` in its current window (a sign-in that turned out right). */
  release(key: string): Promise<void>
  /** Records `key` for `ttlMs`; true only for the first caller across all instances (replay detection). */
  once(key: string, ttlMs: number): Promise<boolean>
  /** Releases timers and connections. */
  close(): Promise<void>
}

/** Fixed-length storage key for any counter name (names may hold usernames and addresses). @see https://www.rfc-editor.org/rfc/rfc6234 */
export function counterKey(name: string): string {
  return createHash('sha256').update(name).digest('base64url')
}

/**
 * Bounded in-memory counters for a single instance. Once-markers live in their own map: a flood of rate-limited
 * requests cannot evict a DPoP replay marker, and a marker map full of live entries refuses (fails closed).
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-11.1
 */
export function createMemoryCounters(maxEntries = 100_000, maxMarkers = maxEntries): SharedCounters {
  const windows = new Map<string, { resetAt: number; count: number }>()
  const markers = new Map<string, number>()
  const sweep = (now: number) => {
    for (const [k, w] of windows) if (w.resetAt <= now) windows.delete(k)
    // Still full of live entries: drop the oldest rather than grow without bound (a lost count only lets a
    // request through; it never lets a proof be replayed, as markers are kept apart).
    for (const k of windows.keys()) {
      if (windows.size < maxEntries) break
      windows.delete(k)
    }
  }
  return {
    async hit(key, windowMs) {
      const now = Date.now()
      let entry = windows.get(key)
      if (!entry || entry.resetAt <= now) {
        if (windows.size >= maxEntries) sweep(now)
        entry = { resetAt: now + windowMs, count: 0 }
        windows.set(key, entry)
      }
      entry.count += 1
      return { count: entry.count, resetInMs: entry.resetAt - now }
    },
    async peek(key) {
      const now = Date.now()
      const entry = windows.get(key)
      if (!entry || entry.resetAt <= now) return { count: 0, resetInMs: 0 }
      return { count: entry.count, resetInMs: entry.resetAt - now }
    },
    async release(key) {
      const entry = windows.get(key)
      if (entry && entry.resetAt > Date.now() && entry.count > 0) entry.count -= 1
    },
    async once(key, ttlMs) {
      const now = Date.now()
      const expiresAt = markers.get(key)
      if (expiresAt !== undefined && expiresAt > now) return false
      if (expiresAt === undefined && markers.size >= maxMarkers) {
        for (const [k, at] of markers) if (at <= now) markers.delete(k)
        // Evicting a live marker would let its proof be replayed: refuse instead, until markers expire.
        if (markers.size >= maxMarkers) return false
      }
      markers.set(key, now + ttlMs)
      return true
    },
    async close() {
      windows.clear()
      markers.clear()
    },
  }
}
