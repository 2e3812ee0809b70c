import assert from 'node:assert/strict'
import { test } from 'node:test'
import { errors, exportJWK, generateKeyPair, type JSONWebKeySet } from 'jose'
import { remoteKeySet } from './jwks.ts'

test('unknown kids beyond the waiter cap are refused at once, and the storm still costs one fetch per cooldown', async () => {
  const { publicKey } = await generateKeyPair('ES256')
  const jwks: JSONWebKeySet = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] }
  const set = remoteKeySet({
    load: async () => jwks,
    cooldownMs: 1000,
    cacheMaxAgeMs: 600_000,
    unknownKidWaitMs: 60_000,
    maxUnknownKidWaiters: 4,
  })
  // Only the protected header matters to key selection.
  const resolve = async (kid: string) =>
    await set.getKey({ alg: 'ES256', kid }, { payload: '', signature: '' } as never)
  await resolve('k1')
  assert.equal(set.fetches, 1)
  // The first unknown kid after the fetch falls inside the cooldown: up to 4 wait, the other 6 are refused now.
  const settled: string[] = []
  const attempts = Array.from({ length: 10 }, (_, i) =>
    resolve(`random-${i}`).then(
      () => settled.push('key'),
      (e: unknown) =>
        settled.push(e instanceof errors.JWKSNoMatchingKey ? `refused-${set.fetches}` : 'other'),
    ),
  )
  // Refusals beyond the cap happen before the cooldown's refetch (fetch count still 1).
  await new Promise((resolve) => setImmediate(resolve))
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(settled, Array(6).fill('refused-1'))
  await Promise.all(attempts)
  assert.equal(settled.length, 10)
  assert.ok(!settled.includes('key') && !settled.includes('other'))
  // The 4 waiters shared one refetch at the cooldown's end.
  assert.equal(set.fetches, 2)
})
