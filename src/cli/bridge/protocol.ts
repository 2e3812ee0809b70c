/**
 * Protocol-version bridging between a stdio host and a remote server: a 2025 host (initialize handshake,
 * sessions) with a 2026-07-28 server (stateless, `server/discover`, per-request `_meta`), and the reverse.
 * Pure message translation; the bridge does the I/O.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/versioning
 */

/** A JSON-RPC message as it travels. */
export type JsonRpc = {
  jsonrpc: '2.0'
  id?: string | number | null
  method?: string
  params?: Record<string, unknown>
  result?: Record<string, unknown>
  error?: { code: number; message: string; data?: unknown }
}

/** 2026-07-28 and later: stateless, per-request `_meta`. */
export const MODERN = '2026-07-28'
/** The newest pre-2026 revision, used when the bridge initializes a legacy server itself. */
export const LEGACY_DEFAULT = '2025-11-25'
export const LEGACY_VERSIONS = ['2025-03-26', '2025-06-18', '2025-11-25'] as const

/** `_meta` keys of the 2026-07-28 envelope. @see https://modelcontextprotocol.io/specification/2026-07-28/changelog */
export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
  logLevel: 'io.modelcontextprotocol/logLevel',
} as const

/** Which era a protocol version belongs to. */
export function isModern(version: unknown): boolean {
  return typeof version === 'string' && version >= MODERN
}

/** Whether a message is a request (has method and id). */
export function isRequest(m: JsonRpc): boolean {
  return typeof m.method === 'string' && m.id !== undefined && m.id !== null
}

/** Whether a message is a notification. */
export function isNotification(m: JsonRpc): boolean {
  return typeof m.method === 'string' && (m.id === undefined || m.id === null)
}

/** A JSON-RPC result for `id`. */
export function result(id: JsonRpc['id'], value: Record<string, unknown>): JsonRpc {
  return { jsonrpc: '2.0', id: id ?? null, result: value }
}

/** A JSON-RPC error for `id`. */
export function error(id: JsonRpc['id'], code: number, message: string, data?: unknown): JsonRpc {
  return { jsonrpc: '2.0', id: id ?? null, error: { code, message, ...(data === undefined ? {} : { data }) } }
}

/** What the host said about itself in `initialize` (legacy host) or `_meta` (modern host). */
export interface HostInfo {
  protocolVersion: string
  capabilities: Record<string, unknown>
  clientInfo: Record<string, unknown>
  logLevel?: string
}

/** Add the 2026 envelope to a legacy host's request or notification. @see https://modelcontextprotocol.io/specification/2026-07-28/changelog */
export function addEnvelope(m: JsonRpc, host: HostInfo): JsonRpc {
  const params = { ...(m.params ?? {}) }
  const meta = { ...((params['_meta'] as Record<string, unknown>) ?? {}) }
  meta[META.protocolVersion] = MODERN
  meta[META.clientCapabilities] ??= host.capabilities
  meta[META.clientInfo] ??= host.clientInfo
  if (host.logLevel) meta[META.logLevel] ??= host.logLevel
  params['_meta'] = meta
  return { ...m, params }
}

/** Remove the 2026 envelope before a message goes to a legacy server (unknown `_meta` keys are harmless, but tidy). */
export function stripEnvelope(m: JsonRpc): JsonRpc {
  const meta = m.params?.['_meta'] as Record<string, unknown> | undefined
  if (!meta) return m
  const rest = Object.fromEntries(
    Object.entries(meta).filter(([k]) => !k.startsWith('io.modelcontextprotocol/')),
  )
  const params = { ...m.params }
  if (Object.keys(rest).length) params['_meta'] = rest
  else delete params['_meta']
  return { ...m, params }
}

