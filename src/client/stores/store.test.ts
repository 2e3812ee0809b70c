import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryStore } from './store.ts'

describe('MemoryStore', () => {
  it('compare-and-swap succeeds only on the expected generation', async () => {
    const s = new MemoryStore()
    assert.deepEqual(await s.set('k', { a: 1 }, 0), { ok: true, generation: 1 })
    const lost = await s.set('k', { a: 2 }, 0)
    assert.equal(lost.ok, false)
    assert.deepEqual(await s.set('k', { a: 3 }, 1), { ok: true, generation: 2 })
    assert.deepEqual(await s.get('k'), { value: { a: 3 }, generation: 2 })
    assert.equal(await s.delete('k', 1), false)
    assert.equal(await s.delete('k', 2), true)
    assert.equal(await s.get('k'), undefined)
  })
  it('returns copies, so callers cannot mutate stored state', async () => {
    const s = new MemoryStore()
    await s.set('k', { list: [1] })
    const e = await s.get<{ list: number[] }>('k')
    e?.value.list.push(2)
    assert.deepEqual((await s.get('k'))?.value, { list: [1] })
  })
  it('lock serializes holders in order', async () => {
    const s = new MemoryStore()
    const order: number[] = []
    await Promise.all(
      [1, 2, 3].map(async (n) => {
        const release = await s.lock('x')
        order.push(n)
        await new Promise((r) => setTimeout(r, 5))
        order.push(-n)
        await release()
      }),
    )
    for (let i = 0; i < order.length; i += 2) assert.equal(order[i], -order[i + 1]!)
  })
})
