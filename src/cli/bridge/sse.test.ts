import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { SseReader } from './sse.ts'

const STREAM =
  ': priming comment\r\n' +
  'id: 1\r\nevent: message\r\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\r\n\r\n' +
  'data: first line\ndata: second line\n\n' +
  'event: ping\rdata:no space\r\r' +
  'data: never dispatched (no blank line)'

function all(chunks: string[]) {
  const reader = new SseReader()
  return chunks.flatMap((c) => reader.push(c))
}

describe('SseReader', () => {
  it('reads events with CRLF, LF and CR line ends, comments, ids and multi-line data', () => {
    assert.deepEqual(all([STREAM]), [
      { event: 'message', data: '{"jsonrpc":"2.0","id":1,"result":{}}', id: '1' },
      { event: 'message', data: 'first line\nsecond line', id: '1' },
      { event: 'ping', data: 'no space', id: '1' },
    ])
  })

  it('gives the same events however the stream is cut into chunks (a CRLF split included)', () => {
    const whole = all([STREAM])
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: STREAM.length - 1 }), { maxLength: 12 }),
        (cuts) => {
          const at = [0, ...cuts.sort((a, b) => a - b), STREAM.length]
          const chunks = at.slice(1).map((end, i) => STREAM.slice(at[i], end))
          assert.deepEqual(all(chunks), whole)
        },
      ),
    )
  })

  it('dispatches an event only when its blank line arrives', () => {
    const reader = new SseReader()
    assert.deepEqual(reader.push('data: a\n'), [])
    assert.deepEqual(reader.push('\n'), [{ event: 'message', data: 'a', id: undefined }])
  })
})
