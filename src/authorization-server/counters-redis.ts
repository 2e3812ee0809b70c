/**
 * Shared counters in Redis (`serve --redis URL`): several instances spend one budget without touching the
 * SQL store on every request. Each hit is one MULTI (SET NX PX, INCR, PTTL); markers are SET NX PX.
 * @see https://redis.io/docs/latest/commands/incr/#pattern-rate-limiter-1
 */
import { counterKey, type SharedCounters } from './counters.ts'

/** Options of {@link createRedisCounters}. @see https://redis.io/docs/latest/commands/incr/#pattern-rate-limiter */
export interface RedisCountersOptions {
  /** Prefix of every key written (default `mcp-oauth:`), so several deployments can share one Redis. */
  keyPrefix?: string
  /** Longest wait for one command in ms (default 1000): past it the command fails, so limits fail open and replay checks closed. */
  commandTimeoutMs?: number
}

/** Connects to `url` (redis:// or rediss://) and returns counters stored there. @see https://redis.io/docs/latest/commands/set/ */
export async function createRedisCounters(
  url: string,
  options: RedisCountersOptions = {},
): Promise<SharedCounters> {
  const prefix = options.keyPrefix ?? 'mcp-oauth:'
  // Loaded on use: deployments without --redis never load the client.
  const { createClient } = await import('redis')
  const timeoutMs = options.commandTimeoutMs ?? 1000
  // Without these, commands queue while the client reconnects and wait forever: every limited request and
  // every DPoP check would stall behind an outage. Offline, a command fails at once; online, it fails past
  // the timeout (Redis stalled), and the caller decides: limits pass traffic, replay checks refuse it.
  const client = createClient({
    url,
    disableOfflineQueue: true,
    commandOptions: { timeout: timeoutMs },
    socket: { connectTimeout: 5000, reconnectStrategy: 1000 },
  })
  client.on('error', () => {})
  await client.connect()
  const bounded = <T>(work: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs)
    })
    return Promise.race([work, expired]).finally(() => clearTimeout(timer))
  }
  const name = (kind: string, key: string) => `${prefix}${kind}:${counterKey(key)}`
  return {
    async hit(key, windowMs) {
      const k = name('hit', key)
      const [, count, ttl] = await bounded(
        client
          .multi()
          .set(k, '0', { condition: 'NX', expiration: { type: 'PX', value: windowMs } })
          .incr(k)
          .pTTL(k)
          .exec(),
      )
      return { count: Number(count), resetInMs: Math.max(0, Number(ttl)) }
    },
    async peek(key) {
      const k = name('hit', key)
      const [count, ttl] = await bounded(client.multi().get(k).pTTL(k).exec())
      if (count === null) return { count: 0, resetInMs: 0 }
      return { count: Number(count), resetInMs: Math.max(0, Number(ttl)) }
    },
    async release(key) {
      // Only a live window goes down, and never below zero: a missing key must not come back without a TTL.
      await bounded(
        client.eval(
          "local c = tonumber(redis.call('GET', KEYS[1])) if c and c > 0 then return redis.call('DECR', KEYS[1]) end return 0",
          { keys: [name('hit', key)] },
        ),
      )
    },
    async once(key, ttlMs) {
      const set = await bounded(
        client.set(name('once', key), '1', {
          condition: 'NX',
          expiration: { type: 'PX', value: Math.max(1, Math.ceil(ttlMs)) },
        }),
      )
      return set === 'OK'
    },
    async close() {
      await bounded(client.quit()).catch(() => {
        if (client.isOpen) client.destroy()
      })
    },
  }
}
