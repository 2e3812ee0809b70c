import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { test } from 'node:test'
import { createCookieKeys } from './keys.ts'

// Keygrip's format (koa's default signer, what every cookie set before used): HMAC-SHA-1 under the key's UTF-8
// bytes, base64 made URL-safe without padding.
const keygrip = (key: string, data: string) => createHmac('sha1', key).update(data).digest('base64url')

test('cookie signatures are Keygrip signatures, so cookies set before still verify', () => {
  const signer = createCookieKeys(['first-key', 'older-key'])
  const data = '_session=abc123'
  assert.equal(signer.sign(data), keygrip('first-key', data))
  assert.equal(signer.index(data, keygrip('first-key', data)), 0)
  assert.equal(signer.index(data, keygrip('older-key', data)), 1, 'a rotated-out key still verifies')
  assert.equal(signer.verify(data, keygrip('older-key', data)), true)
})

test('a cookie signature that is not exactly right is refused', () => {
  const signer = createCookieKeys(['first-key'])
  const data = '_interaction=uid1'
  const good = signer.sign(data)
  assert.equal(signer.index('_interaction=uid2', good), -1, 'another value')
  assert.equal(signer.index(data, keygrip('unknown-key', data)), -1, 'another key')
  assert.equal(
    signer.index(data, `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`),
    -1,
    'one character off',
  )
  assert.equal(signer.index(data, `${good}=`), -1, 'padded')
  assert.equal(signer.index(data, good.slice(0, 20)), -1, 'truncated')
  assert.equal(signer.index(data, ''), -1)
  assert.equal(signer.verify(data, undefined as unknown as string), false)
  assert.throws(() => createCookieKeys([]))
})
