import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { connect, createServer, type Socket } from 'node:net'
import { test } from 'node:test'
import { need, REDIS_URL, redisAvailable } from '../../test/support/environment.ts'
import { createRedisCounters } from './counters-redis.ts'
import { createRateLimiter } from './rate-limit.ts'

/** A loopback relay to the test Redis that can stall (hold every byte) or go down (close every connection). */
async function startRelay() {
  const target = new URL(REDIS_URL)
  const sockets = new Set<Socket>()
  let stalled = false
  const server = createServer((inbound) => {
    const outbound = connect(Number(target.port || 6379), target.hostname)
    sockets.add(inbound).add(outbound)
    inbound.on('data', (chunk) => {
      if (!stalled) outbound.write(chunk)
    })
    outbound.on('data', (chunk) => inbound.write(chunk))
    for (const socket of [inbound, outbound]) {
      socket.on('error', () => {})
      socket.on('close', () => {
        inbound.destroy()
        outbound.destroy()
      })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  const url = new URL(REDIS_URL)
  url.hostname = '127.0.0.1'
  url.port = String(port)
  return {
    url: url.href,
    stall() {
      stalled = true
    },
    async down() {
      await new Promise((resolve) => {
        server.close(resolve)
        for (const socket of sockets) socket.destroy()
      })
    },
  }
}

// No timing threshold: the test timeout is what catches a hang (commands queued forever behind an outage).
test('Redis stalled or down: limits fail open at once, replay checks fail closed', {
  timeout: 20_000,
}, async (t) => {
  if (!need(t, 'Redis', await redisAvailable())) return
  const relay = await startRelay()
  const counters = await createRedisCounters(relay.url, {
    keyPrefix: `mcp-oauth-unit-${randomBytes(6).toString('hex')}:`,
    commandTimeoutMs: 200,
  })
  const storeErrors: unknown[] = []
  const limiter = createRateLimiter({ max: 1, windowSeconds: 60 }, counters, 'token', (error) =>
    storeErrors.push(error),
  )
  try {
    assert.equal(await limiter.take('a'), 0)
    assert.ok((await limiter.take('a')) > 0, 'the limit holds while Redis answers')
    relay.stall()
    assert.equal(await limiter.take('a'), 0, 'Redis stalled: the request passes (fail open)')
    await assert.rejects(counters.once('jti-stalled', 60_000), 'Redis stalled: no replay check passes')
    await relay.down()
    assert.equal(await limiter.take('a'), 0, 'Redis down: the request passes (fail open)')
    assert.equal(await limiter.takeClient('c', 'a'), 0)
    await assert.rejects(counters.once('jti-down', 60_000), 'Redis down: no replay check passes')
    assert.ok(storeErrors.length >= 2, 'every store failure reaches the limiter’s error hook')
  } finally {
    await counters.close()
  }
})
