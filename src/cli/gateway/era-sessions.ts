/**
 * The upstream 2025 sessions the era translation (`era.ts`) holds, one per principal: opened on first use (concurrent
 * first requests share the handshake), capped, and ended when no longer wanted. A 2026-07-28 client never ends a
 * session (it has none), so the table does: a session idle too long, the idlest past the cap, and a session keyed by
 * a token without a subject once that token expires (its refreshed successor is another principal and opens its
 * own session, so the old one would otherwise linger until it idles out).
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#session-management
 */

/** The 2025 session the gateway holds upstream for one principal (subject and client, or one token without a subject). @see https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle */
export interface LegacySession {
  key: string
  /** The URL requests in it carry (the gateway's own; the inner upstream knows where to send them). */
  url: string
  /** `Mcp-Session-Id`; null for a server without sessions (stdio-like or stateless). */
  id: string | null
  /** The version the upstream agreed in `initialize`, sent as `MCP-Protocol-Version`. */
  version: string
  init: Record<string, unknown>
  /** The identity headers of the request that opened it, for the gateway's own messages in it. */
  identity: Record<string, string>
  lastUsed: number
  inFlight: number
}

/** Options of {@link LegacySessions}. @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#session-management */
export interface LegacySessionsOptions {
  maxSessions: number
  idleMs: number
  /** End a session upstream (DELETE); the table has already let go of it. */
  end(session: LegacySession): void
  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
}

interface Entry {
  opening: Promise<LegacySession>
  session?: LegacySession
  /** When the token that is this principal expires, in ms (token-keyed sessions only). */
  expiresAt?: number
  timer?: ReturnType<typeof setTimeout>
}

// setTimeout's longest delay; a later expiry is left to the sweep.
const MAX_DELAY = 2 ** 31 - 1

/**
 * The table of upstream sessions, keyed by principal.
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#session-management
 */
export class LegacySessions {
  readonly #o: LegacySessionsOptions
  readonly #now: () => number
  readonly #entries = new Map<string, Entry>()
  readonly #sweep: ReturnType<typeof setInterval>

  constructor(options: LegacySessionsOptions) {
    this.#o = options
    this.#now = options.now ?? Date.now
    this.#sweep = setInterval(() => this.sweep(), Math.min(60_000, options.idleMs))
    this.#sweep.unref()
  }

  /**
   * The session of `key`, opened with `open` on first use. `expiresAt` (seconds since the epoch) is the expiry of the
   * token that is the principal, given only when no subject names it.
   */
  get(
    key: string,
    expiresAt: number | undefined,
    open: () => Promise<LegacySession>,
  ): Promise<LegacySession> {
    const existing = this.#entries.get(key)
    if (existing) {
      // Most recently used last, so the cap ends the idlest session.
      this.#entries.delete(key)
      this.#entries.set(key, existing)
      return existing.opening
    }
    const entry: Entry = { opening: open() }
    if (expiresAt !== undefined) entry.expiresAt = expiresAt * 1000
    this.#entries.set(key, entry)
    entry.opening.then(
      (s) => {
        s.lastUsed = this.#now()
        entry.session = s
        if (entry.expiresAt === undefined || this.#entries.get(key) !== entry) return
        const delay = entry.expiresAt - this.#now()
        if (delay > MAX_DELAY) return
        entry.timer = setTimeout(() => this.#endIfDone(entry), Math.max(0, delay))
        entry.timer.unref()
      },
      () => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key)
      },
    )
    for (const [old, stale] of this.#entries) {
      if (this.#entries.size <= this.#o.maxSessions) break
      // A session still opening or answering is never cut: the cap may be passed until one is idle.
      if (!stale.session || stale.session.inFlight > 0) continue
      this.#drop(old, stale)
    }
    return entry.opening
  }

  /** A request of `s` goes up. */
  acquire(s: LegacySession): void {
    s.inFlight++
    s.lastUsed = this.#now()
  }

  /** A request of `s` is done; the last one out of a session whose token expired meanwhile ends it. */
  release(s: LegacySession): void {
    s.inFlight--
    s.lastUsed = this.#now()
    const entry = this.#entries.get(s.key)
    if (entry?.session === s) this.#endIfDone(entry)
  }

  /** The upstream lost `s` (404): forget it, without a DELETE, so the next request opens another. */
  forget(s: LegacySession): void {
    const entry = this.#entries.get(s.key)
    if (entry?.session !== s) return
    clearTimeout(entry.timer)
    this.#entries.delete(s.key)
  }

  /** End every idle session unused past `idleMs` or past its token's expiry (the interval calls it). */
  sweep(): void {
    const now = this.#now()
    for (const [key, entry] of [...this.#entries]) {
      const s = entry.session
      if (!s || s.inFlight > 0) continue
      if (now - s.lastUsed > this.#o.idleMs || this.#expired(entry, now)) this.#drop(key, entry)
    }
  }

  /** Let go of every session; the caller ends them (they may still be opening). */
  close(): Promise<LegacySession>[] {
    clearInterval(this.#sweep)
    const open = [...this.#entries.values()]
    for (const entry of open) clearTimeout(entry.timer)
    this.#entries.clear()
    return open.map((entry) => entry.opening)
  }

  #expired(entry: Entry, now = this.#now()): boolean {
    return entry.expiresAt !== undefined && now >= entry.expiresAt
  }

  #endIfDone(entry: Entry): void {
    const s = entry.session
    if (s && s.inFlight === 0 && this.#expired(entry) && this.#entries.get(s.key) === entry)
      this.#drop(s.key, entry)
  }

  #drop(key: string, entry: Entry): void {
    clearTimeout(entry.timer)
    this.#entries.delete(key)
    if (entry.session) this.#o.end(entry.session)
  }
}
