/**
 * The bridge's Streamable HTTP client, made for forwarding: one POST per message on the process's kept-alive
 * connection pool (the given fetch), the answer handed on as text (JSON body or SSE events as they arrive), no
 * schema validation of payloads the bridge does not need to understand. Keeps the 2025 session header and the
 * protocol-version header, and the GET stream a 2025 server uses for its own requests.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
 */
import { encodeHeaderValue, type ParamHeader, paramHeaders, toolHeaders } from '../../shared/mcp-header.ts'
import { type Answer, fetchAnswer, type Post } from './node-post.ts'
import { type JsonRpc, META } from './protocol.ts'
import { SseReader } from './sse.ts'

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/** Where answers go: text of one JSON-RPC message (or a JSON array of them, from a batch). */
export type Sink = (text: string) => void

/** What every upstream of the bridge offers (this one, and the legacy HTTP+SSE one in legacy-sse.ts). */
export interface Upstream {
  /** Send one message; `body` is its JSON text when the bridge already has it. Answers go to `sink`, or to the upstream's own. */
  send(m: JsonRpc, body?: string, sink?: Sink): Promise<void>
  setProtocolVersion(version: string): void
  close(): Promise<void>
}

/** How a Streamable HTTP upstream reaches its server. */
export interface StreamableHttpOptions {
  url: string
  fetch: Fetch
  headers?: Record<string, string> | undefined
  /** Messages that arrive outside a POST's sink: the GET stream, and answers of sends without one. */
  onMessage: Sink
  log(line: string): void
  /** The steady-state POST (node-post.ts); what it declines goes through `fetch`. */
  post?: Post | undefined
  /** The fetch of the closing DELETE, which must never sign in (a courtesy as the host quits); `fetch` if absent. */
  endFetch?: Fetch | undefined
}

/** A POST's non-2xx status, so the bridge can tell a lost session (404) from other failures. */
export class HttpStatusError extends Error {
  readonly status: number
  constructor(status: number, text: string) {
    super(`the server answered HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`)
    this.status = status
  }
}

/** `Mcp-Name` mirrors one field of these methods' params (2026-07-28). @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http */
const NAME_FIELD: Record<string, string> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
}

/** JSON-RPC error code of a request whose headers do not match its body (2026-07-28). @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http#server-validation */
const HEADER_MISMATCH = -32020

/**
 * A Streamable HTTP connection to one MCP server.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
 */
export class StreamableHttp implements Upstream {
  readonly #o: StreamableHttpOptions
  /** Headers every request carries; rebuilt only when the session or version changes. */
  #base: Record<string, string>
  #sessionId: string | undefined
  #protocolVersion: string | undefined
  readonly #abort = new AbortController()
  #getStream = false
  /** Each tool's `x-mcp-header` annotations, learned from the `tools/list` answers that passed through. */
  readonly #toolParams = new Map<string, ParamHeader[]>()
  #listing: Promise<void> | undefined
  #seq = 0

  constructor(options: StreamableHttpOptions) {
    this.#o = options
    this.#base = this.#headers()
  }

