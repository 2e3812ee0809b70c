/**
 * A bounded map whose entries expire: the verified-token cache, the introspection cache and the DPoP `jti`
 * replay cache all use it, so none of them can grow without limit.
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-4
 */
import { hash } from 'node:crypto'

/**
 * A size-bounded map with per-entry expiry (milliseconds since the epoch); the least recently used entry goes
 * first when full.
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-4
 */
export class ExpiringCache<V> {
  readonly maxEntries: number
  readonly #entries = new Map<string, { value: V; expiresAt: number }>()

  constructor(maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new RangeError('maxEntries must be a positive integer')
    this.maxEntries = maxEntries
  }

  get size(): number {
    return this.#entries.size
  }

  /** The live value for `key`, refreshing its recency; expired entries are dropped on sight. */
  get(key: string, now = Date.now()): V | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= now) {
      this.#entries.delete(key)
      return undefined
    }
    // Re-inserting moves the key to the end of Map iteration order, which is our recency order.
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    return entry.value
  }

  has(key: string, now = Date.now()): boolean {
    return this.get(key, now) !== undefined
  }

  /** Store `value` until `expiresAt`; evicts expired entries, then the least recently used, when full. */
  set(key: string, value: V, expiresAt: number, now = Date.now()): void {
    if (expiresAt <= now) return
    this.#entries.delete(key)
    if (this.#entries.size >= this.maxEntries) this.#evict(now)
    this.#entries.set(key, { value, expiresAt })
  }

  /** Whether a new key can be stored without evicting a live entry. */
  hasRoom(now = Date.now()): boolean {
    if (this.#entries.size < this.maxEntries) return true
    this.#sweep(now, this.maxEntries)
    return this.#entries.size < this.maxEntries
  }

  delete(key: string): void {
    this.#entries.delete(key)
  }

  clear(): void {
    this.#entries.clear()
  }

  #sweep(now: number, budget: number): void {
    let seen = 0
    for (const [k, e] of this.#entries) {
      if (seen++ >= budget) break
      if (e.expiresAt <= now) this.#entries.delete(k)
    }
  }

  #evict(now: number): void {
    // A bounded sweep keeps eviction O(1) amortised; then fall back to dropping the oldest entry.
    this.#sweep(now, 64)
    while (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next()
      if (oldest.done) break
      this.#entries.delete(oldest.value)
    }
  }
}

/**
 * The cache key for a token: its SHA-256, so the cache never holds a usable token.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-5.3
 */
export function tokenKey(token: string): string {
  return hash('sha256', token, 'base64url')
}
