import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createSealer, generateStorageKey, rememberingHash, type Sealer } from './sealing.ts'

describe('rememberingHash', () => {
  it('hashes each identifier once while remembered, with the same answer as the sealer', () => {
    const sealer = createSealer(generateStorageKey())
    const asked: string[] = []
    const counting: Sealer = {
      ...sealer,
      hash: (id) => {
        asked.push(id)
        return sealer.hash(id)
      },
    }
    const hash = rememberingHash(counting, 2)
    assert.equal(hash('grant'), sealer.hash('grant'))
    assert.equal(hash('grant'), sealer.hash('grant'))
    assert.equal(hash('token'), sealer.hash('token'))
    assert.deepEqual(asked, ['grant', 'token'])
    // Full: emptied, so a third identifier and then the first are hashed again.
    assert.equal(hash('other'), sealer.hash('other'))
    assert.equal(hash('grant'), sealer.hash('grant'))
    assert.deepEqual(asked, ['grant', 'token', 'other', 'grant'])
  })

  it('keeps no identifier longer than ours: a presented value of any size is hashed and forgotten', () => {
    const sealer = createSealer(generateStorageKey())
    let asked = 0
    const hash = rememberingHash({
      ...sealer,
      hash: (id) => {
        asked++
        return sealer.hash(id)
      },
    })
    const long = `https://client.example/${'x'.repeat(10_000)}`
    assert.equal(hash(long), sealer.hash(long))
    assert.equal(hash(long), sealer.hash(long))
    assert.equal(asked, 2)
  })
})
