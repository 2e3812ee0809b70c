/**
 * What doctor sends on its own (the unauthenticated MCP request, CORS probes) and a recording fetch handed to
 * the client engine, so the documents and network errors behind each trace step can be shown. Recording only:
 * the engine makes every discovery request itself.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/authorization-server-discovery
 */
import type { FetchLike } from '../../client/http.ts'

/** One request as doctor saw it; never holds an Authorization header or a token. */
export interface Exchange {
  url: string
  method: string
  status?: number
  headers: Record<string, string>
  /** The body as text when it is small (metadata documents, OAuth errors). */
  body?: string
  /** The network error (TLS, DNS, refused) when there was no response. */
  error?: unknown
}

const BODY_LIMIT = 64 * 1024

function headerRecord(h: Headers): Record<string, string> {
  const out: Record<string, string> = {}
  h.forEach((v, k) => {
    if (k !== 'set-cookie') out[k] = v
  })
  return out
}

/**
 * The body as text when it fits in {@link BODY_LIMIT}; a larger or broken body gives undefined (never buffered
 * whole). Cancelling is not awaited: on a `clone()` the cancel promise settles only once the other branch (the
 * engine's) is done too, and waiting for it would stall the engine's own read.
 */
async function smallBody(response: Response): Promise<string | undefined> {
  const drop = () => void response.body?.cancel().catch(() => {})
  if (Number(response.headers.get('content-length') ?? '0') > BODY_LIMIT) return drop()
  if (!response.body) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.byteLength
      if (size > BODY_LIMIT) {
        void reader.cancel().catch(() => {})
        return undefined
      }
      chunks.push(value)
    }
  } catch {
    return undefined
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * A fetch that records every request and its response (a clone, so the engine reads the original untouched).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/authorization-server-discovery
 */
export function recordingFetch(base: FetchLike = globalThis.fetch): {
  fetch: FetchLike
  exchanges: Exchange[]
} {
  const exchanges: Exchange[] = []
  const fetch: FetchLike = async (input, init) => {
    const request = new Request(input, init)
    const ex: Exchange = { url: safe(request.url), method: request.method, headers: {} }
    exchanges.push(ex)
    try {
      const response = await base(input, init)
      ex.status = response.status
      ex.headers = headerRecord(response.headers)
      // Only GETs: token and registration responses carry secrets, which doctor must never hold on to.
      if (request.method === 'GET') ex.body = await smallBody(response.clone())
      return response
    } catch (error) {
      ex.error = error
      throw error
    }
  }
  return { fetch, exchanges }
}

/** The URL without query or fragment. */
export function safe(url: string): string {
  try {
    const u = new URL(url)
    return u.origin + u.pathname
  } catch {
    return '(invalid url)'
  }
}

/** An MCP JSON-RPC answer as doctor needs it. */
export interface McpExchange extends Exchange {
  /** The JSON-RPC message (from JSON or the first SSE `data:` event). */
  message?: { result?: unknown; error?: { code?: number; message?: string } }
}

/** Options of {@link postMcp}. */
export interface PostMcpOptions {
  fetch?: FetchLike
  headers?: Record<string, string>
  /** `Authorization` value to send; it never enters the returned exchange. */
  authorization?: string
  sessionId?: string
  protocolVersion?: string
  timeoutMs?: number
}

/** The protocol version doctor speaks in initialize. */
export const PROTOCOL_VERSION = '2025-11-25'

/**
 * The initialize request doctor sends, with and without a token (postMcp adds `jsonrpc`).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/lifecycle#initialization
 */
export const INITIALIZE = {
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: PROTOCOL_VERSION,
    capabilities: {},
    clientInfo: { name: 'mcp-oauth-doctor', version: '1' },
  },
}

/**
 * POST one JSON-RPC message to an MCP server over Streamable HTTP and read its answer (JSON or SSE).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
 */
