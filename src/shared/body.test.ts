import assert from 'node:assert/strict'
import { test } from 'node:test'
import { readChunksUpTo } from './body.ts'

function stream(parts: string[], onCancel: () => void = () => {}): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let i = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < parts.length) controller.enqueue(encoder.encode(parts[i++]))
      else controller.close()
    },
    cancel: onCancel,
  })
}

test('no body gives no chunks', async () => {
  assert.deepEqual(await readChunksUpTo(null, 10), [])
})

test('a body of exactly the cap is read whole', async () => {
  const chunks = await readChunksUpTo(stream(['abcd', 'efgh', 'ij']), 10)
  assert.equal(Buffer.concat(chunks ?? []).toString('utf8'), 'abcdefghij')
})

test('one byte over the cap gives undefined and cancels the stream', async () => {
  let cancelled = false
  const chunks = await readChunksUpTo(
    stream(['abcd', 'efgh', 'ijk', 'never read'], () => {
      cancelled = true
    }),
    10,
  )
  assert.equal(chunks, undefined)
  assert.equal(cancelled, true)
})

test('a read error propagates', async () => {
  const failing = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(new Error('reset'))
    },
  })
  await assert.rejects(readChunksUpTo(failing, 10), /reset/)
})
