/**
 * A 2024-11-05 HTTP+SSE upstream behind a Streamable HTTP front: each client session (made by its `initialize`)
 * gets one upstream event stream; its messages go to the `endpoint` the stream announced, and the answers coming
 * back on the stream are routed to the POST that asked (as an SSE response), or to the client's GET stream.
 * @see https://modelcontextprotocol.io/specification/2024-11-05/basic/transports#http-with-sse
 */
import { randomUUID } from 'node:crypto'
import { redactUrl } from '../../shared/redact.ts'
import { type JsonRpc, error as rpcError } from '../bridge/protocol.ts'
import { IDENTITY_HEADERS, principalOf } from './identity.ts'
import { readEvents, type Upstream, type UpstreamOptions, upstreamRequestHeaders } from './upstream.ts'

const MAX_SESSIONS = 1000
/** A session nobody used for this long, with nothing in flight and no GET stream open, is closed. */
const IDLE_MS = 30 * 60_000
const ENDPOINT_WAIT_MS = 10_000
const INTERNAL = -32603

/** Where messages for one client stream go: a POST's SSE answer, or the client's GET stream. */
class Sink {
  readonly stream: ReadableStream<Uint8Array>
  readonly waiting = new Set<string>()
  #controller!: ReadableStreamDefaultController<Uint8Array>
  #closed = false
  readonly #encoder = new TextEncoder()
  onCancel: () => void = () => {}

  constructor() {
    this.stream = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.#controller = c
      },
      cancel: () => {
        this.#closed = true
        this.onCancel()
      },
    })
  }

  get closed(): boolean {
    return this.#closed
  }

  send(message: JsonRpc | string): void {
    if (this.#closed) return
    const data = typeof message === 'string' ? message : JSON.stringify(message)
    this.#controller.enqueue(
      this.#encoder.encode(`event: message\ndata: ${data.replace(/\n/g, '\ndata: ')}\n\n`),
    )
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#controller.close()
  }
}

interface Session {
  /** The principal whose `initialize` opened it (`principalKey`): the only one that may use its id. */
  principal: string
  endpoint: URL
  abort: AbortController
  /** Sinks waiting for the answer to a request id (JSON-encoded). */
  pending: Map<string, Sink>
  /** Sinks by the progress token their request carried. */
  progress: Map<string, Sink>
  standalone?: Sink
  lastUsed: number
}

const key = (id: unknown) => JSON.stringify(id)
const notFound = () => json(404, rpcError(null, -32001, 'Session not found'))
// Only requests the gateway forwarded after verifying a token carry a principal; anything else has no owner to
// bind a session to, so it is refused rather than let share one.
const unmarked = () => json(500, rpcError(null, INTERNAL, 'the request was not forwarded by the gateway'))
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })

/**
 * An HTTP+SSE upstream at `url` (the GET endpoint opening the event stream), exposed as Streamable HTTP.
 * Sessions belong to the principal that opened them (`principalOf`, not the identity headers: tokens without a
 * subject send none); another principal presenting the id gets 404, as for an id never issued.
 * @see https://modelcontextprotocol.io/specification/2025-03-26/basic/transports#backwards-compatibility
 */
