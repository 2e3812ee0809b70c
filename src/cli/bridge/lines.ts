/**
 * Newline-delimited messages from the host's stdin, as the stdio transport frames them: one JSON-RPC message per
 * line, no embedded newlines. A plain splitter rather than node:readline, whose per-line interface machinery (history,
 * escape codes, events) was a measurable share of the bridge's CPU per message.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports#stdio
 */

/** Reading lines from a stream until it ends or `stop` is called. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports#stdio */
export interface LineReader {
  /** Resolves when the stream ended (its last unterminated line delivered) or `stop` was called. */
  done: Promise<void>
  stop(): void
}

/**
 * Calls `onLine` with each line of `input` (without its `\n` or `\r\n`), in order.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports#stdio
 */
export function readLines(input: NodeJS.ReadableStream, onLine: (line: string) => void): LineReader {
  // Pieces of a line longer than one chunk, joined once when its end arrives (a 5 MB line is not rebuilt per chunk).
  let pieces: string[] = []
  let stopped = false
  let finish: () => void = () => {}
  const done = new Promise<void>((resolve) => {
    finish = resolve
  })
  const emit = (line: string) => {
    if (!stopped) onLine(line.endsWith('\r') ? line.slice(0, -1) : line)
  }
  const onData = (chunk: string | Buffer) => {
    const text = String(chunk)
    let start = 0
    for (let end = text.indexOf('\n'); end !== -1 && !stopped; end = text.indexOf('\n', start)) {
      const part = text.slice(start, end)
      if (pieces.length) {
        pieces.push(part)
        const line = pieces.join('')
        pieces = []
        emit(line)
      } else emit(part)
      start = end + 1
    }
    if (start < text.length) pieces.push(text.slice(start))
  }
  const stop = () => {
    if (stopped) return
    stopped = true
    input.removeListener('data', onData)
    input.removeListener('end', onEnd)
    input.removeListener('close', onEnd)
    input.removeListener('error', onEnd)
    finish()
  }
  const onEnd = () => {
    if (pieces.length) emit(pieces.join(''))
    pieces = []
    stop()
  }
  input.setEncoding('utf8')
  input.on('data', onData)
  input.once('end', onEnd)
  input.once('close', onEnd)
  // A broken stdin (EIO, the host gone) ends the input like its end would, instead of an uncaught error.
  input.once('error', onEnd)
  return { done, stop }
}
