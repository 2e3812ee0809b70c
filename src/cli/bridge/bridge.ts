/**
 * The stdio ↔ remote bridge: forwards every JSON-RPC message both ways over Streamable HTTP (or legacy
 * HTTP+SSE), negotiates the protocol era with the server and translates when host and server differ.
 * When both speak the same era it is a pipe: the host's line goes out as the POST body and the server's answer
 * text comes back as the host's line, parsed by neither side. Authorization lives in the `fetch` it is given;
 * this file never sees a token.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
 */
import { isMcpOAuthError } from '../../shared/errors.ts'
import { notAnMcpEndpoint } from '../mcp-endpoint.ts'
import { describe, errorCode, INTERNAL, isSessionLost } from './failures.ts'
import { forModernHost, InFlight, KindsSeen, type RequestStream } from './modern-host.ts'
import type { Post } from './node-post.ts'
import { probeEra } from './probe.ts'
import {
  addEnvelope,
  discoverFromInitialize,
  error,
  type HostInfo,
  hostEra,
  hostInfoFromMeta,
  initializeFromDiscover,
  isNotification,
  isRequest,
  type JsonRpc,
  LEGACY_DEFAULT,
  legacyClientCapabilities,
  MODERN,
  quoted,
  refuseLogLevel,
  result,
  stripEnvelope,
} from './protocol.ts'
import { type Sink, StreamableHttp, type Upstream } from './streamable-http.ts'

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/** How the bridge reaches the server and the host. */
export interface BridgeOptions {
  url: string
  fetch: Fetch
  headers?: Record<string, string>
  transport?: 'auto' | 'http' | 'sse'
  /** Deliver a message to the host (stdout). */
  toHost(message: JsonRpc): void
  /**
   * Deliver a server's message text to the host as is (one line, newline included). Given when the host's
   * messages need no rewriting on the way back (no tool filter), so same-era answers are never parsed.
   */
  toHostLine?: ((line: string) => void) | undefined
  /** The steady-state POST of the Streamable HTTP transport (node-post.ts); what it declines goes through `fetch`. */
  post?: Post | undefined
  /** The fetch of the 2025 session's closing DELETE: one that never signs in. */
  endFetch?: Fetch | undefined
  log(line: string): void
}

/**
 * One bridge per `connect` process.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/versioning
 */
export class Bridge {
  readonly #o: BridgeOptions
  #serverEra: Promise<'legacy' | 'modern' | 'sse'> | undefined
  #hostEra: 'legacy' | 'modern' | undefined
  #host: HostInfo | undefined
  #upstream: Promise<Upstream> | undefined
  /** The upstream once open, for what must happen before the next message goes out. */
  #live: Upstream | undefined
  #legacyInit: Promise<Record<string, unknown>> | undefined
  #hostInitialize: JsonRpc | undefined
  #internal = new Map<string, (m: JsonRpc) => void>()
  /** A 2026-07-28 host's requests in flight to a 2025 server, so results can be translated for their method. */
  #inFlight = new InFlight()
  #seq = 0
  #closed = false
  /** The server speaks a pre-2026 revision (Streamable HTTP or HTTP+SSE): set once its upstream opens. */
  #legacyServer = false
  /** Kinds of server messages already dropped for a 2026-07-28 host, so the log says it once per kind. */
  #dropped = new KindsSeen()

  /** Answers of a same-era request, straight to the host (the pipe); undefined when they must be read. */
  readonly #pipe: Sink | undefined

  /** The status of a probe POST that sent the bridge to the legacy transport (404/405). */
  #postStatus: number | undefined

  constructor(options: BridgeOptions) {
    this.#o = options
    const line = options.toHostLine
    this.#pipe = line
      ? (text) => {
          // One line per message on stdout: a pretty-printed or batched answer takes the parsing path.
          if (text.charCodeAt(0) === 123 && !text.includes('\n') && !text.includes('\r')) line(`${text}\n`)
          else this.#fromServerText(text)
        }
      : undefined
  }

