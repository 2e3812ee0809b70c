/**
 * The stdio ↔ remote bridge: forwards every JSON-RPC message both ways over Streamable HTTP (or legacy
 * HTTP+SSE), negotiates the protocol era with the server and translates when host and server differ.
 * Authorization lives in the `fetch` it is given; this file never sees a token.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
 */
import type { SSEClientTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { readLimited } from '../../client/http.ts'
import { isMcpOAuthError } from '../../shared/errors.ts'
import { redactUrlsIn } from '../../shared/redact.ts'
import { notAnMcpEndpoint, notMcpAnswer } from '../mcp-endpoint.ts'
import {
  addEnvelope,
  discoverFromInitialize,
  error,
  type HostInfo,
  hostEra,
  hostInfoFromMeta,
  initializeFromDiscover,
  isModern,
  isNotification,
  isRequest,
  type JsonRpc,
  LEGACY_DEFAULT,
  META,
  MODERN,
  modernizeResult,
  result,
  stripEnvelope,
} from './protocol.ts'

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>
type Upstream = StreamableHTTPClientTransport | SSEClientTransport

/** How the bridge reaches the server and the host. */
export interface BridgeOptions {
  url: string
  fetch: Fetch
  headers?: Record<string, string>
  transport?: 'auto' | 'http' | 'sse'
  /** Deliver a message to the host (stdout). */
  toHost(message: JsonRpc): void
  log(line: string): void
}

const PROBE_TIMEOUT_MS = 30_000
const PROBE_MAX_BYTES = 1024 * 1024

/** JSON-RPC error codes the bridge answers with. */
const INTERNAL = -32603
const METHOD_NOT_FOUND = -32601

/** Parse the first JSON-RPC message from a JSON or SSE body. */
async function readRpc(response: Response): Promise<JsonRpc | undefined> {
  const text = await readLimited(response, PROBE_MAX_BYTES)
  const type = response.headers.get('content-type') ?? ''
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
 * One bridge per `connect` process.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/versioning
 */
export class Bridge {
  readonly #o: BridgeOptions
  #serverEra: Promise<'legacy' | 'modern' | 'sse'> | undefined
  #hostEra: 'legacy' | 'modern' | undefined
  #host: HostInfo | undefined
  #upstream: Upstream | undefined
  #legacyInit: Promise<Record<string, unknown>> | undefined
  #hostInitialize: JsonRpc | undefined
  #internal = new Map<string, (m: JsonRpc) => void>()
  /** Methods of host requests in flight, so results can be translated for their method. */
  #methods = new Map<string | number, string>()
  #seq = 0
  #closed = false

  /** The SDK's transports, loaded while the probe is on the wire (they are most of the start-up cost). */
  readonly #sdk = import('@modelcontextprotocol/client')

  /** The status of a probe POST that sent the bridge to the legacy transport (404/405). */
  #postStatus: number | undefined

  constructor(options: BridgeOptions) {
    this.#o = options
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
    if (this.#o.transport === 'sse') return 'sse'
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
    const response = await this.#o.fetch(this.#o.url, {
      method: 'POST',
      headers: {
        ...this.#o.headers,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': MODERN,
        'mcp-method': 'server/discover',
      },
      body: JSON.stringify(body),
      // An answer that never comes (or a stream that never ends) must not hold the bridge's start-up forever.
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    })
    if ((response.status === 404 || response.status === 405) && this.#o.transport !== 'http') {
      await response.body?.cancel().catch(() => {})
      this.#postStatus = response.status
      this.#o.log('the server has no Streamable HTTP endpoint here; using the legacy HTTP+SSE transport')
      return 'sse'
    }
    // No MCP server answers a POST with a web page or with JSON that is not JSON-RPC: say so, not "Unexpected …".
    const problem = await notMcpAnswer(response)
    if (problem) {
      await response.body?.cancel().catch(() => {})
      throw notAnMcpEndpoint(this.#o.url, problem)
    }
    const m = await readRpc(response).catch(() => undefined)
    const versions = m?.result?.['supportedVersions']
    const modern = Array.isArray(versions) && versions.some(isModern)
    this.#o.log(`server speaks ${modern ? MODERN : 'a 2025 revision'}`)
    return modern ? 'modern' : 'legacy'
  }

  async #transport(): Promise<Upstream> {
    if (this.#upstream) return this.#upstream
    const era = await this.serverEra()
    const sdk = await this.#sdk
    const requestInit = { headers: this.#o.headers ?? {} }
    const t: Upstream =
      era === 'sse'
        ? new sdk.SSEClientTransport(new URL(this.#o.url), { fetch: this.#o.fetch, requestInit })
        : new sdk.StreamableHTTPClientTransport(new URL(this.#o.url), { fetch: this.#o.fetch, requestInit })
    t.onmessage = (m) => this.#fromServer(m as JsonRpc)
    t.onerror = (e) => this.#o.log(`server connection: ${describe(e)}`)
    this.#upstream = t
    await t.start()
    return t
  }

  /** Handle one message from the host. */
  async fromHost(m: JsonRpc): Promise<void> {
    if (this.#closed) return
    this.#hostEra ??= hostEra(m)
    try {
      const era = await this.serverEra()
      const legacyServer = era !== 'modern'
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
      if (m.method === 'server/discover') {
        return this.#o.toHost(result(m.id, discoverFromInitialize(await this.#initializeLegacy())))
      }
      await this.#initializeLegacy()
      if (isRequest(m)) this.#methods.set(m.id!, m.method!)
      return await this.#send(stripEnvelope(m))
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
          capabilities: host.capabilities,
          clientInfo: host.clientInfo,
        },
      })
      const t = await this.#transport()
      if (isStreamable(t)) t.setProtocolVersion(String(init['protocolVersion'] ?? LEGACY_DEFAULT))
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
    await t.send({ ...m, jsonrpc: '2.0', id, method } as never)
    const r = await reply
    if (r.error) throw new Error(`${method} failed: ${r.error.message}`)
    return r.result ?? {}
  }

  async #send(m: JsonRpc, retried = false): Promise<void> {
    const t = await this.#transport()
    try {
      await t.send(m as never)
    } catch (e) {
      // A 2025 server that restarted forgot our session: initialize again and retry once.
      if (!retried && isSessionLost(e) && isStreamable(t)) {
        this.#o.log('the server lost the session (restart?); starting a new one')
        await this.#resetSession(t)
        return this.#send(m, true)
      }
      throw e
    }
  }

  async #resetSession(t: StreamableHTTPClientTransport): Promise<void> {
    await t.close().catch(() => {})
    this.#upstream = undefined
    this.#legacyInit = undefined
    if (this.#hostInitialize) {
      const init = this.#hostInitialize
      const r = await this.#internalRequest('initialize', { jsonrpc: '2.0', params: init.params ?? {} })
      const fresh = await this.#transport()
      if (isStreamable(fresh)) fresh.setProtocolVersion(String(r['protocolVersion']))
      await fresh.send({ jsonrpc: '2.0', method: 'notifications/initialized' })
    } else if (this.#hostEra === 'modern') {
      await this.#initializeLegacy()
    }
  }

  #fromServer(m: JsonRpc): void {
    if (typeof m.id === 'string' && this.#internal.has(m.id) && !m.method) {
      this.#internal.get(m.id)!(m)
      this.#internal.delete(m.id)
      return
    }
    if (this.#hostInitialize && m.id === this.#hostInitialize.id && m.result) {
      const t = this.#upstream
      if (isStreamable(t)) t.setProtocolVersion(String(m.result['protocolVersion']))
    }
    if (this.#hostEra === 'modern' && m.id != null && !m.method && this.#methods.has(m.id)) {
      const method = this.#methods.get(m.id)
      this.#methods.delete(m.id)
      if (m.result) m = { ...m, result: modernizeResult(method, m.result) }
    }
    this.#o.toHost(m)
  }

  #fail(m: JsonRpc, failure: unknown): void {
    const e = this.#named(failure)
    const message = describe(e)
    this.#o.log(`${m.method ?? 'message'} failed: ${message}`)
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
    const t = this.#upstream
    this.#upstream = undefined
    if (isStreamable(t)) await t.terminateSession().catch(() => {})
    await t?.close().catch(() => {})
  }
}

function isStreamable(t: Upstream | undefined): t is StreamableHTTPClientTransport {
  return t !== undefined && 'terminateSession' in t
}

function isSessionLost(e: unknown): boolean {
  const status =
    (e as { status?: number; data?: { status?: number } })?.status ??
    (e as { data?: { status?: number } })?.data?.status
  return status === 404 || /\b404\b|session not found/i.test(describe(e))
}

function errorCode(e: unknown): number {
  return /method not found/i.test(describe(e)) ? METHOD_NOT_FOUND : INTERNAL
}

function describe(e: unknown): string {
  if (isMcpOAuthError(e)) return redactUrlsIn(`${e.message} (${e.hint})`)
  return redactUrlsIn(e instanceof Error ? e.message : String(e))
}
