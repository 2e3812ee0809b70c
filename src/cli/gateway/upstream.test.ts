import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { passThrough, readEvents, upstreamRequestHeaders } from './upstream.ts'

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  return new ReadableStream({
    start(c) {
      for (const chunk of chunks) c.enqueue(encoder.encode(chunk))
      c.close()
    },
  })
}

describe('readEvents', () => {
  it('reads events split anywhere across chunks, with CRLF, comments and multi-line data', async () => {
    const text =
      ': keep-alive\r\nevent: endpoint\r\ndata: /messages?sessionId=1\r\n\r\ndata: {"a":\ndata: 1}\nid: 7\n\nevent: message\ndata:x\n\n'
    for (const size of [1, 3, 7, text.length]) {
      const chunks: string[] = []
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size))
      const events = []
      for await (const e of readEvents(streamOf(chunks))) events.push(e)
      assert.deepEqual(events, [
        { event: 'endpoint', data: '/messages?sessionId=1' },
        { event: 'message', data: '{"a":\n1}', id: '7' },
        { event: 'message', data: 'x', id: '7' },
      ])
    }
  })
})

describe('headers across the hop', () => {
  it('drops hop-by-hop request headers and asks for an identity encoding', () => {
    const h = upstreamRequestHeaders(
      new Headers({
        connection: 'keep-alive',
        host: 'gw',
        'content-length': '5',
        'accept-encoding': 'gzip',
        accept: '*/*',
      }),
      { 'x-extra': '1' },
    )
    assert.deepEqual([...h.keys()].sort(), ['accept', 'x-extra'])
  })

  it('passes the body stream and status through, without the encoding fetch already undid', async () => {
    const r = passThrough(
      new Response('data: 1\n\n', {
        status: 200,
        headers: { 'content-type': 'text/event-stream', 'content-encoding': 'gzip', 'mcp-session-id': 's' },
      }),
    )
    assert.equal(r.headers.get('content-encoding'), null)
    assert.equal(r.headers.get('mcp-session-id'), 's')
    assert.equal(await r.text(), 'data: 1\n\n')
  })
})
