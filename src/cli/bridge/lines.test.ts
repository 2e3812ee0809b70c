import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import { readLines } from './lines.ts'

function collect(chunks: (string | Buffer)[]): Promise<string[]> {
  const input = new PassThrough()
  const lines: string[] = []
  const reader = readLines(input, (l) => lines.push(l))
  for (const c of chunks) input.write(c)
  input.end()
  return reader.done.then(() => lines)
}

describe('readLines', () => {
  it('splits on LF and CRLF, keeps empty lines, delivers an unterminated last line at the end', async () => {
    assert.deepEqual(await collect(['a\nb\r\n\nc']), ['a', 'b', '', 'c'])
  })

  it('gives the same lines however the stream is cut (a CRLF split, a multi-byte character split)', async () => {
    const text = '{"a":"é€𝄞"}\r\n{"b":2}\n{"c":3}\n'
    const bytes = Buffer.from(text, 'utf8')
    const whole = await collect([bytes])
    for (let cut = 1; cut < bytes.length; cut++) {
      assert.deepEqual(await collect([bytes.subarray(0, cut), bytes.subarray(cut)]), whole, `cut at ${cut}`)
    }
    assert.deepEqual(whole, ['{"a":"é€𝄞"}', '{"b":2}', '{"c":3}'])
  })

  it('joins a line that spans many chunks once', async () => {
    const long = 'x'.repeat(200_000)
    const parts = Array.from({ length: 20 }, (_, i) => long.slice(i * 10_000, (i + 1) * 10_000))
    assert.deepEqual(await collect([...parts, '\nnext\n']), [long, 'next'])
  })

  it('stop() ends the wait and no later line is delivered', async () => {
    const input = new PassThrough()
    const lines: string[] = []
    const reader = readLines(input, (l) => lines.push(l))
    input.write('one\n')
    await new Promise((r) => setImmediate(r))
    reader.stop()
    input.write('two\n')
    await reader.done
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(lines, ['one'])
  })
})