  #headers(): Record<string, string> {
    const h: Record<string, string> = { ...this.#o.headers }
    if (this.#sessionId) h['mcp-session-id'] = this.#sessionId
    if (this.#protocolVersion) h['mcp-protocol-version'] = this.#protocolVersion
    return h
  }

  /** The version a 2025 server agreed in `initialize`, sent on every later request. */
  setProtocolVersion(version: string): void {
    this.#protocolVersion = version
    this.#base = this.#headers()
  }

  async send(
    m: JsonRpc,
    body = JSON.stringify(m),
    given: Sink = this.#o.onMessage,
    retried = false,
  ): Promise<void> {
    const version = (m.params?.['_meta'] as Record<string, unknown> | undefined)?.[META.protocolVersion]
    // x-mcp-header is a 2026-07-28 rule: only lists asked in that revision are read (and filtered).
    const modern = typeof version === 'string' && m.id != null
    const sink = modern && m.method === 'tools/list' ? this.#toolsListSink(m, given) : given
    const initialize = m.method === 'initialize'
    const headers: Record<string, string> = {
      ...this.#base,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    }
    if (initialize) delete headers['mcp-session-id']
    if (modern && m.method) {
      headers['mcp-protocol-version'] = version
      headers['mcp-method'] = m.method
      const field = NAME_FIELD[m.method]
      const name = field ? m.params?.[field] : undefined
      if (typeof name === 'string') headers['mcp-name'] = encodeHeaderValue(name)
      const params =
        m.method === 'tools/call' && typeof name === 'string' ? this.#toolParams.get(name) : undefined
      if (params) Object.assign(headers, paramHeaders(params, m.params?.['arguments']))
    }
    const response =
      (await this.#o.post?.(this.#o.url, headers, body)) ?? (await this.#fetchPost(headers, body))
    if (initialize && response.status >= 200 && response.status < 300) {
      this.#sessionId = response.header('mcp-session-id')
      this.#base = this.#headers()
    }
    if (response.status < 200 || response.status >= 300) {
      const text = await response.text().catch(() => '')
      // A JSON-RPC error in a 4xx body answers the request: hand it on rather than a bare HTTP status.
      // (A lost 2025 session's 404 carries no id of ours, so it still throws and the bridge starts a new one.)
      if (m.id != null && response.status < 500 && isErrorFor(text, m.id)) {
        // Headers the server wants and we did not send (a tool list it changed, or one we never saw): the spec's
        // remedy is to list the tools again and retry once.
        if (!retried && m.method === 'tools/call' && modern && errorCode(text) === HEADER_MISMATCH) {
          // Concurrent mismatches share one listing.
          this.#listing ??= this.#listTools(m)
            .catch(() => {})
            .finally(() => {
              this.#listing = undefined
            })
          await this.#listing
          return this.send(m, body, given, true)
        }
        return sink(text)
      }
      throw new HttpStatusError(response.status, text)
    }
    if (response.status === 202 || m.id == null) {
      await response.discard()
      if (m.method === 'notifications/initialized' && this.#sessionId !== undefined) this.#openGetStream()
      return
    }
    const type = response.header('content-type') ?? ''
    if (type.includes('text/event-stream')) return this.#stream(response, sink)
    const text = await response.text()
    if (text) sink(text)
  }

  /**
   * A `tools/list` answer teaches each tool's `x-mcp-header` annotations and loses the tools whose annotations break
   * the spec's rules (logged); an answer with nothing to drop goes on as it came.
   * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http#schema-extension
   */
  #toolsListSink(request: JsonRpc, sink: Sink): Sink {
    const firstPage = request.params?.['cursor'] === undefined
    return (text) => {
      let answer: JsonRpc
      try {
        answer = JSON.parse(text) as JsonRpc
      } catch {
        return sink(text)
      }
      const tools = answer?.id === request.id ? answer.result?.['tools'] : undefined
      if (!Array.isArray(tools)) return sink(text)
      if (firstPage) this.#toolParams.clear()
      const kept = tools.filter((tool: { name?: unknown; inputSchema?: unknown }) => {
        const found = toolHeaders(tool?.inputSchema)
        const name = typeof tool?.name === 'string' ? tool.name : undefined
        // A later page may change a tool seen before: what it says now replaces what was learned.
        if (name !== undefined) this.#toolParams.delete(name)
        if (!found.ok) {
          this.#o.log(`warning: left tool ${JSON.stringify(tool?.name)} out of tools/list: ${found.reason}`)
          return false
        }
        if (name !== undefined && found.params.length) this.#toolParams.set(name, found.params)
        return true
      })
      sink(
        kept.length === tools.length
          ? text
          : JSON.stringify({ ...answer, result: { ...answer.result, tools: kept } }),
      )
    }
  }

  /** Every page of `tools/list`, for its annotations, with the envelope of the request that needed them. */
  async #listTools(cause: JsonRpc): Promise<void> {
    const meta = Object.fromEntries(
      Object.entries((cause.params?.['_meta'] as Record<string, unknown> | undefined) ?? {}).filter(([k]) =>
        k.startsWith('io.modelcontextprotocol/'),
      ),
    )
    let cursor: unknown
    for (let page = 0; page < 100; page++) {
      const id = `mcp-oauth-tools-${++this.#seq}`
      const params = { _meta: meta, ...(typeof cursor === 'string' ? { cursor } : {}) }
      cursor = undefined
      await this.send({ jsonrpc: '2.0', id, method: 'tools/list', params }, undefined, (text) => {
        try {
          const m = JSON.parse(text) as JsonRpc
          if (m?.id === id) cursor = m.result?.['nextCursor']
        } catch {
          // not the answer
        }
      })
      if (typeof cursor !== 'string') return
    }
  }

  async #fetchPost(headers: Record<string, string>, body: string): Promise<Answer> {
    // No AbortSignal on POSTs: fetch adds a listener to it per request and drops it only when the request is
    // collected, so one shared signal collects thousands of listeners, each add scanning the rest (measured:
    // CPU and RSS growing per call). The bridge closes after its answers are out; only the GET stream needs one.
    return fetchAnswer(await this.#o.fetch(this.#o.url, { method: 'POST', headers, body }))
  }

  /** Forward each SSE event's data as it completes; the answer to the request ends the wait. */
  async #stream(response: Answer, sink: Sink): Promise<void> {
    const reader = new SseReader()
    await response.each((chunk) => {
      for (const e of reader.push(chunk)) {
        if (e.event === 'message' && e.data) sink(e.data)
      }
    })
  }

  /** The 2025 session's standalone stream for server-initiated messages; a server may decline it (405). */
  #openGetStream(): void {
    if (this.#getStream) return
    this.#getStream = true
    void (async () => {
      try {
        const headers = { ...this.#base, accept: 'text/event-stream' }
        const signal = this.#abort.signal
        const response =
          (await this.#o.post?.(this.#o.url, headers, '', { method: 'GET', signal })) ??
          fetchAnswer(await this.#o.fetch(this.#o.url, { method: 'GET', headers, signal }))
        const ok = response.status >= 200 && response.status < 300
        if (!ok || !(response.header('content-type') ?? '').includes('text/event-stream')) {
          await response.discard()
          return
        }
        await this.#stream(response, this.#o.onMessage)
      } catch (e) {
        if (!this.#abort.signal.aborted) this.#o.log(`server stream: ${e instanceof Error ? e.message : e}`)
      } finally {
        this.#getStream = false
      }
    })()
  }

  /** End the 2025 session politely (DELETE), then stop every request and stream. */
  async close(): Promise<void> {
    if (this.#sessionId && !this.#abort.signal.aborted) {
      const ended = async () =>
        (await this.#o.post?.(this.#o.url, this.#base, '', { method: 'DELETE', timeoutMs: 2000 })) ??
        fetchAnswer(
          await (this.#o.endFetch ?? this.#o.fetch)(this.#o.url, {
            method: 'DELETE',
            headers: this.#base,
            signal: AbortSignal.timeout(2000),
          }),
        )
      await ended()
        .then((r) => r.discard())
        .catch(() => {})
    }
    this.#abort.abort()
  }
}

function errorCode(text: string): unknown {
  try {
    return (JSON.parse(text) as JsonRpc)?.error?.code
  } catch {
    return undefined
  }
}

function isErrorFor(text: string, id: unknown): boolean {
  try {
    const m = JSON.parse(text) as JsonRpc
    return m?.jsonrpc === '2.0' && m.id === id && typeof m.error === 'object' && m.error !== null
  } catch {
    return false
  }
}
