/**
 * The gateway's upstream seam: where serve (`--proxy`, `--stdio`) sends a request once the resource-server kit let it through.
 * `httpUpstream` forwards to a Streamable HTTP server and streams its answer back untouched (SSE included);
 * `openUpstream` picks it or the 2024-11-05 HTTP+SSE mapping (`sse-upstream.ts`).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
 */
import { redactUrl } from '../../shared/redact.ts'

/** One MCP server behind the gateway, reached with web-standard requests. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports */
export interface Upstream {
  /** Forward one request already authorized and stripped of the client's credentials; never throws for HTTP errors. */
  fetch(request: Request): Promise<Response>
  /** Drop connections and sessions. */
  close(): Promise<void>
  /** One redacted line for the start banner (no userinfo, query or fragment). */
  readonly describe: string
}

/** How the gateway reaches an upstream. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports */
export interface UpstreamOptions {
  /** Headers added to every upstream request (e.g. a static key the upstream expects from the gateway). */
  headers?: Record<string, string>
  /** The fetch used (default: the global one, which keeps connections alive). */
  fetch?: typeof fetch
}

/** Which wire protocol the upstream speaks; `auto` probes it. @see https://modelcontextprotocol.io/specification/2025-03-26/basic/transports#backwards-compatibility */
export type UpstreamTransport = 'auto' | 'streamable-http' | 'sse'

// Connection-scoped headers (RFC 9110 §7.6.1) and the ones fetch computes itself.
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'content-length',
]

/** Request headers fit to send upstream: no hop-by-hop ones, and identity encoding (fetch decodes anyway). */
export function upstreamRequestHeaders(source: Headers, extra: Record<string, string> = {}): Headers {
  const headers = new Headers(source)
  for (const name of HOP_BY_HOP) headers.delete(name)
  headers.delete('accept-encoding')
  for (const [name, value] of Object.entries(extra)) headers.set(name, value)
  return headers
}

/**
 * An upstream answer as the gateway's client may receive it: the body stream as is (never buffered, so SSE
 * events flow one by one), without hop-by-hop headers or a `Content-Encoding` fetch already decoded.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1
 */
export function passThrough(response: Response): Response {
  const headers = new Headers(response.headers)
  for (const name of HOP_BY_HOP) headers.delete(name)
  headers.delete('content-encoding')
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers })
}

/**
 * A Streamable HTTP upstream: each request goes to `url` with the same method, headers and body; the answer
 * streams back. Redirects are not followed (a moved upstream is a configuration error, not the client's).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
 */
export function httpUpstream(url: string, options: UpstreamOptions = {}): Upstream {
  const target = new URL(url)
  const send = options.fetch ?? fetch
  return {
    describe: `${redactUrl(target)} (streamable-http)`,
    async fetch(request) {
      const init: RequestInit = {
        method: request.method,
        headers: upstreamRequestHeaders(request.headers, options.headers),
        redirect: 'manual',
        signal: request.signal,
      }
      // The node adapter and the kit already hold the body in memory: sending it whole keeps Content-Length.
      if (request.method !== 'GET' && request.method !== 'HEAD' && request.body)
        init.body = await request.arrayBuffer()
      return passThrough(await send(target, init))
    },
    async close() {},
  }
}

/** One server-sent event. @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation */
export interface ServerSentEvent {
  event: string
  data: string
  id?: string
}

/**
 * Read server-sent events from a body stream as they arrive (the WHATWG interpretation, minus `retry`).
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder()
  let buffer = ''
  let event = ''
  let data: string[] = []
  let id: string | undefined
  const reader = body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      buffer += decoder.decode(value, { stream: true })
      let newline = buffer.search(/\r\n|\r|\n/)
      // A CR ending the chunk may be the first half of a CRLF split across chunks: wait for the next one.
      while (newline !== -1 && !(newline === buffer.length - 1 && buffer.endsWith('\r'))) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1))
        if (line === '') {
          if (data.length)
            yield { event: event || 'message', data: data.join('\n'), ...(id === undefined ? {} : { id }) }
          event = ''
          data = []
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':')
          const field = colon === -1 ? line : line.slice(0, colon)
          let value = colon === -1 ? '' : line.slice(colon + 1)
          if (value.startsWith(' ')) value = value.slice(1)
          if (field === 'event') event = value
          else if (field === 'data') data.push(value)
          else if (field === 'id') id = value
        }
        newline = buffer.search(/\r\n|\r|\n/)
      }
    }
  } finally {
    reader.cancel().catch(() => {})
  }
}

const PROBE_MS = 5000

/**
 * Whether `url` is a 2024-11-05 HTTP+SSE endpoint: a GET opening an event stream whose first event is
 * `endpoint`. A GET, not the spec's POST `initialize`, because it creates no session on a Streamable HTTP server
 * (which answers a session-less GET with 4xx, or with a stream whose first event is a message).
 * @see https://modelcontextprotocol.io/specification/2025-03-26/basic/transports#backwards-compatibility
 */
export async function detectTransport(
  url: string,
  options: UpstreamOptions = {},
): Promise<'streamable-http' | 'sse'> {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), PROBE_MS)
  try {
    const response = await (options.fetch ?? fetch)(url, {
      headers: upstreamRequestHeaders(new Headers({ accept: 'text/event-stream' }), options.headers),
      redirect: 'manual',
      signal: controller.signal,
    })
    if (
      !response.ok ||
      !response.body ||
      !response.headers.get('content-type')?.includes('text/event-stream')
    ) {
      await response.body?.cancel().catch(() => {})
      return 'streamable-http'
    }
    try {
      for await (const e of readEvents(response.body))
        return e.event === 'endpoint' ? 'sse' : 'streamable-http'
    } catch (error) {
      if (controller.signal.aborted) return 'streamable-http'
      throw error
    }
    return 'streamable-http'
  } finally {
    clearTimeout(timer)
    controller.abort()
  }
}
