import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { need, REDIS_URL, redisAvailable } from '../../test/support/environment.ts'
import { createMemoryCounters, type SharedCounters } from './counters.ts'
import { createRedisCounters } from './counters-redis.ts'
import { createSealer, createSqliteStorage, generateStorageKey } from './index.ts'
import { parseRateLimits } from './rate-limit.ts'

async function exercise(counters: SharedCounters) {
  const key = `k-${randomBytes(6).toString('hex')}`
  assert.deepEqual((await counters.peek(key)).count, 0)
  assert.equal((await counters.hit(key, 60_000)).count, 1)
  const second = await counters.hit(key, 60_000)
  assert.equal(second.count, 2)
  assert.ok(second.resetInMs > 0 && second.resetInMs <= 60_000)
  assert.equal((await counters.peek(key)).count, 2)
  await counters.release(key)
  assert.equal((await counters.peek(key)).count, 1, 'a released hit is given back')
  await counters.release(`${key}-never-hit`)
  assert.equal((await counters.peek(`${key}-never-hit`)).count, 0, 'releasing nothing leaves nothing')
  assert.equal((await counters.hit(key, 60_000)).count, 2)
  assert.equal(await counters.once(`${key}-jti`, 60_000), true)
  assert.equal(await counters.once(`${key}-jti`, 60_000), false, 'a marker is seen once')
  // An elapsed window starts over at 1 (1 ms windows have ended by the next statement).
  const short = `${key}-short`
  await counters.hit(short, 1)
  await new Promise((resolve) => setTimeout(resolve, 5))
  assert.equal((await counters.hit(short, 60_000)).count, 1)
  assert.equal(await counters.once(`${key}-expired`, 1), true)
  await new Promise((resolve) => setTimeout(resolve, 5))
  assert.equal(await counters.once(`${key}-expired`, 60_000), true, 'an expired marker may be set again')
}

test('memory counters: fixed windows and once-markers', async () => {
  await exercise(createMemoryCounters())
})

test('memory counters: a flood of limit keys cannot evict a replay marker; full of live markers, once refuses', async () => {
  const counters = createMemoryCounters(4, 3)
  assert.equal(await counters.once('proof-1', 60_000), true)
  for (let i = 0; i < 20; i++) await counters.hit(`flood-${i}`, 60_000)
  assert.equal(await counters.once('proof-1', 60_000), false, 'the marker survived the flood: replay refused')
  assert.equal(await counters.once('proof-2', 60_000), true)
  assert.equal(await counters.once('proof-3', 60_000), true)
  assert.equal(
    await counters.once('proof-4', 60_000),
    false,
    'full of live markers: fail closed, evict nothing',
  )
  assert.equal(await counters.once('proof-1', 60_000), false, 'the oldest marker is still there')
  const expiring = createMemoryCounters(4, 1)
  assert.equal(await expiring.once('short', 1), true)
  await new Promise((resolve) => setTimeout(resolve, 5))
  assert.equal(await expiring.once('next', 60_000), true, 'expired markers make room')
})

test('SQL counters (SQLite): one atomic upsert per hit, markers set once', async () => {
  const storage = await createSqliteStorage(':memory:', { sealer: createSealer(generateStorageKey()) })
  try {
    assert.ok(storage.counters)
    await exercise(storage.counters)
  } finally {
    await storage.close()
  }
})

test('Redis counters: the same behaviour under a per-run key prefix', async (t) => {
  if (!need(t, 'Redis', await redisAvailable())) return
  const prefix = `mcp-oauth-unit-${randomBytes(6).toString('hex')}:`
  const counters = await createRedisCounters(REDIS_URL, { keyPrefix: prefix })
  try {
    await exercise(counters)
  } finally {
    await counters.close()
  }
})

test('--rate-limit specs: NAME=MAX/SECONDS by command-line name; anything else is a usage error', () => {
  assert.deepEqual(parseRateLimits(['login-account=5/600', 'par=1/1']), {
    loginAccount: { max: 5, windowSeconds: 600 },
    par: { max: 1, windowSeconds: 1 },
  })
  for (const bad of ['login=5', 'nope=1/60', 'token=1/0', 'token=-1/60'])
    assert.throws(() => parseRateLimits([bad]), { code: 'invalid_argument' })
})
