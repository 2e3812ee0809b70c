/**
 * Discovery: challenge → Protected Resource Metadata → authorization server metadata, with a trace,
 * the 2025-03-26 legacy path, and caching that honours HTTP caching headers.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/authorization-server-discovery
 */
import {
  type AuthorizationServerMetadata,
  authorizationServerMetadataUrls,
  validateAuthorizationServerMetadata,
} from '../shared/authorization-server.ts'
import { McpOAuthError, ProtocolViolationError, SPEC, TransportError } from '../shared/errors.ts'
import {
  type ProtectedResourceMetadata,
  protectedResourceMetadataUrls,
  validateProtectedResourceMetadata,
} from '../shared/protected-resource.ts'
import { canonicalResource, isLoopbackUrl } from '../shared/resource.ts'
import { DEFAULT_TTL_MS, freshnessMs } from './freshness.ts'
import { type HttpOptions, requestJson } from './http.ts'
import { DiscoveryTrace } from './trace.ts'

export { freshnessMs } from './freshness.ts'

/** What discovery found for one server. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/authorization-server-discovery */
export interface DiscoveryResult {
  /** The canonical server URI the client was given. */
  server: string
  /** The `resource` value to send (PRM `resource` when present, else the canonical server URI). */
  resource: string
  prm?: ProtectedResourceMetadata
  /** Which URL the PRM came from. */
  prmUrl?: string
  issuer: string
  metadata: AuthorizationServerMetadata
  /** True on the 2025-03-26 path (no PRM): AS at the server origin, maybe default endpoints. */
  legacy: boolean
  /** True when no metadata was found at all and `/authorize`, `/token`, `/register` were assumed. */
  defaultEndpoints?: boolean
  /** True when the authorization server's endpoints were given by the user (no AS discovery). */
  givenEndpoints?: boolean
  /** Epoch ms after which this result should be fetched again. */
  expires_at: number
}

/**
 * Authorization server endpoints given by the user for a server that publishes no metadata (GitHub OAuth apps):
 * an RFC 8414 document whose `issuer` may be left out (then the PRM's first authorization server, else the
 * authorization endpoint's origin, names it).
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 */
export type GivenAuthorizationServerMetadata = Partial<AuthorizationServerMetadata>

/** Options for {@link discover}. */
export interface DiscoverOptions extends HttpOptions {
  /** Endpoints given by the user: used instead of AS discovery (the PRM is still read). */
  authorizationServer?: GivenAuthorizationServerMetadata
  /** `resource_metadata` from the server's challenge, if any. */
  resourceMetadataUrl?: string
  trace?: DiscoveryTrace
  /**
   * Which `resource_metadata` URLs to follow. `same-origin`: only the server's origin.
   * `https` (default): the server's origin, or any https URL that is not loopback when the server is not.
   */
  resourceMetadataPolicy?: 'same-origin' | 'https'
  /** Skip these issuers (e.g. one that just failed). */
  skipIssuers?: readonly string[]
}

function mayFollowResourceMetadata(url: string, server: string, policy: 'same-origin' | 'https'): boolean {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return false
  }
  const s = new URL(server)
  if (u.origin === s.origin) return true
  if (policy === 'same-origin') return false
  // Cross-origin: https only, and no hop from a remote server into this machine (SSRF).
  return u.protocol === 'https:' && (isLoopbackUrl(s) || !isLoopbackUrl(u))
}

/**
 * Find the Protected Resource Metadata: the challenge's `resource_metadata`, then path-inserted, then root.
 * Returns undefined when none exists (2025-03-26 servers).
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3
 */
export async function discoverProtectedResource(
  server: string,
  options: DiscoverOptions = {},
): Promise<{ prm: ProtectedResourceMetadata; url: string; ttl: number } | undefined> {
  const trace = options.trace
  const candidates: string[] = []
  if (options.resourceMetadataUrl) {
    if (
      mayFollowResourceMetadata(
        options.resourceMetadataUrl,
        server,
        options.resourceMetadataPolicy ?? 'https',
      )
    ) {
      candidates.push(options.resourceMetadataUrl)
    } else {
      trace?.add({
        kind: 'protected-resource-metadata',
        url: options.resourceMetadataUrl,
        outcome: 'rejected',
        code: 'resource_metadata_origin',
        note: 'resource_metadata points somewhere the origin policy does not allow',
      })
    }
  }
  for (const u of protectedResourceMetadataUrls(server)) if (!candidates.includes(u)) candidates.push(u)
  let lastError: McpOAuthError | undefined
  let unreachable: TransportError | undefined
  let answered = false
  for (const url of candidates) {
    let r: Awaited<ReturnType<typeof requestJson>>
    try {
      r = await requestJson(url, 'protected-resource-metadata', trace, options)
      answered = true
    } catch (e) {
      // A TLS failure applies to the whole origin: say so instead of trying the next URL there.
      if (e instanceof TransportError && !e.code.startsWith('tls_')) {
        unreachable ??= e
        continue
      }
      throw e
    }
    if (r.status !== 200 || r.json === undefined) {
      if (r.status === 200) r.step.outcome = 'invalid'
      continue
    }
    try {
      const prm = validateProtectedResourceMetadata(r.json, server)
      return { prm, url, ttl: freshnessMs(r.step.headers) }
    } catch (e) {
      r.step.outcome = 'invalid'
      if (e instanceof McpOAuthError) r.step.code = e.code
      // A PRM naming another resource is an attack or a misconfiguration, never a reason to keep looking.
      if (e instanceof McpOAuthError && e.code === 'resource_mismatch') throw e
      lastError = e as McpOAuthError
    }
  }
  if (lastError) throw lastError
  // Nothing answered at all: the server is unreachable, which is not the same as "has no metadata".
  if (!answered && unreachable) throw unreachable
  return undefined
}

