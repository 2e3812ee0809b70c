import assert from 'node:assert/strict'
import { randomBytes, scryptSync } from 'node:crypto'
import { test } from 'node:test'
import { createSealer, generateStorageKey } from './adapters/sealing.ts'
import { createSqliteStorage } from './adapters/sqlite.ts'
import {
  createStoredUsers,
  createUserDirectory,
  hashPassword,
  passwordHashingLoad,
  verifyPassword,
} from './users.ts'

test('scrypt hashes verify the right password only, with a fresh salt each time', async () => {
  const hash = await hashPassword('correct horse battery')
  assert.match(hash, /^scrypt\$8192\$8\$10\$/)
  assert.notEqual(hash, await hashPassword('correct horse battery'))
  assert.equal(await verifyPassword('correct horse battery', hash), true)
  assert.equal(await verifyPassword('wrong horse battery', hash), false)
  assert.equal(await verifyPassword('x', 'md5$abc'), false)
})

/** A hash as the former parameters made it (N=2^15, r=8, p=1: 32 MiB). */
function formerHash(password: string): string {
  const salt = randomBytes(16)
  const key = scryptSync(password, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 })
  return ['scrypt', 2 ** 15, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$')
}

test('hashes made with the former parameters (N=2^15, r=8, p=1) still verify', async () => {
  const hash = formerHash('correct horse battery')
  assert.equal(await verifyPassword('correct horse battery', hash), true)
  assert.equal(await verifyPassword('wrong horse battery', hash), false)
})

/** A hash with the given parameters and a valid-looking salt and key (never derived: it must be refused first). */
function forged(n: number, r: number, p: number): string {
  return [
    'scrypt',
    n,
    r,
    p,
    randomBytes(16).toString('base64url'),
    randomBytes(32).toString('base64url'),
  ].join('$')
}

test('a stored hash with parameters this server would not use is refused without deriving', async () => {
  for (const hash of [
    forged(32768, 1, 16), // within the memory cap, far more work than today's
    forged(2 ** 15, 8, 10), // 32 MiB with 10 passes: over the work bound
    forged(2 ** 16, 16, 1), // 128 MiB
    forged(3000, 8, 1), // not a power of two (scrypt itself would throw)
    forged(2 ** 13, 0, 1),
    `scrypt$8192$8$10$${randomBytes(16).toString('base64url')}$short`,
    'scrypt$8192$8$10$$',
  ]) {
    const started = passwordHashingLoad()
    assert.equal(
      await verifyPassword('correct horse battery', hash),
      false,
      hash.split('$').slice(0, 4).join('$'),
    )
    assert.deepEqual(passwordHashingLoad(), started)
  }
})

test('a stored account with a hash of the former parameters is re-hashed at its next sign-in', async () => {
  const storage = await createSqliteStorage(':memory:', { sealer: createSealer(generateStorageKey()) })
  try {
    const users = await createStoredUsers(storage)
    const old = formerHash('correct horse battery')
    await storage.adapter('LocalUser').upsert('bob', { passwordHash: old, displayName: 'Bob' })
    assert.equal(await users.verify('bob', 'wrong horse battery'), undefined)
    assert.equal(
      (await storage.adapter('LocalUser').find('bob'))?.['passwordHash'],
      old,
      'not on a failed check',
    )
    assert.equal((await users.verify('bob', 'correct horse battery'))?.displayName, 'Bob')
    const now = (await storage.adapter('LocalUser').find('bob'))?.['passwordHash']
    assert.match(String(now), /^scrypt\$8192\$8\$10\$/)
    assert.equal((await users.verify('bob', 'correct horse battery'))?.username, 'bob')
  } finally {
    await storage.close?.()
  }
})

test('short passwords are refused with a hint; unknown users fail like wrong passwords', async () => {
  await assert.rejects(hashPassword('short'), { code: 'password_too_short' })
  const users = await createUserDirectory([
    { username: 'alice', passwordHash: await hashPassword('correct horse battery') },
  ])
  assert.equal((await users.verify('alice', 'correct horse battery'))?.username, 'alice')
  assert.equal(await users.verify('alice', 'nope nope nope'), undefined)
  assert.equal(await users.verify('mallory', 'correct horse battery'), undefined)
})

test('a burst of sign-ins runs at most two 8 MiB derivations at once; the rest wait and all answer', async () => {
  const hash = await hashPassword('correct horse battery')
  const burst = Array.from({ length: 6 }, (_, i) =>
    verifyPassword(i % 2 ? 'correct horse battery' : 'wrong horse battery', hash),
  )
  let done = false
  const all = Promise.all(burst).finally(() => {
    done = true
  })
  let most = 0
  let queued = 0
  while (!done) {
    const load = passwordHashingLoad()
    most = Math.max(most, load.running)
    queued = Math.max(queued, load.waiting)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  assert.deepEqual(await all, [false, true, false, true, false, true])
  assert.ok(most <= passwordHashingLoad().maxRunning, `${most} derivations ran at once`)
  assert.ok(queued > 0, 'some derivations waited for a slot')
  assert.deepEqual(passwordHashingLoad(), { running: 0, waiting: 0, maxRunning: 2 })
})
