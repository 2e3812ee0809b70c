/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728): well-known URLs and document validation.
 * @see https://www.rfc-editor.org/rfc/rfc9728
 */
import { ProtocolViolationError, SPEC } from './errors.ts'
import { canonicalResource, resourceCovers } from './resource.ts'

/** The RFC 9728 document, with the fields MCP uses named. @see https://www.rfc-editor.org/rfc/rfc9728#section-2 */
export interface ProtectedResourceMetadata {
  resource: string
  authorization_servers?: string[]
  scopes_supported?: string[]
  bearer_methods_supported?: string[]
  resource_name?: string
  resource_documentation?: string
  jwks_uri?: string
  dpop_signing_alg_values_supported?: string[]
  dpop_bound_access_tokens_required?: boolean
  [extension: string]: unknown
}

/** The RFC 9728 well-known suffix. @see https://www.rfc-editor.org/rfc/rfc9728#section-3.1 */
export const PRM_WELL_KNOWN = '/.well-known/oauth-protected-resource'

/**
 * Well-known PRM URLs for a server, in the order MCP clients try them: path-inserted, then root.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/authorization-server-discovery
 */
export function protectedResourceMetadataUrls(server: string | URL): string[] {
  const url = new URL(canonicalResource(server))
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  const root = `${url.origin}${PRM_WELL_KNOWN}`
  return path ? [`${url.origin}${PRM_WELL_KNOWN}${path}`, root] : [root]
}

function invalid(message: string, details: Record<string, unknown> = {}): never {
  throw new ProtocolViolationError('invalid_protected_resource_metadata', message, {
    spec: 'https://www.rfc-editor.org/rfc/rfc9728#section-2',
    hint: 'The MCP server publishes broken Protected Resource Metadata; its operator must fix the document.',
    details,
  })
}

function stringArray(doc: Record<string, unknown>, key: string): void {
  const v = doc[key]
  if (v === undefined) return
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    invalid(`"${key}" must be an array of strings`)
}

/**
 * Validate a PRM document by content and check that its `resource` names this server (RFC 9728 §3.3).
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3.3
 */
export function validateProtectedResourceMetadata(
  doc: unknown,
  server: string,
  options: { allowPrefix?: boolean } = {},
): ProtectedResourceMetadata {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) invalid('document is not a JSON object')
  const d = doc as Record<string, unknown>
  if (typeof d['resource'] !== 'string' || d['resource'] === '') invalid('"resource" is missing')
  for (const key of [
    'authorization_servers',
    'scopes_supported',
    'bearer_methods_supported',
    'dpop_signing_alg_values_supported',
  ])
    stringArray(d, key)
  const resource = d['resource'] as string
  const matches = options.allowPrefix === false ? false : resourceCovers(resource, server)
  if (!matches) {
    throw new ProtocolViolationError(
      'resource_mismatch',
      `Protected Resource Metadata is for ${resource.slice(0, 200)}, not for ${server}`,
      {
        spec: SPEC.rfc9728,
        hint: "The server's metadata names another resource; its operator must set `resource` to the server URL.",
        details: { resource, server },
      },
    )
  }
  return d as ProtectedResourceMetadata
}