/**
 * Fetch and validate one authorization server's metadata, trying the well-known URLs in MCP's order.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/authorization-server-discovery#authorization-server-metadata-discovery
 */
export async function discoverAuthorizationServer(
  issuer: string,
  options: DiscoverOptions & { legacy?: boolean } = {},
): Promise<{ metadata: AuthorizationServerMetadata; ttl: number } | undefined> {
  const trace = options.trace
  let mismatch: McpOAuthError | undefined
  for (const { url } of authorizationServerMetadataUrls(issuer)) {
    let r: Awaited<ReturnType<typeof requestJson>>
    try {
      r = await requestJson(url, 'authorization-server-metadata', trace, options)
    } catch (e) {
      if (e instanceof TransportError && !e.code.startsWith('tls_')) continue
      if (e instanceof ProtocolViolationError && e.code !== 'response_too_large') {
        // Move on, but if nothing else works this is the error worth showing.
        mismatch ??= e
        continue
      }
      throw e
    }
    // Any 4xx (CDNs answer 401/403 for unknown paths), 5xx or a 2xx other than 200 moves on to the next URL.
    if (r.status !== 200) continue
    try {
      const { metadata, warnings } = validateAuthorizationServerMetadata(r.json, issuer, {
        legacyIssuer: options.legacy ?? false,
        allowHttp: options.allowHttp ?? false,
      })
      for (const w of warnings) trace?.warn(w)
      return { metadata, ttl: freshnessMs(r.step.headers) }
    } catch (e) {
      r.step.outcome = 'invalid'
      if (e instanceof McpOAuthError) r.step.code = e.code
      if (e instanceof McpOAuthError && e.code === 'insecure_endpoint') throw e
      mismatch ??= e as McpOAuthError
    }
  }
  if (mismatch) throw mismatch
  return undefined
}

/**
 * Full discovery for a server: PRM (or the legacy path), then each listed authorization server in turn.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/authorization-server-discovery
 */
export async function discover(serverUrl: string, options: DiscoverOptions = {}): Promise<DiscoveryResult> {
  const server = canonicalResource(serverUrl)
  const trace = options.trace ?? new DiscoveryTrace()
  const opts = { ...options, trace }
  const found = await discoverProtectedResource(server, opts)
  if (options.authorizationServer) return withGivenMetadata(server, found, options.authorizationServer, opts)
  if (found) {
    const servers = (found.prm.authorization_servers ?? []).filter(
      (s) => !options.skipIssuers?.includes(s) && (isLoopbackUrl(server) || !isLoopbackUrl(s)),
    )
    if (servers.length === 0) {
      throw new ProtocolViolationError(
        'no_authorization_server',
        'Protected Resource Metadata lists no authorization server',
        {
          spec: 'https://www.rfc-editor.org/rfc/rfc9728#section-2',
          hint: "The server's operator must list its authorization server in `authorization_servers`.",
        },
      )
    }
    let firstError: unknown
    for (const issuer of servers) {
      try {
        const as = await discoverAuthorizationServer(issuer, opts)
        if (!as) continue
        assertNoLoopbackEndpoints(server, as.metadata)
        return {
          server,
          resource: found.prm.resource,
          prm: found.prm,
          prmUrl: found.url,
          issuer,
          metadata: as.metadata,
          legacy: false,
          expires_at: Date.now() + Math.min(found.ttl, as.ttl),
        }
      } catch (e) {
        firstError ??= e
      }
    }
    if (firstError) throw firstError
    throw new ProtocolViolationError(
      'authorization_server_metadata_not_found',
      `no metadata found for ${servers.join(', ')}`,
      {
        spec: SPEC.mcpDiscovery,
        hint: 'The authorization server publishes no RFC 8414 or OpenID metadata at the well-known URLs; its operator must publish it.',
        details: { issuers: servers },
      },
    )
  }
  // 2025-03-26: no PRM; the authorization server lives at the server's origin.
  const origin = new URL(server).origin
  const as = await discoverAuthorizationServer(origin, { ...opts, legacy: true })
  if (as) {
    assertNoLoopbackEndpoints(server, as.metadata)
    return {
      server,
      resource: server,
      // Credentials and sessions are bound to the origin that served the metadata, never to the issuer it
      // claims: a legacy document may name any issuer, and must not unlock credentials bound to a real one.
      // The claimed issuer still is what the callback's `iss` is compared with (metadata.issuer).
      issuer: origin,
      metadata: as.metadata,
      legacy: true,
      expires_at: Date.now() + as.ttl,
    }
  }
  trace.warn(
    `legacy (2025-03-26) server: no metadata at ${origin}; using default /authorize, /token, /register`,
  )
  return {
    server,
    resource: server,
    issuer: origin,
    metadata: {
      issuer: origin,
      authorization_endpoint: `${origin}/authorize`,
      token_endpoint: `${origin}/token`,
      registration_endpoint: `${origin}/register`,
      code_challenge_methods_supported: ['S256'],
      response_types_supported: ['code'],
    },
    legacy: true,
    defaultEndpoints: true,
    expires_at: Date.now() + DEFAULT_TTL_MS,
  }
}

