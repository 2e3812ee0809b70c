/**
 * The gateway's protocol-era translation, a decorator of its `Upstream`: a client pinned to 2026-07-28
 * (stateless, `server/discover`, the `_meta` envelope on every request) in front of an upstream that speaks only
 * a 2025 revision (an `initialize` handshake and sessions: every HTTP+SSE server, a 2025-11-25 Streamable HTTP
 * server, a 2025 stdio server). The upstream's era is learned once, by a `server/discover` probe, when the first
 * 2026-07-28 request arrives. Requests in the 2025 shape, and every request when the upstream is modern, pass
 * untouched (not even parsed).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/versioning#backward-compatibility-with-initialization-based-versions
 */
import { redactUrlsIn } from '../../shared/redact.ts'
import {
  discoverFromInitialize,
  isModern,
  isRequest,
  type JsonRpc,
  LEGACY_DEFAULT,
  META,
  MODERN,
  quoted,
  refuseLogLevel,
  result,
  error as rpcError,
  TRANSLATED_FROM_META_KEY,
} from '../bridge/protocol.ts'
import { answerForClient, eraOfAnswer, toLegacy } from './era-messages.ts'
import { type LegacySession, LegacySessions } from './era-sessions.ts'
import { answerOf, parseRpc, translateAnswer } from './era-stream.ts'
import { asPrincipal, IDENTITY_HEADERS, principalExpiry, principalOf } from './identity.ts'
import type { Upstream } from './upstream.ts'

/** Options of {@link eraUpstream}. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/versioning */
export interface EraOptions {
  /** One line of the gateway's log (the era learned, sessions lost, translation failures). */
  log?: (line: string) => void
  /** Upstream 2025 sessions kept (one per principal, see `principalKey`); past it the idlest one is ended. Default 1000. */
  maxSessions?: number
  /**
   * A session with nothing in flight unused this long is ended (DELETE), as is one keyed by a token without a
   * subject once that token expires. Default 30 min.
   */
  idleMs?: number
  /** How long the probe and an `initialize` may take. Default 30 s. */
  timeoutMs?: number
}

const INTERNAL = -32603
const PROBE_ID = 'mcp-oauth-era-probe'
const GATEWAY_INFO = { name: 'mcp-oauth gateway', version: '0.1.0' }

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

/**
 * `inner` with 2026-07-28 clients translated when it turns out to speak only a 2025 revision.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http#backward-compatibility
 */
