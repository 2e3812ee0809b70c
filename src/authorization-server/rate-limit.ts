/**
 * Fixed-window request limits per client address and endpoint, held in memory (per instance).
 * @see https://www.rfc-editor.org/rfc/rfc6585#section-4
 */

/** Requests allowed per window. */
export interface RateLimit {
  /** Requests per window. */
  max: number
  /** Window length in seconds. */
  windowSeconds: number
}

/** A limiter: `take(key)` answers 0 when allowed, else the seconds to wait. @see https://www.rfc-editor.org/rfc/rfc6585#section-4 */
export interface RateLimiter {
  take(key: string): number
}

/** Builds an in-memory fixed-window limiter. @see https://www.rfc-editor.org/rfc/rfc6585#section-4 */
export function createRateLimiter(limit: RateLimit): RateLimiter {
  const windows = new Map<string, { start: number; count: number }>()
  const windowMs = limit.windowSeconds * 1000
  let lastSweep = Date.now()
  return {
    take(key) {
      const now = Date.now()
      if (now - lastSweep > windowMs) {
        for (const [k, w] of windows) if (now - w.start >= windowMs) windows.delete(k)
        lastSweep = now
      }
      let entry = windows.get(key)
      if (!entry || now - entry.start >= windowMs) {
        entry = { start: now, count: 0 }
        windows.set(key, entry)
      }
      entry.count += 1
      if (entry.count <= limit.max) return 0
      return Math.max(1, Math.ceil((entry.start + windowMs - now) / 1000))
    },
  }
}