/**
 * Discovery with the user's own authorization server endpoints: the PRM (when there is one) still gives
 * `resource` and scopes; AS metadata discovery is skipped. Endpoints must be https (http only on loopback).
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 */
function withGivenMetadata(
  server: string,
  found: Awaited<ReturnType<typeof discoverProtectedResource>>,
  given: GivenAuthorizationServerMetadata,
  options: DiscoverOptions & { trace: DiscoveryTrace },
): DiscoveryResult {
  const issuer =
    given.issuer ??
    found?.prm.authorization_servers?.[0] ??
    new URL(given.authorization_endpoint ?? given.token_endpoint ?? server).origin
  for (const key of [
    'authorization_endpoint',
    'token_endpoint',
    'revocation_endpoint',
    'registration_endpoint',
    'device_authorization_endpoint',
  ] as const) {
    const v = given[key]
    if (v !== undefined) assertGivenEndpoint(key, v, options.allowHttp ?? false)
  }
  if (!given.token_endpoint) {
    throw new ProtocolViolationError(
      'no_token_endpoint',
      'the given authorization server has no token_endpoint',
      {
        spec: 'https://www.rfc-editor.org/rfc/rfc8414#section-2',
        hint: 'Pass --token-endpoint URL (with --authorization-endpoint URL), or a complete --as-metadata FILE.',
      },
    )
  }
  options.trace.add({
    kind: 'authorization-server-metadata',
    url: issuer,
    outcome: 'skipped',
    note: 'endpoints given by the user; authorization server discovery skipped',
  })
  return {
    server,
    resource: found?.prm.resource ?? server,
    ...(found ? { prm: found.prm, prmUrl: found.url } : {}),
    issuer,
    // The user vouches for these endpoints; PKCE S256 is assumed unless the document says otherwise.
    metadata: {
      code_challenge_methods_supported: ['S256'],
      response_types_supported: ['code'],
      ...given,
      issuer,
    } as AuthorizationServerMetadata,
    legacy: false,
    givenEndpoints: true,
    expires_at: Date.now() + (found ? found.ttl : DEFAULT_TTL_MS),
  }
}

function assertGivenEndpoint(key: string, value: string, allowHttp: boolean): void {
  let u: URL | undefined
  try {
    u = new URL(value)
  } catch {
    u = undefined
  }
  if (u && (u.protocol === 'https:' || (u.protocol === 'http:' && (allowHttp || isLoopbackUrl(u))))) return
  throw new ProtocolViolationError('insecure_endpoint', `the given ${key} is not an https URL`, {
    spec: SPEC.mcpSecurity,
    hint: 'Give https endpoints (http only on loopback, or with --allow-http for a trusted development server).',
    details: { [key]: value.slice(0, 200) },
  })
}

/**
 * A server that is not on this machine may not point the client at this machine (SSRF): loopback or
 * unspecified addresses are refused for its authorization server and that server's endpoints.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations
 */
function assertNoLoopbackEndpoints(server: string, metadata: AuthorizationServerMetadata): void {
  if (isLoopbackUrl(server)) return
  for (const key of [
    'issuer',
    'authorization_endpoint',
    'token_endpoint',
    'registration_endpoint',
    'revocation_endpoint',
    'device_authorization_endpoint',
  ] as const) {
    const v = metadata[key]
    if (typeof v === 'string' && isLoopbackUrl(v)) {
      throw new ProtocolViolationError(
        'loopback_endpoint',
        `a remote server points the client at this machine (${key})`,
        {
          spec: SPEC.mcpSecurity,
          hint: 'The server metadata names a loopback address; its operator must publish real endpoints.',
          details: { [key]: v },
        },
      )
    }
  }
}
