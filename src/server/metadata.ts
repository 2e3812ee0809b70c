/**
 * Protected Resource Metadata (RFC 9728) for one MCP server: the document and the routes that serve it, with
 * CORS so browser-based clients can read it.
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3
 */
import { InvalidArgumentError, SPEC } from '../shared/errors.ts'
import { PRM_WELL_KNOWN, type ProtectedResourceMetadata } from '../shared/protected-resource.ts'
import { canonicalResource, isLoopbackUrl } from '../shared/resource.ts'

/** What the metadata document says. @see https://www.rfc-editor.org/rfc/rfc9728#section-2 */
export interface MetadataOptions {
  /** The MCP server's URL, e.g. `https://mcp.example.com/mcp`; canonicalised. */
  resource: string | URL
  /** Issuer URLs of the authorization servers that issue tokens for it. */
  authorizationServers: readonly string[]
  /** Scopes a client should ask for to use the basics. */
  scopesSupported?: readonly string[]
  /** Human-readable name. */
  resourceName?: string
  /** URL of documentation for people. */
  resourceDocumentation?: string
  /** DPoP algorithms accepted, advertised as `dpop_signing_alg_values_supported`. */
  dpopAlgorithms?: readonly string[]
  /** Whether only DPoP-bound tokens are accepted. */
  dpopRequired?: boolean
  /** Serve the document at the root well-known URL even though the resource has a path. */
  alsoAtRoot?: boolean
  /** More members to publish. */
  extra?: Record<string, unknown>
}

/**
 * The RFC 9728 document for a resource.
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-2
 */
export function protectedResourceMetadata(options: MetadataOptions): ProtectedResourceMetadata {
  const resource = canonicalResource(options.resource)
  if (options.authorizationServers.length === 0) {
    throw new InvalidArgumentError('invalid_configuration', 'authorizationServers is empty', {
      spec: SPEC.rfc9728,
      hint: 'List the issuer URL of at least one authorization server that issues tokens for this resource.',
    })
  }
  for (const as of options.authorizationServers) {
    const u = new URL(as)
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopbackUrl(u)))
      throw new InvalidArgumentError('insecure_endpoint', `authorization server ${as} must use https://`, {
        spec: SPEC.mcpSecurity,
      })
  }
  const doc: ProtectedResourceMetadata = {
    ...options.extra,
    resource,
    authorization_servers: [...options.authorizationServers],
    bearer_methods_supported: ['header'],
  }
  if (options.scopesSupported) doc.scopes_supported = [...options.scopesSupported]
  if (options.resourceName) doc.resource_name = options.resourceName
  if (options.resourceDocumentation) doc.resource_documentation = options.resourceDocumentation
  if (options.dpopAlgorithms?.length) doc.dpop_signing_alg_values_supported = [...options.dpopAlgorithms]
  if (options.dpopRequired) doc.dpop_bound_access_tokens_required = true
  return doc
}

/**
 * The path-inserted metadata URL clients are pointed to in `resource_metadata`.
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3.1
 */
export function protectedResourceMetadataUrl(resource: string | URL): string {
  const url = new URL(canonicalResource(resource))
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  return `${url.origin}${PRM_WELL_KNOWN}${path}`
}

/**
 * The request paths that serve the document: the path-inserted one, and the root one when the resource has no
 * path (or `alsoAtRoot`).
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3.1
 */
export function protectedResourceMetadataPaths(resource: string | URL, alsoAtRoot = false): string[] {
  const inserted = new URL(protectedResourceMetadataUrl(resource)).pathname
  return inserted === PRM_WELL_KNOWN || !alsoAtRoot ? [inserted] : [inserted, PRM_WELL_KNOWN]
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type, mcp-protocol-version',
  'access-control-max-age': '86400',
}

/**
 * A route handler answering the metadata paths (GET/HEAD with the document, OPTIONS preflight, 405 otherwise)
 * and `undefined` for every other path.
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3.2
 */
export function metadataRoute(options: MetadataOptions): (request: Request) => Response | undefined {
  const doc = protectedResourceMetadata(options)
  const body = JSON.stringify(doc)
  const paths = new Set(protectedResourceMetadataPaths(options.resource, options.alsoAtRoot))
  return (request) => {
    const pathname = pathOf(request.url)
    if (pathname === undefined || !paths.has(pathname.length > 1 ? pathname.replace(/\/$/, '') : pathname))
      return undefined
    if (request.method === 'OPTIONS') return new Response(null, { status: 204, headers: CORS })
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return new Response(JSON.stringify({ error: 'method_not_allowed' }), {
        status: 405,
        headers: { ...CORS, allow: 'GET, HEAD, OPTIONS', 'content-type': 'application/json' },
      })
    return new Response(request.method === 'HEAD' ? null : body, {
      status: 200,
      headers: { ...CORS, 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
    })
  }
}

function pathOf(url: string): string | undefined {
  // A cheap split avoids a full URL parse on every MCP request that only needs the path.
  const start = url.indexOf('/', url.indexOf('//') + 2)
  if (start < 0) return '/'
  let end = url.length
  const q = url.indexOf('?', start)
  if (q >= 0) end = q
  const h = url.indexOf('#', start)
  if (h >= 0 && h < end) end = h
  return url.slice(start, end)
}
