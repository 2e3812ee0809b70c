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
}

/** Connects to `url` (redis:// or rediss://) and returns counters stored there. @see https://redis.io/docs/latest/commands/set/ */
export async function createRedisCounters(
  url: string,
  options: RedisCountersOptions = {},
): Promise<SharedCounters> {
  const prefix = options.keyPrefix ?? 'mcp-oauth:'
  // Loaded on use: deployments without --redis never load the client.
  const { createClient } = await import('redis')
  const client = createClient({ url, socket: { connectTimeout: 5000, reconnectStrategy: 1000 } })
  client.on('error', () => {})
  await client.connect()
  const name = (kind: string, key: string) => `${prefix}${kind}:${counterKey(key)}`
  return {
    async hit(key, windowMs) {
      const k = name('hit', key)
      const [, count, ttl] = await client
        .multi()
        .set(k, '0', { condition: 'NX', expiration: { type: 'PX', value: windowMs } })
        .incr(k)
        .pTTL(k)
        .exec()
      return { count: Number(count), resetInMs: Math.max(0, Number(ttl)) }
    },
    async peek(key) {
      const k = name('hit', key)
      const [count, ttl] = await client.multi().get(k).pTTL(k).exec()
      if (count === null) return { count: 0, resetInMs: 0 }
      return { count: Number(count), resetInMs: Math.max(0, Number(ttl)) }
    },
    async once(key, ttlMs) {
      const set = await client.set(name('once', key), '1', {
        condition: 'NX',
        expiration: { type: 'PX', value: Math.max(1, Math.ceil(ttlMs)) },
      })
      return set === 'OK'
    },
    async close() {
      await client.quit().catch(() => client.destroy())
    },
  }
}