export async function postMcp(
  url: string,
  message: { method: string; params?: unknown; id?: number },
  o: PostMcpOptions = {},
): Promise<McpExchange> {
  const headers: Record<string, string> = {
    ...o.headers,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  }
  if (o.authorization) headers['authorization'] = o.authorization
  if (o.sessionId) headers['mcp-session-id'] = o.sessionId
  if (o.protocolVersion) headers['mcp-protocol-version'] = o.protocolVersion
  const body = JSON.stringify({ jsonrpc: '2.0', ...message })
  const ex: McpExchange = { url: safe(url), method: 'POST', headers: {} }
  try {
    const response = await (o.fetch ?? globalThis.fetch)(url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(o.timeoutMs ?? 15_000),
    })
    ex.status = response.status
    ex.headers = headerRecord(response.headers)
    // A body that breaks off or never comes is not a connection failure: status and headers already answered.
    const text = await readMessage(response).catch(() => undefined)
    if (text !== undefined) {
      ex.body = text
      try {
        ex.message = JSON.parse(text)
      } catch {
        // Not JSON: the status and headers still tell the story.
      }
    }
  } catch (error) {
    ex.error = error
  }
  return ex
}

/** The JSON of a response, or the first `data:` of an SSE stream (then the stream is dropped). */
async function readMessage(response: Response): Promise<string | undefined> {
  const type = response.headers.get('content-type') ?? ''
  if (!type.includes('text/event-stream')) return await smallBody(response)
  if (!response.body) return undefined
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  try {
    while (buffer.length < BODY_LIMIT) {
      const { done, value } = await reader.read()
      if (done) break
      buffer += value
      for (const event of buffer.split(/\r?\n\r?\n/).slice(0, -1)) {
        const data = event
          .split(/\r?\n/)
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n')
        if (data) return data
      }
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
  return undefined
}

/**
 * GET a metadata URL with an `Origin` header, as a browser-based client would, and keep the CORS answer.
 * @see https://fetch.spec.whatwg.org/#http-cors-protocol
 */
export async function probeCors(url: string, origin: string, fetch: FetchLike = globalThis.fetch) {
  try {
    const response = await fetch(url, {
      headers: { origin, accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    })
    await response.body?.cancel().catch(() => {})
    return {
      url: safe(url),
      status: response.status,
      allowOrigin: response.headers.get('access-control-allow-origin') ?? undefined,
    }
  } catch (error) {
    return { url: safe(url), error }
  }
}

/** What a browser-based client meets at the MCP endpoint: the preflight, and the 401 it must be able to read. */
export interface McpCorsProbe {
  url: string
  preflight?: { status: number; allowOrigin?: string | undefined; allowHeaders?: string | undefined }
  challenge?: { status: number; allowOrigin?: string | undefined; exposeHeaders?: string | undefined }
  error?: unknown
}

/**
 * Preflight the MCP endpoint as a browser would before a POST with Authorization, then POST without a token
 * (with `Origin`) to see whether the 401's `WWW-Authenticate` is exposed to scripts.
 * @see https://fetch.spec.whatwg.org/#http-cors-protocol
 */
export async function probeMcpCors(
  url: string,
  origin: string,
  fetch: FetchLike = globalThis.fetch,
): Promise<McpCorsProbe> {
  const probe: McpCorsProbe = { url: safe(url) }
  try {
    const pre = await fetch(url, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, mcp-protocol-version',
      },
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    })
    await pre.body?.cancel().catch(() => {})
    probe.preflight = {
      status: pre.status,
      allowOrigin: pre.headers.get('access-control-allow-origin') ?? undefined,
      allowHeaders: pre.headers.get('access-control-allow-headers') ?? undefined,
    }
    const post = await postMcp(url, INITIALIZE, { fetch, headers: { origin } })
    if (post.status !== undefined) {
      probe.challenge = {
        status: post.status,
        allowOrigin: post.headers['access-control-allow-origin'],
        exposeHeaders: post.headers['access-control-expose-headers'],
      }
    }
  } catch (error) {
    probe.error = error
  }
  return probe
}
