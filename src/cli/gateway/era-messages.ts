/**
 * What the gateway's era translation (`era.ts`) does to one message, without I/O: a 2026-07-28 request made fit
 * for a 2025 session (envelope off, our id and progress token on), and each message the 2025 upstream sends back
 * on that request's stream made fit for the 2026-07-28 client (its id and token back, `resultType` and cache
 * hints added, only what relates to the request kept).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/versioning#backward-compatibility-with-initialization-based-versions
 */
import {
  answerServerRequest,
  isModern,
  isRequest,
  type JsonRpc,
  logLevelAllows,
  META,
  modernizeResult,
  stripEnvelope,
} from '../bridge/protocol.ts'

/** Error codes only a 2026-07-28 server answers with (header mismatch, missing capability, unsupported version). @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http#backward-compatibility */
export const MODERN_ERRORS: readonly number[] = [-32020, -32021, -32022]

/** One request in flight through the translation: who asked, under which id, for what. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/patterns/progress */
export interface EraCall {
  /** The client's JSON-RPC id (the 2026 client may reuse ids; ours are unique in the shared session). */
  clientId: JsonRpc['id']
  /** The id, and progress token, the request carries upstream. */
  upstreamId: string
  method: string
  /** The client's own progress token, when it asked for progress. */
  clientToken?: string | number
  /** The level the client asked for in `_meta`; without it the client gets no log messages. */
  logLevel?: string
}

/**
 * What a `server/discover` probe answer says about the upstream: a discover result offering a 2026-07-28+
 * version, or an error only a modern server gives, is modern; anything else (a 2025 server's "not initialized",
 * "session required", "method not found") is legacy.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/versioning#backward-compatibility-with-initialization-based-versions
 */
export function eraOfAnswer(answer: JsonRpc | undefined): 'modern' | 'legacy' {
  const versions = answer?.result?.['supportedVersions']
  if (Array.isArray(versions) && versions.some(isModern)) return 'modern'
  if (answer?.error && MODERN_ERRORS.includes(answer.error.code)) return 'modern'
  return 'legacy'
}

/**
 * A 2026-07-28 request as a 2025 session takes it: the `io.modelcontextprotocol/*` envelope removed, `upstreamId`
 * as its id and as its progress token (so two clients sharing a session never collide).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/changelog
 */
export function toLegacy(m: JsonRpc, upstreamId: string | undefined): { message: JsonRpc; call?: EraCall } {
  const meta = (m.params?.['_meta'] as Record<string, unknown> | undefined) ?? {}
  const logLevel = meta[META.logLevel]
  const stripped = stripEnvelope(m)
  if (!upstreamId || !isRequest(m)) return { message: stripped }
  const call: EraCall = { clientId: m.id, upstreamId, method: m.method! }
  if (typeof logLevel === 'string') call.logLevel = logLevel
  const params = { ...stripped.params }
  const token = meta['progressToken']
  if (typeof token === 'string' || typeof token === 'number') {
    call.clientToken = token
    params['_meta'] = { ...(params['_meta'] as Record<string, unknown>), progressToken: upstreamId }
  }
  return { message: { ...stripped, id: upstreamId, params }, call }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v)
const isRpcError = (v: unknown) =>
  isObject(v) && typeof v['code'] === 'number' && typeof v['message'] === 'string'

/**
 * A message the 2025 upstream sent on the stream of `call`, as its 2026-07-28 client may receive it:
 * - the answer (`final`), with the client's id and a 2026 result;
 * - progress for this request, with the client's token back;
 * - log messages only at or above the level the client asked for, none when it asked for none;
 * - a server-to-client request is not for the client (2026-07-28 has none outside input requests): `ask` says so;
 * - anything else (list changes, progress of another request) is dropped: a 2026 response stream carries only
 *   what relates to its request.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http#receiving-messages
 */
export function toModern(m: JsonRpc, call: EraCall): { message?: JsonRpc; final?: true; ask?: true } {
  if (m.method === undefined) {
    // A JSON body with an id-less error (a 4xx answer) is about this request all the same.
    if (m.id !== call.upstreamId && !(m.id == null && isRpcError(m.error))) return {}
    // Neither a result nor an error: not an answer, which the client gets from the gateway instead.
    if (!isObject(m.result) && !isRpcError(m.error)) return {}
    const message: JsonRpc = { ...m, id: call.clientId ?? null }
    if (m.result) message.result = modernizeResult(call.method, m.result)
    return { message, final: true }
  }
  if (m.id !== undefined && m.id !== null) return { ask: true }
  const params = m.params ?? {}
  if (m.method === 'notifications/progress') {
    if (params['progressToken'] !== call.upstreamId || call.clientToken === undefined) return {}
    return { message: { ...m, params: { ...params, progressToken: call.clientToken } } }
  }
  if (m.method === 'notifications/message') {
    return logLevelAllows(call.logLevel, params['level']) ? { message: m } : {}
  }
  return {}
}

/** The answer the gateway gives a server-to-client request of the upstream on behalf of a 2026-07-28 client. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/patterns/mrtr */
export function answerForClient(m: JsonRpc): JsonRpc {
  return answerServerRequest(m, 'the gateway')
}
