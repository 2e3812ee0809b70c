import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createUserDirectory, hashPassword, verifyPassword } from './users.ts'

test('scrypt hashes verify the right password only, with a fresh salt each time', async () => {
  const hash = await hashPassword('correct horse battery')
  assert.match(hash, /^scrypt\$32768\$8\$1\$/)
  assert.notEqual(hash, await hashPassword('correct horse battery'))
  assert.equal(await verifyPassword('correct horse battery', hash), true)
  assert.equal(await verifyPassword('wrong horse battery', hash), false)
  assert.equal(await verifyPassword('x', 'md5$abc'), false)
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