  /** Which era the server speaks: a `server/discover` probe decides (legacy servers answer it with an error). */
  serverEra(): Promise<'legacy' | 'modern' | 'sse'> {
    if (!this.#serverEra) {
      const probe = this.#probe()
      this.#serverEra = probe
      // A failed probe (network, sign-in refused) is tried again with the host's next message.
      probe.catch(() => {
        if (this.#serverEra === probe) this.#serverEra = undefined
      })
    }
    return this.#serverEra
  }

  async #probe(): Promise<'legacy' | 'modern' | 'sse'> {
    const { era, postStatus } = await probeEra(this.#o)
    if (postStatus !== undefined) this.#postStatus = postStatus
    return era
  }

  #transport(): Promise<Upstream> {
    if (!this.#upstream) {
      const opening = this.#open()
      this.#upstream = opening
      opening.then(
        (t) => {
          if (this.#upstream === opening) this.#live = t
        },
        () => {
          if (this.#upstream === opening) this.#upstream = undefined
        },
      )
    }
    return this.#upstream
  }

  async #open(): Promise<Upstream> {
    const era = await this.serverEra()
    this.#legacyServer = era !== 'modern'
    const o = this.#o
    if (era !== 'sse') {
      return new StreamableHttp({
        url: o.url,
        fetch: o.fetch,
        headers: o.headers,
        onMessage: (text) => this.#fromServerText(text),
        log: o.log,
        post: o.post,
        endFetch: o.endFetch,
      })
    }
    const { openLegacySse } = await import('./legacy-sse.ts')
    return openLegacySse({
      url: o.url,
      fetch: o.fetch,
      headers: o.headers,
      onMessage: (m) => this.#fromServer(m),
      onError: (e) => o.log(`server connection: ${describe(e)}`),
    })
  }

  /**
   * Handle one message from the host; `line` is its text as the host wrote it, forwarded unchanged when the
   * server speaks the host's era.
   */
  async fromHost(m: JsonRpc, line?: string): Promise<void> {
    if (this.#closed) return
    this.#hostEra ??= hostEra(m)
    try {
      const era = await this.serverEra()
      const legacyServer = era !== 'modern'
      if (this.#pipe && m.method !== 'initialize' && (era === 'modern') === (this.#hostEra === 'modern')) {
        return await this.#send(m, false, line, this.#pipe)
      }
      if (this.#hostEra === 'legacy') {
        if (m.method === 'initialize') {
          this.#host = {
            protocolVersion: String(m.params?.['protocolVersion'] ?? LEGACY_DEFAULT),
            capabilities: (m.params?.['capabilities'] as Record<string, unknown>) ?? {},
            clientInfo: (m.params?.['clientInfo'] as Record<string, unknown>) ?? {
              name: 'host',
              version: '0',
            },
          }
          if (legacyServer) {
            this.#hostInitialize = m
            return await this.#send(m)
          }
          const discover = await this.#internalRequest(
            'server/discover',
            addEnvelope({ jsonrpc: '2.0', params: {} }, this.#host),
          )
          return this.#o.toHost(result(m.id, initializeFromDiscover(this.#host.protocolVersion, discover)))
        }
        if (!legacyServer) return await this.#legacyHostToModernServer(m)
        return await this.#send(m)
      }
      // Modern host.
      this.#host ??= hostInfoFromMeta(m)
      if (!legacyServer) return await this.#send(m)
      const refused = refuseLogLevel(m)
      if (refused) return this.#o.toHost(refused)
      if (m.method === 'server/discover') {
        return this.#o.toHost(result(m.id, discoverFromInitialize(await this.#initializeLegacy())))
      }
      await this.#initializeLegacy()
      if (!isRequest(m)) return await this.#send(stripEnvelope(m))
      const on = this.#inFlight.start(m)
      return await this.#send(stripEnvelope(m), false, undefined, (text) => this.#fromServerText(text, on))
    } catch (e) {
      this.#fail(m, e)
    }
  }

  async #legacyHostToModernServer(m: JsonRpc): Promise<void> {
    const host = this.#host ?? {
      protocolVersion: LEGACY_DEFAULT,
      capabilities: {},
      clientInfo: { name: 'host', version: '0' },
    }
    if (m.method === 'notifications/initialized') return
    if (m.method === 'ping') return isRequest(m) ? this.#o.toHost(result(m.id, {})) : undefined
    if (m.method === 'logging/setLevel') {
      // 2026-07-28 sets the level per request in _meta; remember it and add it to every request.
      host.logLevel = String(m.params?.['level'] ?? 'info')
      this.#host = host
      return this.#o.toHost(result(m.id, {}))
    }
    return this.#send(addEnvelope(m, host))
  }

  /** Initialize a legacy server on behalf of a modern host, once. */
  #initializeLegacy(): Promise<Record<string, unknown>> {
    this.#legacyInit ??= (async () => {
      const host = this.#host ?? {
        protocolVersion: MODERN,
        capabilities: {},
        clientInfo: { name: 'host', version: '0' },
      }
      const init = await this.#internalRequest('initialize', {
        jsonrpc: '2.0',
        params: {
          protocolVersion: LEGACY_DEFAULT,
          // Nothing the 2025 server could send requests for: a 2026-07-28 host answers none.
          capabilities: legacyClientCapabilities(host.capabilities),
          clientInfo: host.clientInfo,
        },
      })
      const t = await this.#transport()
      t.setProtocolVersion(String(init['protocolVersion'] ?? LEGACY_DEFAULT))
      await t.send({ jsonrpc: '2.0', method: 'notifications/initialized' })
      return init
    })()
    this.#legacyInit.catch(() => {
      this.#legacyInit = undefined
    })
    return this.#legacyInit
  }

  async #internalRequest(method: string, m: JsonRpc): Promise<Record<string, unknown>> {
    const id = `mcp-oauth-${++this.#seq}`
    const t = await this.#transport()
    const reply = new Promise<JsonRpc>((resolve) => this.#internal.set(id, resolve))
    await t.send({ ...m, jsonrpc: '2.0', id, method })
    const r = await reply
    if (r.error) throw new Error(`${method} failed: ${r.error.message}`)
    return r.result ?? {}
  }

  async #send(m: JsonRpc, retried = false, body?: string, sink?: Sink): Promise<void> {
    const t = await this.#transport()
    try {
      await t.send(m, body, sink)
    } catch (e) {
      // A 2025 server that restarted forgot our session: initialize again and retry once.
      if (!retried && isSessionLost(e) && t instanceof StreamableHttp) {
        this.#o.log('the server lost the session (restart?); starting a new one')
        await this.#resetSession(t)
        return this.#send(m, true, body, sink)
      }
      throw e
    }
  }

  /** Start a new 2025 session after the old one was lost; concurrent requests that lost it share one reset. */
  #resetting: Promise<void> | undefined
  #resetSession(t: Upstream): Promise<void> {
    if (this.#resetting) return this.#resetting
    const reset = this.#reset(t).finally(() => {
      this.#resetting = undefined
    })
    this.#resetting = reset
    return reset
  }

  async #reset(t: Upstream): Promise<void> {
    const current = await this.#upstream?.catch(() => undefined)
    // Another request already replaced the lost session.
    if (current !== t) return
    this.#upstream = undefined
    this.#live = undefined
    await t.close().catch(() => {})
    this.#legacyInit = undefined
    if (this.#hostInitialize) {
      const init = this.#hostInitialize
      const r = await this.#internalRequest('initialize', { jsonrpc: '2.0', params: init.params ?? {} })
      const fresh = await this.#transport()
      fresh.setProtocolVersion(String(r['protocolVersion']))
      await fresh.send({ jsonrpc: '2.0', method: 'notifications/initialized' })
    } else if (this.#hostEra === 'modern') {
      await this.#initializeLegacy()
    }
  }

  /** A server message as text (JSON body or SSE data): read it, one message or a batch. */
  #fromServerText(text: string, on?: RequestStream): void {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      this.#o.log('ignored a server message that is not JSON')
      return
    }
    for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
      if (m && typeof m === 'object') this.#fromServer(m as JsonRpc, on)
    }
  }

  /** A server message; `on` is the host request whose response stream carried it (none: the GET stream). */
  #fromServer(m: JsonRpc, on?: RequestStream): void {
    if (typeof m.id === 'string' && this.#internal.has(m.id) && !m.method) {
      this.#internal.get(m.id)!(m)
      this.#internal.delete(m.id)
      return
    }
    if (this.#hostInitialize && m.id === this.#hostInitialize.id && m.result) {
      this.#live?.setProtocolVersion(String(m.result['protocolVersion']))
    }
    if (this.#hostEra === 'modern') m = this.#inFlight.answered(m)
    if (this.#hostEra === 'modern' && this.#legacyServer) {
      const verdict = forModernHost(m, on, this.#inFlight)
      if ('answer' in verdict) {
        this.#answerServer(String(m.method), verdict.answer)
        return
      }
      if ('drop' in verdict) {
        if (this.#dropped.first(String(m.method))) this.#o.log(`dropped ${quoted(m.method)}: ${verdict.drop}`)
        return
      }
    }
    this.#o.toHost(m)
  }

  /**
   * Answer a 2025 server's request in the stead of a 2026-07-28 host, which takes none, on the session it came
   * from: never one opened for it (closing, or a session being replaced, has no one left to answer).
   */
  #answerServer(method: string, answer: JsonRpc): void {
    const t = this.#live
    if (this.#closed || !t) this.#o.log(`not answering ${quoted(method)}: its session is ending`)
    else {
      if (this.#dropped.first(method)) this.#o.log(`answered ${quoted(method)} for the 2026-07-28 host`)
      t.send(answer).catch((e) => this.#o.log(`answering ${quoted(method)} failed: ${describe(e)}`))
    }
  }

  #fail(m: JsonRpc, failure: unknown): void {
    const e = this.#named(failure)
    const message = describe(e)
    this.#o.log(`${m.method ?? 'message'} failed: ${message}`)
    if (this.#hostEra === 'modern') this.#inFlight.end(m.id)
    if (isRequest(m)) {
      const data = isMcpOAuthError(e) ? { code: e.code, hint: e.hint, spec: e.spec } : undefined
      this.#o.toHost(error(m.id, isNotification(m) ? INTERNAL : errorCode(e), message, data))
    }
  }

  /** A POST answered 404/405 and the legacy transport's GET failed too: the URL is no MCP endpoint at all. */
  #named(e: unknown): unknown {
    const sse = /SSE error: Non-200 status code \((\d+)\)/.exec(describe(e))
    if (!sse || this.#postStatus === undefined) return e
    return notAnMcpEndpoint(
      this.#o.url,
      `POST answered ${this.#postStatus}, and GET (the legacy HTTP+SSE transport) answered ${sse[1]}`,
    )
  }

  /** Close the server side (ends a 2025 session politely). */
  async close(): Promise<void> {
    this.#closed = true
    const t = await this.#upstream?.catch(() => undefined)
    this.#upstream = undefined
    await t?.close().catch(() => {})
  }
}
