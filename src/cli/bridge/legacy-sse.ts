/**
 * The legacy HTTP+SSE transport (2024-11-05), for servers with no Streamable HTTP endpoint. Rare and never the
 * fast path, so it stays the SDK's transport, loaded only when a probe sends the bridge here.
 * @see https://modelcontextprotocol.io/specification/2024-11-05/basic/transports#http-with-sse
 */
import type { JsonRpc } from './protocol.ts'
import type { Upstream } from './streamable-http.ts'

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/**
 * Open the SDK's SSE client transport behind the bridge's `Upstream` shape; answers arrive on the GET stream.
 * @see https://modelcontextprotocol.io/specification/2024-11-05/basic/transports#http-with-sse
 */
export async function openLegacySse(options: {
  url: string
  fetch: Fetch
  headers?: Record<string, string> | undefined
  onMessage(m: JsonRpc): void
  onError(e: unknown): void
}): Promise<Upstream> {
  const { SSEClientTransport } = await import('@modelcontextprotocol/client')
  const t = new SSEClientTransport(new URL(options.url), {
    fetch: options.fetch,
    requestInit: { headers: options.headers ?? {} },
  })
  t.onmessage = (m) => options.onMessage(m as JsonRpc)
  t.onerror = options.onError
  await t.start()
  return {
    send: (m) => t.send(m as never),
    setProtocolVersion: () => {},
    close: () => t.close(),
  }
}