export function sseUpstream(url: string, options: UpstreamOptions = {}): Upstream {
  const target = new URL(url)
  const send = options.fetch ?? fetch
  const sessions = new Map<string, Session>()
  // Clients that vanish without DELETE would otherwise hold an upstream stream each until the upstream restarts.
  const sweep = setInterval(() => {
    const now = Date.now()
    for (const [id, s] of [...sessions])
      if (now - s.lastUsed > IDLE_MS && s.pending.size === 0 && (!s.standalone || s.standalone.closed))
        end(id, s, 'the session was idle')
  }, 60_000)
  sweep.unref()

  const identity = (request: Request) => {
    const out: Record<string, string> = { ...options.headers }
    for (const name of Object.values(IDENTITY_HEADERS)) {
      const value = request.headers.get(name)
      if (value !== null) out[name] = value
    }
    return out
  }

  const end = (id: string, session: Session, reason: string) => {
    if (sessions.get(id) !== session) return
    sessions.delete(id)
    session.abort.abort()
    for (const [rid, sink] of session.pending) {
      sink.send(rpcError(JSON.parse(rid) as JsonRpc['id'], INTERNAL, reason))
      sink.close()
    }
    session.pending.clear()
    session.standalone?.close()
  }

  const route = (session: Session, message: JsonRpc) => {
    if (message.id !== undefined && message.id !== null && message.method === undefined) {
      const sink = session.pending.get(key(message.id))
      if (!sink) return
      session.pending.delete(key(message.id))
      sink.waiting.delete(key(message.id))
      sink.send(message)
      if (sink.waiting.size === 0) {
        sink.close()
        for (const [token, s] of session.progress) if (s === sink) session.progress.delete(token)
      }
      return
    }
    // Server notifications and requests: to the request they are about when they say so (progress), else to
    // the client's GET stream, else to a request still waiting (the spec lets a POST stream carry them).
    const token = (message.params as { progressToken?: unknown } | undefined)?.progressToken
    const byProgress = token === undefined ? undefined : session.progress.get(key(token))
    const target =
      (byProgress && !byProgress.closed ? byProgress : undefined) ??
      (session.standalone && !session.standalone.closed ? session.standalone : undefined) ??
      [...session.pending.values()].find((s) => !s.closed)
    target?.send(message)
  }

  const open = async (request: Request, principal: string): Promise<[string, Session] | Response> => {
    if (sessions.size >= MAX_SESSIONS)
      return json(503, rpcError(null, INTERNAL, 'too many upstream sessions'), { 'retry-after': '5' })
    const abort = new AbortController()
    const timer = setTimeout(() => abort.abort(), ENDPOINT_WAIT_MS)
    let response: Response
    try {
      response = await send(target, {
        headers: upstreamRequestHeaders(new Headers({ accept: 'text/event-stream' }), identity(request)),
        redirect: 'manual',
        signal: abort.signal,
      })
    } catch (e) {
      clearTimeout(timer)
      throw e
    }
    if (!response.ok || !response.body) {
      clearTimeout(timer)
      await response.body?.cancel().catch(() => {})
      return json(
        502,
        rpcError(null, INTERNAL, `the upstream refused its event stream (HTTP ${response.status})`),
      )
    }
    const events = readEvents(response.body)
    const first = await events.next().catch(() => undefined)
    clearTimeout(timer)
    if (!first || first.done || first.value.event !== 'endpoint') {
      abort.abort()
      return json(502, rpcError(null, INTERNAL, 'the upstream event stream announced no endpoint'))
    }
    const endpoint = new URL(first.value.data.trim(), target)
    if (endpoint.origin !== target.origin) {
      abort.abort()
      return json(502, rpcError(null, INTERNAL, 'the upstream announced an endpoint on another origin'))
    }
    const id = randomUUID()
    const session: Session = {
      principal,
      endpoint,
      abort,
      pending: new Map(),
      progress: new Map(),
      lastUsed: Date.now(),
    }
    sessions.set(id, session)
    void (async () => {
      try {
        for await (const e of events) {
          if (e.event !== 'message') continue
          try {
            route(session, JSON.parse(e.data) as JsonRpc)
          } catch {
            // not JSON-RPC: nothing to route
          }
        }
      } catch {
        // the stream broke: the session ends below
      }
      end(id, session, 'the upstream closed the session')
    })()
    return [id, session]
  }

  const post = async (request: Request): Promise<Response> => {
    let messages: JsonRpc[]
    try {
      const parsed = JSON.parse(await request.text()) as JsonRpc | JsonRpc[]
      messages = Array.isArray(parsed) ? parsed : [parsed]
    } catch {
      return json(400, rpcError(null, -32700, 'the request body is not JSON'))
    }
    const principal = principalOf(request)
    if (principal === undefined) return unmarked()
    let sessionId = request.headers.get('mcp-session-id')
    let session = sessionId ? sessions.get(sessionId) : undefined
    if (sessionId && session?.principal !== principal) return notFound()
    if (!session) {
      if (!messages.some((m) => m.method === 'initialize'))
        return json(400, rpcError(null, -32000, 'Bad Request: Mcp-Session-Id header is required'))
      const opened = await open(request, principal)
      if (opened instanceof Response) return opened
      ;[sessionId, session] = opened
    }
    session.lastUsed = Date.now()
    const requests = messages.filter(
      (m) => typeof m.method === 'string' && m.id !== undefined && m.id !== null,
    )
    const sink = new Sink()
    for (const m of requests) {
      session.pending.set(key(m.id), sink)
      sink.waiting.add(key(m.id))
      const token = (m.params?.['_meta'] as { progressToken?: unknown } | undefined)?.progressToken
      if (token !== undefined) session.progress.set(key(token), sink)
    }
    const live = session
    sink.onCancel = () => {
      // The client went away: tell the upstream to stop the work it asked for.
      for (const rid of sink.waiting) {
        live.pending.delete(rid)
        void deliver(live, request, {
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: JSON.parse(rid), reason: 'the client disconnected' },
        }).catch(() => {})
      }
      for (const [token, s] of live.progress) if (s === sink) live.progress.delete(token)
    }
    for (const m of messages) {
      const status = await deliver(session, request, m).catch(() => 0)
      if (status >= 200 && status < 300) continue
      if (m.id !== undefined && m.id !== null && typeof m.method === 'string')
        route(
          session,
          rpcError(m.id, INTERNAL, `the upstream refused the message (HTTP ${status || 'error'})`),
        )
      else if (requests.length === 0)
        return json(502, rpcError(null, INTERNAL, `the upstream refused the message`))
    }
    const headers: Record<string, string> = { 'mcp-session-id': sessionId! }
    if (requests.length === 0) return new Response(null, { status: 202, headers })
    return new Response(sink.stream, {
      status: 200,
      headers: { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
    })
  }

  const deliver = async (session: Session, request: Request, message: JsonRpc): Promise<number> => {
    const response = await send(session.endpoint, {
      method: 'POST',
      headers: upstreamRequestHeaders(new Headers({ 'content-type': 'application/json' }), identity(request)),
      body: JSON.stringify(message),
      redirect: 'manual',
    })
    await response.body?.cancel().catch(() => {})
    return response.status
  }

  return {
    describe: `${redactUrl(target)} (sse)`,
    async fetch(request) {
      if (request.method === 'POST') return post(request)
      const sessionId = request.headers.get('mcp-session-id')
      const session = sessionId ? sessions.get(sessionId) : undefined
      if (!sessionId)
        return json(400, rpcError(null, -32000, 'Bad Request: Mcp-Session-Id header is required'))
      const principal = principalOf(request)
      if (principal === undefined) return unmarked()
      if (session?.principal !== principal) return notFound()
      session.lastUsed = Date.now()
      if (request.method === 'DELETE') {
        end(sessionId, session, 'the session was deleted')
        return new Response(null, { status: 200 })
      }
      if (request.method !== 'GET')
        return json(405, rpcError(null, -32000, 'Method not allowed'), { allow: 'GET, POST, DELETE' })
      if (session.standalone && !session.standalone.closed)
        return json(409, rpcError(null, -32000, 'Conflict: only one GET stream per session'))
      const sink = new Sink()
      session.standalone = sink
      return new Response(sink.stream, {
        status: 200,
        headers: {
          'content-type': 'text/event-stream',
          'cache-control': 'no-cache',
          'mcp-session-id': sessionId,
        },
      })
    },
    async close() {
      clearInterval(sweep)
      for (const [id, session] of [...sessions]) end(id, session, 'the gateway is shutting down')
    },
  }
}