export function eraUpstream(inner: Upstream, options: EraOptions = {}): Upstream {
  const log = options.log ?? (() => {})
  const timeoutMs = options.timeoutMs ?? 30_000
  const idleMs = options.idleMs ?? 30 * 60_000
  const maxSessions = options.maxSessions ?? 1000
  let era: 'modern' | 'legacy' | undefined
  let learning: Promise<'modern' | 'legacy'> | undefined
  let seq = 0

  const identityOf = (request: Request) => {
    const out: Record<string, string> = {}
    for (const name of Object.values(IDENTITY_HEADERS)) {
      const value = request.headers.get(name)
      if (value !== null) out[name] = value
    }
    return out
  }

  /**
   * One message of the gateway's own to `to.url`, marked with the principal it is sent for: the inner upstream
   * binds its sessions to that principal (HTTP+SSE, stdio), so a message without it would be refused there.
   */
  const post = (
    to: { url: string; key: string | undefined },
    base: Record<string, string> | Headers,
    body: JsonRpc,
    signal?: AbortSignal,
  ) => {
    const headers = new Headers(base)
    headers.delete('content-length')
    headers.set('content-type', 'application/json')
    headers.set('accept', 'application/json, text/event-stream')
    const request = new Request(to.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    })
    return inner.fetch(asPrincipal(request, to.key))
  }

  const inSession = (s: LegacySession, base: Record<string, string> | Headers = s.identity) => {
    const headers = new Headers(base)
    if (s.id === null) headers.delete('mcp-session-id')
    else headers.set('mcp-session-id', s.id)
    headers.set('mcp-protocol-version', s.version)
    return headers
  }

  /** A message of the gateway's own in a session (an answer, a cancellation), not waited for. */
  const tell = (s: LegacySession, message: JsonRpc) =>
    void post(s, inSession(s), message, AbortSignal.timeout(timeoutMs))
      .then((r) => r.body?.cancel())
      .catch(() => {})

  const end = async (s: LegacySession) => {
    if (s.id === null) return
    await inner
      .fetch(
        asPrincipal(
          new Request(s.url, { method: 'DELETE', headers: inSession(s), signal: AbortSignal.timeout(2000) }),
          s.key,
        ),
      )
      .then((r) => r.body?.cancel())
      .catch(() => {})
  }
  const sessions = new LegacySessions({ maxSessions, idleMs, end: (s) => void end(s) })

  /** Whether the upstream is modern: one `server/discover` for the gateway's lifetime (a failure is tried again). */
  const learn = (request: Request) => {
    if (!learning) {
      const attempt = (async () => {
        const response = await post(
          { url: request.url, key: principalOf(request) },
          { ...identityOf(request), 'mcp-protocol-version': MODERN, 'mcp-method': 'server/discover' },
          {
            jsonrpc: '2.0',
            id: PROBE_ID,
            method: 'server/discover',
            params: {
              _meta: {
                [META.protocolVersion]: MODERN,
                [META.clientInfo]: GATEWAY_INFO,
                [META.clientCapabilities]: {},
              },
            },
          },
          AbortSignal.timeout(timeoutMs),
        )
        // A passing refusal (overload, rate limit, auth in front, timeout) says nothing of the era: try again later
        // rather than translate for the gateway's whole life.
        if (response.status >= 500 || [401, 403, 408, 429].includes(response.status)) {
          await response.body?.cancel().catch(() => {})
          throw new Error(`the upstream answered server/discover with HTTP ${response.status}`)
        }
        const verdict = eraOfAnswer(await answerOf(response, PROBE_ID))
        era = verdict
        log(
          verdict === 'modern'
            ? 'the upstream speaks 2026-07-28: requests of 2026-07-28 clients pass as they are'
            : 'the upstream speaks a 2025 revision only: requests of 2026-07-28 clients are translated',
        )
        return verdict
      })()
      learning = attempt
      attempt.catch(() => {
        if (learning === attempt) learning = undefined
      })
    }
    return learning
  }

  const open = async (request: Request, m: JsonRpc, key: string): Promise<LegacySession> => {
    const identity = identityOf(request)
    const id = `mcp-oauth-${++seq}`
    const clientInfo = (m.params?.['_meta'] as Record<string, unknown> | undefined)?.[META.clientInfo]
    const response = await post(
      { url: request.url, key },
      identity,
      {
        jsonrpc: '2.0',
        id,
        method: 'initialize',
        // No client capabilities: the server must not ask for roots, sampling or elicitation, which a 2026-07-28
        // client only gives as input requests the gateway does not make.
        params: {
          protocolVersion: LEGACY_DEFAULT,
          capabilities: {},
          clientInfo: clientInfo && typeof clientInfo === 'object' ? clientInfo : GATEWAY_INFO,
        },
      },
      AbortSignal.timeout(timeoutMs),
    )
    if (!response.ok) {
      await response.body?.cancel().catch(() => {})
      throw new Error(`initialize answered HTTP ${response.status}`)
    }
    const answer = await answerOf(response, id)
    if (!answer?.result) throw new Error(`initialize failed: ${answer?.error?.message ?? 'no answer'}`)
    const version = answer.result['protocolVersion']
    const session: LegacySession = {
      key,
      url: request.url,
      id: response.headers.get('mcp-session-id'),
      version: typeof version === 'string' ? version : LEGACY_DEFAULT,
      init: answer.result,
      identity,
      // The session table sets it on its own clock once the session is open.
      lastUsed: 0,
      inFlight: 0,
    }
    const ack = await post(
      session,
      inSession(session),
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      AbortSignal.timeout(timeoutMs),
    )
    await ack.body?.cancel().catch(() => {})
    if (!ack.ok) throw new Error(`notifications/initialized answered HTTP ${ack.status}`)
    return session
  }

  /**
   * The session of the request's principal, opened on first use; concurrent first requests share it. The key is the
   * one the gateway computed from the verified token, not the identity headers: a token without a subject sends
   * none, and keying on what is left would put every such caller of one client in one upstream session.
   */
  const sessionFor = (request: Request, m: JsonRpc): Promise<LegacySession> => {
    const key = principalOf(request)
    if (key === undefined)
      return Promise.reject(new Error('the request was not forwarded by the gateway (no verified principal)'))
    return sessions.get(key, principalExpiry(request), () => open(request, m, key))
  }

  const send = async (request: Request, m: JsonRpc, retried: boolean): Promise<Response> => {
    const s = await sessionFor(request, m)
    const { message, call } = toLegacy(m, isRequest(m) ? `mcp-oauth-${++seq}` : undefined)
    const headers = inSession(s, request.headers)
    headers.delete('last-event-id')
    sessions.acquire(s)
    let response: Response
    try {
      response = await post({ url: request.url, key: s.key }, headers, message, request.signal)
    } catch (error) {
      if (call && request.signal.aborted)
        tell(s, {
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: call.upstreamId, reason: 'the client went away' },
        })
      sessions.release(s)
      throw error
    }
    if (response.status === 404 && s.id !== null && !retried) {
      // A 2025 server that restarted (or ended the session) forgot it: a new session, and the request again.
      sessions.forget(s)
      sessions.release(s)
      await response.body?.cancel().catch(() => {})
      log('the upstream lost the session of a 2026-07-28 client (restarted?); starting a new one')
      return send(request, m, true)
    }
    return translateAnswer(response, call, {
      done: () => sessions.release(s),
      ask: (question) => tell(s, answerForClient(question)),
      unanswered: (why) => log(`the 2025 upstream's answer to a 2026-07-28 ${quoted(m.method)} ${why}`),
      // 2026-07-28 cancels by closing the stream; a 2025 server needs to be told.
      cancelled: (upstreamId) =>
        tell(s, {
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: upstreamId, reason: 'the client closed the request stream' },
        }),
    })
  }

  const translate = async (request: Request, m: JsonRpc): Promise<Response> => {
    // A 2025 server knows no `_meta` log level to refuse, so the gateway answers as a 2026-07-28 server should.
    const refused = refuseLogLevel(m)
    if (refused) return json(200, refused)
    try {
      if (m.method === 'server/discover' && isRequest(m)) {
        const s = await sessionFor(request, m)
        const discover = discoverFromInitialize(s.init)
        const meta = {
          ...(discover['_meta'] as Record<string, unknown>),
          [TRANSLATED_FROM_META_KEY]: s.version,
        }
        return json(200, result(m.id, { ...discover, _meta: meta }))
      }
      return await send(request, m, false)
    } catch (error) {
      if (request.signal.aborted) throw error
      const text = redactUrlsIn(String((error as Error)?.message ?? error))
      log(`a 2026-07-28 ${quoted(m.method)} could not be translated for the 2025 upstream: ${text}`)
      return json(
        502,
        rpcError(m.id, INTERNAL, 'the MCP server behind this gateway failed (the gateway log says why)'),
      )
    }
  }

  return {
    get describe() {
      return inner.describe
    },
    async fetch(request) {
      // The pipe: a 2025 client's requests (and everything once the upstream is known modern) are not read.
      if (
        request.method !== 'POST' ||
        era === 'modern' ||
        !isModern(request.headers.get('mcp-protocol-version'))
      )
        return inner.fetch(request)
      const text = await request.text()
      const again = () =>
        asPrincipal(
          new Request(request.url, {
            method: 'POST',
            headers: request.headers,
            body: text,
            signal: request.signal,
          }),
          principalOf(request),
        )
      const m = parseRpc(text)
      // 2026-07-28 has no batches; anything that is not one request or notification is the upstream's to refuse.
      if (!m || Array.isArray(m) || typeof m.method !== 'string') return inner.fetch(again())
      if ((era ?? (await learn(request))) === 'modern') return inner.fetch(again())
      return translate(request, m)
    },
    async close() {
      await Promise.all(sessions.close().map((opening) => opening.then(end, () => {})))
      await inner.close()
    },
  }
}
