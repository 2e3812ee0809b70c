import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ExpiringCache, tokenKey } from './cache.ts'

describe('ExpiringCache', () => {
  it('expires entries and never grows past its bound', () => {
    const c = new ExpiringCache<number>(3)
    c.set('a', 1, 1000, 0)
    assert.equal(c.get('a', 500), 1)
    assert.equal(c.get('a', 1000), undefined)
    for (let i = 0; i < 100; i++) c.set(`k${i}`, i, 10_000, 0)
    assert.equal(c.size, 3)
    assert.equal(c.get('k99', 1), 99)
    assert.equal(c.get('k0', 1), undefined)
  })
  it('evicts the least recently used entry', () => {
    const c = new ExpiringCache<number>(2)
    c.set('a', 1, 10_000, 0)
    c.set('b', 2, 10_000, 0)
    c.get('a', 1)
    c.set('c', 3, 10_000, 2)
    assert.equal(c.get('a', 3), 1)
    assert.equal(c.get('b', 3), undefined)
  })
  it('reports room only when a live entry need not be dropped', () => {
    const c = new ExpiringCache<true>(1)
    c.set('a', true, 100, 0)
    assert.equal(c.hasRoom(50), false)
    assert.equal(c.hasRoom(150), true)
  })
  it('keys by a hash, never the token itself', () => {
    assert.notEqual(tokenKey('secret-token'), 'secret-token')
    assert.equal(tokenKey('x'), tokenKey('x'))
    assert.match(tokenKey('x'), /^[A-Za-z0-9_-]{43}$/)
  })
})
