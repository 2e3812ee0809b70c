import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type LegacySession, LegacySessions } from './era-sessions.ts'

const session = (key: string): LegacySession => ({
  key,
  url: 'http://gateway.test/mcp',
  id: `id-${key}`,
  version: '2025-11-25',
  init: {},
  identity: {},
  lastUsed: 0,
  inFlight: 0,
})

/** A table on a clock the test moves, recording the sessions it ends. */
function table(options: { idleMs?: number; maxSessions?: number } = {}) {
  let now = 1_000_000_000_000
  const ended: string[] = []
  const waiters: (() => void)[] = []
  const sessions = new LegacySessions({
    maxSessions: options.maxSessions ?? 1000,
    idleMs: options.idleMs ?? 30 * 60_000,
    now: () => now,
    end: (s) => {
      ended.push(s.key)
      for (const w of waiters.splice(0)) w()
    },
  })
  return {
    sessions,
    ended,
    /** The clock, in seconds since the epoch, as a token's `exp` is. */
    seconds: () => Math.floor(now / 1000),
    advance: (ms: number) => {
      now += ms
    },
    /** Resolves at the next session ended. */
    nextEnd: () => new Promise<void>((resolve) => waiters.push(resolve)),
    open: (key: string, expiresAt?: number) => sessions.get(key, expiresAt, async () => session(key)),
  }
}

describe('LegacySessions', () => {
  it('ends a token-keyed session when its token expires; a subject-keyed one keeps the idle rule', async () => {
    const t = table()
    await t.open('token', t.seconds() + 300)
    await t.open('subject')
    t.advance(299_000)
    t.sessions.sweep()
    assert.deepEqual(t.ended, [])
    t.advance(1_000)
    t.sessions.sweep()
    assert.deepEqual(t.ended, ['token'])
    // The same token's next request (a refreshed token is another key) would open a new session.
    t.advance(30 * 60_000)
    t.sessions.sweep()
    assert.deepEqual(t.ended, ['token', 'subject'])
    t.sessions.close()
  })

  it('ends an expired session only once its last request is done', async () => {
    const t = table()
    const s = await t.open('token', t.seconds() + 60)
    t.sessions.acquire(s)
    t.advance(61_000)
    t.sessions.sweep()
    assert.deepEqual(t.ended, [])
    t.sessions.release(s)
    assert.deepEqual(t.ended, ['token'])
    t.sessions.close()
  })

  it('ends an idle session at its expiry without waiting for the sweep', { timeout: 10_000 }, async () => {
    const t = table()
    const ended = t.nextEnd()
    // Already past its expiry when it opens (the timer fires at once), with the sweep a full minute away.
    await t.open('token', t.seconds() - 1)
    await ended
    assert.deepEqual(t.ended, ['token'])
    t.sessions.close()
  })

  it('keeps a session whose token has no known expiry until it idles out, and opens each key once', async () => {
    const t = table({ idleMs: 1_000 })
    const first = t.open('token')
    assert.equal(t.open('token'), first)
    await first
    t.advance(1_000)
    t.sessions.sweep()
    assert.deepEqual(t.ended, [])
    t.advance(1)
    t.sessions.sweep()
    assert.deepEqual(t.ended, ['token'])
    t.sessions.close()
  })

  it('forgets a lost session without ending it, and ends the idlest past the cap', async () => {
    const t = table({ maxSessions: 2 })
    const lost = await t.open('lost', t.seconds() - 1)
    t.sessions.forget(lost)
    await t.open('a')
    await t.open('b')
    await t.open('a')
    await t.open('c')
    assert.deepEqual(t.ended, ['b'])
    assert.equal(t.sessions.close().length, 2)
  })
})
