/**
 * An incremental `text/event-stream` reader for the bridge: chunks in, events out as they complete, so an SSE
 * answer is forwarded event by event and never buffered whole. Pure: no I/O.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */

/** One dispatched server-sent event. @see https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage */
export interface SseEvent {
  event: string
  data: string
  id: string | undefined
}

/**
 * Splits a stream of decoded text into events; `push` returns the events the chunk completed.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
export class SseReader {
  #pending = ''
  #event = ''
  #data: string[] = []
  #id: string | undefined
  /** A chunk ended in CR: a LF at the start of the next one belongs to the same line break. */
  #afterCr = false

  /** Feed decoded text; returns the events it completed, in order. */
  push(chunk: string): SseEvent[] {
    let text = chunk
    if (this.#afterCr && text.startsWith('\n')) text = text.slice(1)
    this.#afterCr = false
    const out: SseEvent[] = []
    let buffer = this.#pending + text
    let start = 0
    for (;;) {
      const lf = buffer.indexOf('\n', start)
      const cr = buffer.indexOf('\r', start)
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf)
      if (end === -1) break
      this.#line(buffer.slice(start, end), out)
      start = end + 1
      if (buffer[end] === '\r') {
        if (start === buffer.length) this.#afterCr = true
        else if (buffer[start] === '\n') start++
      }
    }
    buffer = buffer.slice(start)
    this.#pending = buffer
    return out
  }

  #line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.#data.length)
        out.push({ event: this.#event || 'message', data: this.#data.join('\n'), id: this.#id })
      this.#event = ''
      this.#data = []
      return
    }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') this.#data.push(value)
    else if (field === 'event') this.#event = value
    else if (field === 'id' && !value.includes('\0')) this.#id = value
  }
}