/** A legacy `initialize` result built from a modern `server/discover` result, at the host's version. */
export function initializeFromDiscover(
  hostVersion: string,
  discover: Record<string, unknown>,
): Record<string, unknown> {
  const meta = (discover['_meta'] as Record<string, unknown> | undefined) ?? {}
  const version = (LEGACY_VERSIONS as readonly string[]).includes(hostVersion) ? hostVersion : LEGACY_DEFAULT
  return {
    protocolVersion: version,
    capabilities: discover['capabilities'] ?? {},
    serverInfo: meta[META.serverInfo] ?? { name: 'remote MCP server', version: '0.0.0' },
    ...(typeof discover['instructions'] === 'string' ? { instructions: discover['instructions'] } : {}),
  }
}

/**
 * A 2025 server's `initialize` capabilities as a 2026-07-28 client behind a translation (the bridge, the gateway)
 * can use them: without `listChanged` (tools, prompts, resources) and `subscribe` (resources). A 2026-07-28 client
 * gets those notifications only on a `subscriptions/listen` stream, tagged with its subscription id; a 2025 server
 * knows no such request and neither translation makes one of its GET stream, so advertising them would promise
 * what never comes.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/patterns/subscriptions
 */
export function deliverableCapabilities(capabilities: unknown): Record<string, unknown> {
  if (!capabilities || typeof capabilities !== 'object' || Array.isArray(capabilities)) return {}
  const out: Record<string, unknown> = { ...capabilities }
  for (const name of ['tools', 'prompts', 'resources']) {
    const entry = out[name]
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) continue
    const { listChanged: _l, subscribe: _s, ...rest } = entry as Record<string, unknown>
    out[name] = rest
  }
  return out
}

/**
 * Change notifications a 2026-07-28 client receives only on a `subscriptions/listen` stream it opened for them
 * ("The server MUST NOT send notification types the client has not explicitly requested"). A translation that
 * offers no such stream (the bridge) drops them when a 2025 server sends them; request-scoped ones (progress,
 * log messages) are not in the list.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/patterns/subscriptions
 */
export const LISTEN_ONLY_NOTIFICATIONS: ReadonlySet<string> = new Set([
  'notifications/tools/list_changed',
  'notifications/prompts/list_changed',
  'notifications/resources/list_changed',
  'notifications/resources/updated',
])

/**
 * RFC 5424 severities, least severe first: the levels of `notifications/message`.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/server/utilities/logging#log-levels
 */
export const LOG_LEVELS: readonly string[] = [
  'debug',
  'info',
  'notice',
  'warning',
  'error',
  'critical',
  'alert',
  'emergency',
]

/**
 * Whether a 2026-07-28 client may get a log message at `level` on the stream of a request whose `_meta` asked for
 * `asked` (`io.modelcontextprotocol/logLevel`): only at or above it, and never when it asked for none.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/server/utilities/logging#per-request-log-level
 */
export function logLevelAllows(asked: unknown, level: unknown): boolean {
  const floor = LOG_LEVELS.indexOf(String(asked))
  return floor !== -1 && LOG_LEVELS.indexOf(String(level)) >= floor
}

/**
 * The answer a translation (`who`) gives a 2025 server's request on behalf of a 2026-07-28 client, which takes no
 * server-to-client requests (they became input requests): `ping` succeeds, anything else is an unknown method,
 * which is what a 2025 client without the roots/sampling/elicitation capability answers.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/patterns/mrtr
 */
export function answerServerRequest(m: JsonRpc, who: string): JsonRpc {
  if (m.method === 'ping') return result(m.id, {})
  return error(
    m.id,
    -32601,
    `${m.method} is not available: the client speaks 2026-07-28, which has no server-to-client requests, and ${who} does not turn them into input requests`,
  )
}

/**
 * The capabilities a translation declares to a 2025 server on behalf of a 2026-07-28 client: the client's own,
 * without those that let the server send it requests (`roots`, `sampling`, `elicitation`, and `tasks`, which only
 * augments them). A 2026-07-28 client offers them as input requests, which a 2025 server cannot make.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/patterns/mrtr
 */
export function legacyClientCapabilities(capabilities: unknown): Record<string, unknown> {
  if (!capabilities || typeof capabilities !== 'object' || Array.isArray(capabilities)) return {}
  const {
    roots: _r,
    sampling: _s,
    elicitation: _e,
    tasks: _t,
    ...rest
  } = capabilities as Record<string, unknown>
  return rest
}

