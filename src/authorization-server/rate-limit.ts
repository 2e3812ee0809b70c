/**
 * Fixed-window request limits over {@link SharedCounters}: in memory for one instance, or in the shared SQL
 * store / Redis so that several instances enforce one budget. Every limit names what it is keyed by.
 * @see https://www.rfc-editor.org/rfc/rfc6585#section-4
 */
import { InvalidArgumentError } from '../shared/errors.ts'
import type { SharedCounters } from './counters.ts'

/** Requests allowed per window. */
export interface RateLimit {
  /** Requests per window. */
  max: number
  /** Window length in seconds. */
  windowSeconds: number
}

/** Every limit the server applies, by name. @see https://www.rfc-editor.org/rfc/rfc6585#section-4 */
export interface RateLimits {
  /** Dynamic client registration, per client address. */
  registration: RateLimit
  /** Token endpoint, per client_id and address (hosted connectors sharing an egress address keep their own budget). */
  token: RateLimit
  /** Pushed authorization requests, per client_id and address. */
  par: RateLimit
  /** Token revocation, per client_id and address. */
  revocation: RateLimit
  /** Token introspection, per client_id and address. */
  introspection: RateLimit
  /** Browser-facing authorization and interaction pages, per address. */
  authorization: RateLimit
  /** Failed sign-ins per address. */
  login: RateLimit
  /** Failed sign-ins per account, from any address (a password guessed from many addresses is still refused). */
  loginAccount: RateLimit
  /** Client ID Metadata Document fetches caused per address. */
  cimdFetch: RateLimit
}

/** Defaults of {@link RateLimits}. @see https://www.rfc-editor.org/rfc/rfc6585#section-4 */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  registration: { max: 20, windowSeconds: 60 },
  token: { max: 600, windowSeconds: 60 },
  par: { max: 300, windowSeconds: 60 },
  revocation: { max: 300, windowSeconds: 60 },
  introspection: { max: 1200, windowSeconds: 60 },
  authorization: { max: 120, windowSeconds: 60 },
  login: { max: 30, windowSeconds: 900 },
  loginAccount: { max: 10, windowSeconds: 900 },
  cimdFetch: { max: 20, windowSeconds: 60 },
}

/** The command-line names of {@link RateLimits} (`serve --rate-limit NAME=MAX/SECONDS`). @see https://www.rfc-editor.org/rfc/rfc6585#section-4 */
export const RATE_LIMIT_NAMES: Record<string, keyof RateLimits> = {
  registration: 'registration',
  token: 'token',
  par: 'par',
  revocation: 'revocation',
  introspection: 'introspection',
  authorization: 'authorization',
  login: 'login',
  'login-account': 'loginAccount',
  'cimd-fetch': 'cimdFetch',
}

/**
 * How many times a per-client budget one address may spend across all the client_ids it names: client_id is
 * unauthenticated, so without this ceiling an address rotating it would have no limit at all.
 * @see https://www.rfc-editor.org/rfc/rfc6585#section-4
 */
export const ADDRESS_CEILING_FACTOR = 5

/** A limiter: `take(key)` counts a request and answers 0 when allowed, else the seconds to wait; `check` only reads. @see https://www.rfc-editor.org/rfc/rfc6585#section-4 */
export interface RateLimiter {
  take(key: string): Promise<number>
  check(key: string): Promise<number>
  /** Gives back one request counted by `take` (a sign-in that succeeded is not a failure). */
  release(key: string): Promise<void>
  /** Counts a request against the address's ceiling ({@link ADDRESS_CEILING_FACTOR} budgets), then the client's own budget at that address. */
  takeClient(clientId: string, address: string): Promise<number>
}

/**
 * Builds a fixed-window limiter on `counters`. A failing store lets requests through (the server stays up
 * when Redis is briefly away); DPoP replay detection, which must not fail open, does not use this.
 * @see https://www.rfc-editor.org/rfc/rfc6585#section-4
 */
export function createRateLimiter(
  limit: RateLimit,
  counters: SharedCounters,
  name: string,
  onStoreError: (error: unknown) => void = () => {},
): RateLimiter {
  const windowMs = limit.windowSeconds * 1000
  const wait = (max: number, count: number, resetInMs: number) =>
    count <= max ? 0 : Math.max(1, Math.ceil(resetInMs / 1000))
  const failOpen = (error: unknown) => {
    onStoreError(error)
    return undefined
  }
  const take = async (key: string) => {
    const result = await counters.hit(`${name}:${key}`, windowMs).catch(failOpen)
    return result ? wait(limit.max, result.count, result.resetInMs) : 0
  }
  return {
    take,
    async check(key) {
      const result = await counters.peek(`${name}:${key}`).catch(failOpen)
      return result && result.count >= limit.max ? Math.max(1, Math.ceil(result.resetInMs / 1000)) : 0
    },
    async release(key) {
      await counters.release(`${name}:${key}`).catch(failOpen)
    },
    async takeClient(clientId, address) {
      // The ceiling first: once an address is over it, no per-client counter is written for new client_ids.
      const ceiling = await counters.hit(`${name}@address:${address}`, windowMs).catch(failOpen)
      const over = ceiling ? wait(limit.max * ADDRESS_CEILING_FACTOR, ceiling.count, ceiling.resetInMs) : 0
      return over || (await take(`${clientId.length}:${clientId}:${address}`))
    },
  }
}

/** Parses `NAME=MAX/SECONDS` limit specs (`serve --rate-limit`). @see https://www.rfc-editor.org/rfc/rfc6585#section-4 */
export function parseRateLimits(specs: readonly string[]): Partial<RateLimits> {
  const limits: Partial<RateLimits> = {}
  for (const spec of specs) {
    const match = /^([a-z-]+)=(\d+)\/(\d+)$/.exec(spec)
    const name = match ? RATE_LIMIT_NAMES[match[1]!] : undefined
    if (!match || !name || Number(match[3]) < 1) {
      throw new InvalidArgumentError('invalid_argument', `bad --rate-limit ${spec.slice(0, 60)}`, {
        hint: `use NAME=MAX/SECONDS with NAME one of ${Object.keys(RATE_LIMIT_NAMES).join(', ')}, e.g. login-account=10/900`,
      })
    }
    limits[name] = { max: Number(match[2]), windowSeconds: Number(match[3]) }
  }
  return limits
}

/** Builds the named limiters over `counters` from the server's `rateLimits` option (`false`: none). @see https://www.rfc-editor.org/rfc/rfc6585#section-4 */
export function limiterFactory(
  option: false | Partial<RateLimits> | undefined,
  counters: SharedCounters,
): (name: keyof RateLimits) => RateLimiter | undefined {
  const limits = option === false ? undefined : { ...DEFAULT_RATE_LIMITS, ...option }
  let warned = false
  // Said once per server, not per request: an outage must not flood the log.
  const onStoreError = (error: unknown) => {
    if (warned) return
    warned = true
    process.stderr.write(
      `mcp-oauth: rate-limit counters unavailable (${(error as Error)?.message ?? 'unknown error'}); requests pass unlimited until it answers again. Check it with: redis-cli -u <your --redis URL> ping (or your database's own client)\n`,
    )
  }
  return (name) => (limits ? createRateLimiter(limits[name], counters, name, onStoreError) : undefined)
}
