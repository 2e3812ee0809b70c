/**
 * The bodies of the gateway's era translation (`era.ts`): the first answer in a JSON or SSE body, and a 2025
 * upstream's answer to one request turned, message by message as it arrives, into what a 2026-07-28 client takes
 * (never buffered: a long result or slow progress streams through).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http#receiving-messages
 */
import { readLimited } from '../../client/http.ts'
import { type JsonRpc, error as rpcError } from '../bridge/protocol.ts'
import { type EraCall, toModern } from './era-messages.ts'
import { readEvents } from './upstream.ts'

const INTERNAL = -32603
const MAX_ANSWER = 1024 * 1024

/** One JSON-RPC message or batch, or undefined for anything else. @see https://www.jsonrpc.org/specification#batch */
export function parseRpc(text: string): JsonRpc | JsonRpc[] | undefined {
  try {
    const value = JSON.parse(text) as unknown
    return value && typeof value === 'object' ? (value as JsonRpc | JsonRpc[]) : undefined
  } catch {
    return undefined
  }
}

/** The first answer (a message without a method) in a JSON or SSE body, with `id` or none. @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#sending-messages-to-the-server */
export async function answerOf(response: Response, id: string): Promise<JsonRpc | undefined> {
  if (!response.body) return undefined
  if (response.headers.get('content-type')?.includes('text/event-stream')) {
    for await (const e of readEvents(response.body)) {
      const m = e.event === 'message' ? parseRpc(e.data) : undefined
      if (m && !Array.isArray(m) && m.method === undefined && (m.id === id || m.id == null)) return m
    }
    return undefined
  }
  const m = parseRpc(await readLimited(response, MAX_ANSWER).catch(() => ''))
  return Array.isArray(m) ? m.find((x) => x.id === id) : m
}

/** What the translation tells its session about one answer. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/patterns/cancellation */
export interface AnswerHooks {
  /** The answer is complete (or abandoned): the request is no longer in flight. */
  done(): void
  /** The upstream asked the client something (a server-to-client request) on this request's stream. */
  ask(question: JsonRpc): void
  /** The client closed the stream before the answer came. */
  cancelled(upstreamId: string): void
  /** The upstream gave no answer to the request (`why`, for the log; never its body): the client gets an error. */
  unanswered(why: string): void
}

const sse = (m: JsonRpc) => `event: message\ndata: ${JSON.stringify(m)}\n\n`

/**
 * The upstream's answer to `call` as the 2026-07-28 client takes it: no session header, each message translated
 * by `toModern`. A notification (no `call`) passes as it is; a request gets one answer, its own or an error of
 * the gateway's (502, `hooks.unanswered` told why) when the upstream's body held none.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http#receiving-messages
 */
export async function translateAnswer(
  response: Response,
  call: EraCall | undefined,
  hooks: AnswerHooks,
): Promise<Response> {
  const headers = new Headers(response.headers)
  // 2026-07-28 has no sessions: a client must never see (and send back) the gateway's upstream session.
  headers.delete('mcp-session-id')
  headers.delete('content-length')
  const init = { status: response.status, statusText: response.statusText, headers }
  const type = headers.get('content-type') ?? ''
  if (call && response.body && type.includes('text/event-stream'))
    return new Response(translateStream(response.body, call, hooks), init)
  if (!call) {
    // A notification is acknowledged, never answered: 202 when the upstream took it, its status otherwise, and
    // never its body (an error page is not the client's to read).
    await response.body?.cancel().catch(() => {})
    hooks.done()
    return new Response(null, { status: response.ok ? 202 : response.status, headers: passedOn(response) })
  }
  // A request is answered with one JSON object (2026-07-28 has no batches): the upstream's answer to it, without
  // whatever else the body held, or an error of the gateway's own, never the upstream's body (an empty batch, a
  // stranger's answer, an HTML error page could all hold what is not this client's).
  let text = ''
  try {
    if (response.body && type.includes('application/json')) text = await response.text()
    else await response.body?.cancel().catch(() => {})
  } finally {
    hooks.done()
  }
  const parsed = parseRpc(text)
  const all = Array.isArray(parsed) ? parsed : parsed ? [parsed] : []
  const answer = all.map((m) => toModern(m, call)).find((out) => out.final)?.message
  if (answer) return new Response(JSON.stringify(answer), init)
  hooks.unanswered(`HTTP ${response.status} (${type.split(';')[0] || 'no body type'}) held no response to it`)
  return unanswered(call, response)
}

/** Statuses whose meaning (wait, retry later) the client needs even when the body was not an answer. */
const KEPT_STATUSES = new Set([408, 429, 503])

/** The headers of an upstream answer a client may act on when its body is not passed on. */
function passedOn(response: Response): Headers {
  const headers = new Headers()
  const retryAfter = response.headers.get('retry-after')
  if (retryAfter) headers.set('retry-after', retryAfter)
  return headers
}

/**
 * The answer of the gateway's own when the upstream gave none: 502, or the upstream's 408/429/503 with its
 * Retry-After, so that a client still backs off as it was asked to.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3
 */
function unanswered(call: EraCall, response: Response): Response {
  const body = rpcError(
    call.clientId,
    INTERNAL,
    'the MCP server behind this gateway gave no answer (the gateway log says why)',
  )
  const headers = passedOn(response)
  headers.set('content-type', 'application/json')
  const status = KEPT_STATUSES.has(response.status) ? response.status : 502
  return new Response(JSON.stringify(body), { status, headers })
}

/** The upstream's SSE stream for `call`, translated as it is pulled; it ends with the answer. */
function translateStream(
  body: ReadableStream<Uint8Array>,
  call: EraCall,
  hooks: AnswerHooks,
): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  // Read through our own reader, so a client that goes away can stop a read that is waiting.
  const source = new ReadableStream<Uint8Array>({
    async pull(c) {
      const r = await reader.read()
      if (r.done) c.close()
      else c.enqueue(r.value)
    },
  })
  const events = readEvents(source)
  const encoder = new TextEncoder()
  let finished = false
  const finish = () => {
    if (finished) return
    finished = true
    hooks.done()
    reader.cancel().catch(() => {})
  }
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const next = await events.next()
          if (finished) return
          if (next.done) break
          const m = next.value.event === 'message' ? parseRpc(next.value.data) : undefined
          if (!m || Array.isArray(m)) continue
          const out = toModern(m, call)
          if (out.ask) hooks.ask(m)
          if (!out.message) continue
          controller.enqueue(encoder.encode(sse(out.message)))
          if (out.final) {
            finish()
            controller.close()
          }
          return
        }
      } catch {
        if (finished) return
      }
      // The upstream ended the stream (or it broke) before answering: the client still gets an answer.
      hooks.unanswered('ended its event stream with no response to it')
      controller.enqueue(
        encoder.encode(
          sse(rpcError(call.clientId, INTERNAL, 'the upstream ended the stream before answering')),
        ),
      )
      finish()
      controller.close()
    },
    cancel() {
      if (finished) return
      // Told before the session is released: releasing may end it (an expired token's), and a DELETE sent first
      // would leave the cancellation nowhere to go.
      hooks.cancelled(call.upstreamId)
      finish()
    },
  })
}