/**
 * A modern `server/discover` result built from a legacy `initialize` result, with the capabilities a translated
 * session can deliver ({@link deliverableCapabilities}); a cacheable result, kept fresh for no time and private
 * (the answer came through one user's session).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/server/discover
 */
export function discoverFromInitialize(init: Record<string, unknown>): Record<string, unknown> {
  return {
    resultType: 'complete',
    supportedVersions: [MODERN],
    capabilities: deliverableCapabilities(init['capabilities']),
    _meta: { [META.serverInfo]: init['serverInfo'] ?? { name: 'remote MCP server', version: '0.0.0' } },
    ...(typeof init['instructions'] === 'string' ? { instructions: init['instructions'] } : {}),
    ttlMs: 0,
    cacheScope: 'private',
  }
}

/**
 * `_meta` key of a `server/discover` result that the mcp-oauth gateway made from a 2025 upstream's `initialize`:
 * the upstream's negotiated version. A client that also speaks that version (the bridge) talks it directly
 * rather than have every message translated twice.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/index#meta
 */
export const TRANSLATED_FROM_META_KEY = 'io.github.mcp-oauth-toolkit/translatedFrom'

/** What a host's first message says about its era. */
export function hostEra(first: JsonRpc): 'legacy' | 'modern' {
  if (first.method === 'initialize') return 'legacy'
  const v = (first.params?.['_meta'] as Record<string, unknown> | undefined)?.[META.protocolVersion]
  return isModern(v) || first.method === 'server/discover' ? 'modern' : 'legacy'
}

/** The host identity carried in a modern request's `_meta`. */
export function hostInfoFromMeta(m: JsonRpc): HostInfo {
  const meta = (m.params?.['_meta'] as Record<string, unknown> | undefined) ?? {}
  return {
    protocolVersion: String(meta[META.protocolVersion] ?? MODERN),
    capabilities: (meta[META.clientCapabilities] as Record<string, unknown>) ?? {},
    clientInfo: (meta[META.clientInfo] as Record<string, unknown>) ?? { name: 'mcp-oauth', version: '0.0.0' },
  }
}

/** Methods whose 2026-07-28 results are `CacheableResult`s (`ttlMs`, `cacheScope` required). @see https://modelcontextprotocol.io/specification/2026-07-28/server/utilities/caching */
const CACHEABLE = new Set([
  'server/discover',
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/read',
  'resources/templates/list',
])

/**
 * A legacy server's result as a modern host expects it: `resultType`, and for cacheable results a
 * conservative `ttlMs: 0` and `cacheScope: "private"` (the answer was for this user's token).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/changelog
 */
export function modernizeResult(
  method: string | undefined,
  value: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { resultType: 'complete', ...value }
  if (method && CACHEABLE.has(method)) {
    out['ttlMs'] ??= 0
    out['cacheScope'] ??= 'private'
  }
  return out
}

/** A value the peer chose (a method name, a log level), quoted and cut for one line. @see https://www.jsonrpc.org/specification#request_object */
export const quoted = (value: unknown, max = 100): string =>
  String(JSON.stringify(value === undefined ? '' : value)).slice(0, max)

/**
 * The answer (the bridge's, the gateway's) to a 2026-07-28 request whose `_meta` names a log level that is none of the
 * RFC 5424 ones: Invalid params, as such a server SHOULD answer (the request goes no further); undefined otherwise.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/server/utilities/logging#error-handling
 */
export function refuseLogLevel(m: JsonRpc): JsonRpc | undefined {
  const meta = m.params?.['_meta']
  if (!isRequest(m) || !meta || typeof meta !== 'object' || !Object.hasOwn(meta, META.logLevel))
    return undefined
  const level = (meta as Record<string, unknown>)[META.logLevel]
  if (typeof level === 'string' && LOG_LEVELS.includes(level)) return undefined
  return error(
    m.id,
    -32602,
    `Invalid params: _meta["${META.logLevel}"] is ${quoted(level, 60)}, not one of ${LOG_LEVELS.join(', ')}`,
  )
}
