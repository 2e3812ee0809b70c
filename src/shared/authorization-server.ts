/**
 * Authorization server metadata (RFC 8414 / OpenID Connect Discovery): candidate URLs and validation.
 * @see https://www.rfc-editor.org/rfc/rfc8414
 */
import { ProtocolViolationError, SPEC } from './errors.ts'
import { isLoopbackUrl } from './resource.ts'

/** RFC 8414 metadata with the fields MCP uses named. @see https://www.rfc-editor.org/rfc/rfc8414#section-2 */
export interface AuthorizationServerMetadata {
  issuer: string
  authorization_endpoint?: string
  token_endpoint?: string
  registration_endpoint?: string
  revocation_endpoint?: string
  introspection_endpoint?: string
  device_authorization_endpoint?: string
  jwks_uri?: string
  scopes_supported?: string[]
  response_types_supported?: string[]
  grant_types_supported?: string[]
  code_challenge_methods_supported?: string[]
  token_endpoint_auth_methods_supported?: string[]
  token_endpoint_auth_signing_alg_values_supported?: string[]
  authorization_response_iss_parameter_supported?: boolean
  client_id_metadata_document_supported?: boolean
  dpop_signing_alg_values_supported?: string[]
  [extension: string]: unknown
}

/** Which well-known form a candidate URL uses. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/authorization-server-discovery */
export type MetadataKind =
  | 'oauth-path-insert'
  | 'oidc-path-insert'
  | 'oidc-path-append'
  | 'oauth-root'
  | 'oidc-root'

/**
 * Candidate metadata URLs for an issuer, in MCP's priority order; a path issuer also tries the root last.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/authorization-server-discovery#authorization-server-metadata-discovery
 */
export function authorizationServerMetadataUrls(issuer: string): { url: string; kind: MetadataKind }[] {
  const u = new URL(issuer)
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '')
  if (!path) {
    return [
      { url: `${u.origin}/.well-known/oauth-authorization-server`, kind: 'oauth-root' },
      { url: `${u.origin}/.well-known/openid-configuration`, kind: 'oidc-root' },
    ]
  }
  return [
    { url: `${u.origin}/.well-known/oauth-authorization-server${path}`, kind: 'oauth-path-insert' },
    { url: `${u.origin}/.well-known/openid-configuration${path}`, kind: 'oidc-path-insert' },
    { url: `${u.origin}${path}/.well-known/openid-configuration`, kind: 'oidc-path-append' },
    { url: `${u.origin}/.well-known/oauth-authorization-server`, kind: 'oauth-root' },
  ]
}

function invalid(message: string, details: Record<string, unknown> = {}): never {
  throw new ProtocolViolationError('invalid_authorization_server_metadata', message, {
    spec: 'https://www.rfc-editor.org/rfc/rfc8414#section-2',
    hint: "The authorization server's metadata is broken; its operator must fix the document.",
    details,
  })
}

const ENDPOINTS = [
  'authorization_endpoint',
  'token_endpoint',
  'registration_endpoint',
  'revocation_endpoint',
  'introspection_endpoint',
  'device_authorization_endpoint',
  'jwks_uri',
] as const

/** Options for {@link validateAuthorizationServerMetadata}. */
export interface ValidateMetadataOptions {
  /** Accept an `issuer` that differs from the one used to build the URL (2025-03-26 legacy servers only). */
  legacyIssuer?: boolean
  /** Accept http:// endpoints on non-loopback hosts. */
  allowHttp?: boolean
}

/**
 * Validate AS metadata by content: issuer echo (RFC 8414 §3.3), endpoint URLs, transport security.
 * Returns the document and, on the legacy path, a warning instead of an issuer error.
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3.3
 */
export function validateAuthorizationServerMetadata(
  doc: unknown,
  expectedIssuer: string,
  options: ValidateMetadataOptions = {},
): { metadata: AuthorizationServerMetadata; warnings: string[] } {
  const warnings: string[] = []
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) invalid('document is not a JSON object')
  const d = doc as Record<string, unknown>
  if (typeof d['issuer'] !== 'string' || !d['issuer']) invalid('"issuer" is missing')
  if (d['issuer'] !== expectedIssuer) {
    if (!options.legacyIssuer) {
      throw new ProtocolViolationError(
        'issuer_mismatch',
        `metadata issuer ${String(d['issuer']).slice(0, 200)} is not ${expectedIssuer}`,
        {
          spec: SPEC.rfc8414,
          hint: 'The authorization server metadata names another issuer; its operator must make `issuer` match the URL it is served for.',
          details: { expected: expectedIssuer, actual: d['issuer'] },
        },
      )
    }
    warnings.push(
      `legacy (2025-03-26) server: metadata issuer ${String(d['issuer'])} differs from ${expectedIssuer}; accepted on the legacy path only`,
    )
  }
  for (const key of ENDPOINTS) {
    const v = d[key]
    if (v === undefined) continue
    if (typeof v !== 'string') invalid(`"${key}" must be a string`)
    let url: URL
    try {
      url = new URL(v)
    } catch {
      invalid(`"${key}" is not an absolute URL`, { [key]: v })
    }
    if (
      url.protocol !== 'https:' &&
      !(url.protocol === 'http:' && (options.allowHttp || isLoopbackUrl(url)))
    ) {
      throw new ProtocolViolationError(
        'insecure_endpoint',
        `"${key}" uses ${url.protocol} on a non-loopback host`,
        {
          spec: SPEC.mcpSecurity,
          hint: 'Authorization server endpoints must use https://; pass allowHttp (CLI: --allow-http) only for trusted development servers.',
          details: { [key]: v },
        },
      )
    }
  }
  for (const key of [
    'scopes_supported',
    'code_challenge_methods_supported',
    'grant_types_supported',
    'token_endpoint_auth_methods_supported',
    'response_types_supported',
  ]) {
    const v = d[key]
    if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== 'string')))
      invalid(`"${key}" must be an array of strings`)
  }
  return { metadata: d as AuthorizationServerMetadata, warnings }
}

/**
 * Refuse an authorization server that cannot do PKCE with S256.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations
 */
export function assertPkceS256(metadata: AuthorizationServerMetadata): void {
  const methods = metadata.code_challenge_methods_supported
  if (!methods?.includes('S256')) {
    throw new ProtocolViolationError(
      'pkce_not_supported',
      methods
        ? `authorization server offers PKCE ${methods.join(', ')} but not S256`
        : 'authorization server metadata does not list code_challenge_methods_supported',
      {
        spec: SPEC.mcpSecurity,
        hint: 'The authorization server must support PKCE with S256 and say so in code_challenge_methods_supported.',
        details: { code_challenge_methods_supported: methods },
      },
    )
  }
}
