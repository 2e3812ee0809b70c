/**
 * What a 2025 server's message becomes on its way to a 2026-07-28 host, which may receive from a server only
 * answers, notifications about a request in flight, and what a `subscriptions/listen` stream it opened carries
 * (the bridge offers none, so no `notifications/cancelled` either: a 2026-07-28 server sends it only to end such a
 * stream). Pure; the bridge does the I/O.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/stdio#receiving-messages
 */
import { answerServerRequest, type JsonRpc, LISTEN_ONLY_NOTIFICATIONS, logLevelAllows } from './protocol.ts'

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
 * Forward the message to the host as it is, drop it and say why (once per kind is enough for the log), or answer
 * a server's request in the host's stead: a 2026-07-28 server MUST NOT write requests to a stdio host.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/stdio#receiving-messages
 */
export function forModernHost(
  m: JsonRpc,
  on: RequestStream | undefined,
): { forward: JsonRpc } | { drop: string } | { answer: JsonRpc } {
  const kind = m.method
  if (kind === undefined) return { forward: m }
  if (m.id !== undefined && m.id !== null) return { answer: answerServerRequest(m, 'the bridge') }
  if (LISTEN_ONLY_NOTIFICATIONS.has(kind)) return { drop: 'a 2026-07-28 host gets it only when subscribed' }
  if (kind === 'notifications/cancelled')
    return {
      drop: 'a 2026-07-28 server sends it only to end a subscriptions/listen stream, which the bridge has none of',
    }
  if (kind === 'notifications/message') {
    if (!on) return { drop: 'a 2026-07-28 host gets log messages only on the stream of a request that asked' }
    if (!logLevelAllows(on.logLevel, m.params?.['level']))
      return { drop: 'below the level the request asked for in _meta, or it asked for none' }
  }
  return { forward: m }
}
