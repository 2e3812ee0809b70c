/**
 * What a 2025 server's message becomes on its way to a 2026-07-28 host, which may receive from a server only
 * answers, notifications about a request in flight, and what a `subscriptions/listen` stream it opened carries
 * (the bridge offers none, so no `notifications/cancelled` either: a 2026-07-28 server sends it only to end such a
 * stream). Pure; the bridge does the I/O.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/stdio#receiving-messages
 */
import {
  answerServerRequest,
  type JsonRpc,
  LISTEN_ONLY_NOTIFICATIONS,
  logLevelAllows,
  META,
  modernizeResult,
} from './protocol.ts'

/**
 * The host request whose response stream a message came on; absent for the 2025 GET stream (and the legacy
 * HTTP+SSE stream, which carries every message and ties none to a request).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http#receiving-messages
 */
export interface RequestStream {
  /** `io.modelcontextprotocol/logLevel` of the request's `_meta`, when it asked for log messages. */
  logLevel?: unknown
}

/**
 * The 2026-07-28 host's requests in flight to the 2025 server, until their answer: the method, so the result can
 * be given the shape a 2026-07-28 host expects, and the `progressToken` of its `_meta`, the only progress it takes.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/patterns/progress#behavior-requirements
 */
export class InFlight {
  #requests = new Map<string | number, { method: string; token?: string | number }>()
  /** Requests in flight per progress token (a host that reuses one still gets progress for the other). */
  #tokens = new Map<string | number, number>()
  /** Track the host's request `m`; what comes on its response stream is about it (log messages at its level). */
  start(m: JsonRpc): RequestStream {
    this.end(m.id)
    const meta = m.params?.['_meta'] as Record<string, unknown> | undefined
    const token = meta?.['progressToken']
    if (typeof token === 'string' || typeof token === 'number') {
      this.#requests.set(m.id!, { method: m.method!, token })
      this.#tokens.set(token, (this.#tokens.get(token) ?? 0) + 1)
    } else this.#requests.set(m.id!, { method: m.method! })
    return { logLevel: meta?.[META.logLevel] }
  }
  /** The server's message, with the result of an answer to a tracked request modernized (tracking ends). */
  answered(m: JsonRpc): JsonRpc {
    if (m.id == null || m.method !== undefined) return m
    const method = this.#requests.get(m.id)?.method
    if (method === undefined) return m
    this.end(m.id)
    return m.result ? { ...m, result: modernizeResult(method, m.result) } : m
  }
  /** Stop tracking request `id` (answered, or failed before the server answered it). */
  end(id: JsonRpc['id']): void {
    if (id == null) return
    const token = this.#requests.get(id)?.token
    this.#requests.delete(id)
    if (token === undefined) return
    const left = (this.#tokens.get(token) ?? 1) - 1
    if (left > 0) this.#tokens.set(token, left)
    else this.#tokens.delete(token)
  }
  /** Whether `token` is the `progressToken` of a request in flight. */
  awaitsProgress(token: unknown): boolean {
    return (typeof token === 'string' || typeof token === 'number') && this.#tokens.has(token)
  }
}

/**
 * Forward the message to the host as it is (progress only for a request in `inFlight`), drop it and say why
 * (once per kind is enough for the log), or answer a server's request in the host's stead: a 2026-07-28 server
 * MUST NOT write requests to a stdio host.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/stdio#receiving-messages
 */
export function forModernHost(
  m: JsonRpc,
  on: RequestStream | undefined,
  inFlight: Pick<InFlight, 'awaitsProgress'>,
): { forward: JsonRpc } | { drop: string } | { answer: JsonRpc } {
  const kind = m.method
  if (kind === undefined) return { forward: m }
  // An id of null is no notification either: it is answered (with that id), never passed on.
  if ('id' in m) return { answer: answerServerRequest(m, 'the bridge') }
  // Progress is about a request in flight, whichever stream carries it (a 2025 server may use the GET stream).
  if (kind === 'notifications/progress')
    return inFlight.awaitsProgress(m.params?.['progressToken'])
      ? { forward: m }
      : { drop: 'its progressToken is none of a request in flight' }
  if (kind === 'notifications/message') {
    if (!on) return { drop: 'a 2026-07-28 host gets log messages only on the stream of a request that asked' }
    if (!logLevelAllows(on.logLevel, m.params?.['level']))
      return { drop: 'below the level the request asked for in _meta, or it asked for none' }
    return { forward: m }
  }
  if (LISTEN_ONLY_NOTIFICATIONS.has(kind)) return { drop: 'a 2026-07-28 host gets it only when subscribed' }
  if (kind === 'notifications/cancelled')
    return {
      drop: 'a 2026-07-28 server sends it only to end a subscriptions/listen stream, which the bridge has none of',
    }
  // Anything else (tasks/status, elicitation/complete, a server's own kinds) is no notification a 2026-07-28
  // server may write to a stdio host: only those about a request in flight, and a listen stream's.
  return { drop: 'not a notification a 2026-07-28 host takes outside a subscriptions/listen stream' }
}

/**
 * The kinds of message the log has already spoken of, so it says so once per kind; bounded, since a server
 * chooses its method names (past 64 kinds, the rest count as one).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/stdio#receiving-messages
 */
export class KindsSeen {
  #kinds = new Set<string>()
  /** Whether `kind` is new to the log (then it is remembered). */
  first(kind: string): boolean {
    const key = this.#kinds.size < 64 || this.#kinds.has(kind) ? kind : 'other'
    if (this.#kinds.has(key)) return false
    this.#kinds.add(key)
    return true
  }
}
