/**
 * Which protocol era a server speaks, learned from one `server/discover` POST (a 2025 server answers it with an
 * error; a URL with no Streamable HTTP endpoint answers 404/405 and sends the bridge to legacy HTTP+SSE).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/versioning
 */
import { tooLarge } from '../../client/http.ts'
import { notAnMcpEndpoint, notMcpAnswerOf } from '../mcp-endpoint.ts'
import { type Answer, fetchAnswer, type Post } from './node-post.ts'
import { isModern, type JsonRpc, META, MODERN, TRANSLATED_FROM_META_KEY } from './protocol.ts'

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

const PROBE_TIMEOUT_MS = 30_000
const PROBE_MAX_BYTES = 1024 * 1024

/** What the probe learned: the era, and the POST status that sent it to the legacy transport. */
export interface ProbeResult {
  era: 'legacy' | 'modern' | 'sse'
  postStatus?: number
}

/** The body as text, at most `max` characters; more is an error, not a truncation. */
async function readUpTo(answer: Answer, url: string, max: number): Promise<string> {
  let text = ''
  let over = false
  await answer
    .each((chunk) => {
      if (over) return
      text += chunk
      if (text.length > max) {
        over = true
        void answer.discard()
      }
    })
    .catch((e: unknown) => {
      if (!over) throw e
    })
  if (over) throw tooLarge(url, max)
  return text
}

/** Parse the first JSON-RPC message from a JSON or SSE body. */
function readRpc(text: string, type: string): JsonRpc | undefined {
  const candidates = type.includes('text/event-stream')
    ? text
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim())
    : [text]
  for (const c of candidates) {
    try {
      const m = JSON.parse(c) as JsonRpc
      if (m && typeof m === 'object' && ('result' in m || 'error' in m)) return m
    } catch {
      // not JSON: keep looking
    }
  }
  return undefined
}

/**
 * Probe the server's era with `server/discover`.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/versioning
 */
export async function probeEra(o: {
  url: string
  fetch: Fetch
  /** The bridge's steady-state POST (node-post.ts): a start with stored Bearer tokens never loads fetch. */
  post?: Post | undefined
  headers?: Record<string, string> | undefined
  transport?: 'auto' | 'http' | 'sse' | undefined
  log(line: string): void
}): Promise<ProbeResult> {
  if (o.transport === 'sse') return { era: 'sse' }
  const body = {
    jsonrpc: '2.0',
    id: 'mcp-oauth-probe',
    method: 'server/discover',
    params: {
      _meta: {
        [META.protocolVersion]: MODERN,
        [META.clientInfo]: { name: 'mcp-oauth', version: '0.1.0' },
        [META.clientCapabilities]: {},
      },
    },
  }
  const headers = {
    ...o.headers,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': MODERN,
    'mcp-method': 'server/discover',
  }
  const text = JSON.stringify(body)
  // An answer that never comes (or a stream that never ends) must not hold the bridge's start-up forever.
  const response =
    (await o.post?.(o.url, headers, text, { timeoutMs: PROBE_TIMEOUT_MS })) ??
    fetchAnswer(
      await o.fetch(o.url, {
        method: 'POST',
        headers,
        body: text,
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      }),
    )
  // A passing refusal (overload, rate limit, a deploy in progress) says nothing of the era: the next message of the
  // host probes again, rather than the bridge talking 2025 to a 2026-only server for the rest of its life.
  if (response.status === 408 || response.status === 429 || response.status >= 500) {
    await response.discard()
    throw new Error(`server/discover answered HTTP ${response.status}; trying again with the next message`)
  }
  if ((response.status === 404 || response.status === 405) && o.transport !== 'http') {
    await response.discard()
    o.log('the server has no Streamable HTTP endpoint here; using the legacy HTTP+SSE transport')
    return { era: 'sse', postStatus: response.status }
  }
  const type = response.header('content-type') ?? ''
  // The body is read once, here, and both checks below look at the same text.
  const read = readUpTo(response, o.url, PROBE_MAX_BYTES)
  read.catch(() => {})
  // No MCP server answers a POST with a web page or with JSON that is not JSON-RPC: say so, not "Unexpected …".
  const problem = await notMcpAnswerOf(response.status, type, () => read)
  if (problem) {
    await response.discard()
    throw notAnMcpEndpoint(o.url, problem)
  }
  const m = await read.then((t) => readRpc(t, type)).catch(() => undefined)
  const versions = m?.result?.['supportedVersions']
  const modern = Array.isArray(versions) && versions.some(isModern)
  // An mcp-oauth gateway answering for a 2025 server: its 2025 revision passes untranslated, which keeps what
  // 2026-07-28 has no place for (server requests, notifications outside a request).
  const translatedFrom = (m?.result?.['_meta'] as Record<string, unknown> | undefined)?.[
    TRANSLATED_FROM_META_KEY
  ]
  if (modern && typeof translatedFrom === 'string' && !isModern(translatedFrom)) {
    o.log(`server speaks ${MODERN} by translation; speaking its ${translatedFrom} directly`)
    return { era: 'legacy' }
  }
  o.log(`server speaks ${modern ? MODERN : 'a 2025 revision'}`)
  return { era: modern ? 'modern' : 'legacy' }
}
