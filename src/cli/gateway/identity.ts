/**
 * The signed-in identity the gateway hands its upstream instead of the access token (no token passthrough):
 * subject, granted scopes and client id, in headers a client can never set itself.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/security_best_practices#token-passthrough
 */
import type { AuthInfo } from '../../server/index.ts'

/** Header names, lower case (HTTP names are case-insensitive). @see https://modelcontextprotocol.io/specification/2026-07-28/basic/security_best_practices#token-passthrough */
export const IDENTITY_HEADERS = {
  subject: 'x-mcp-oauth-subject',
  scopes: 'x-mcp-oauth-scopes',
  client: 'x-mcp-oauth-client',
} as const

// Printable ASCII without '%' goes as is; anything else is percent-encoded (UTF-8), so `decodeURIComponent`
// always gives back the original value and no value can break the header line.
function headerValue(value: string): string {
  return /^[\x21-\x24\x26-\x7e]*$/.test(value) ? value : encodeURIComponent(value)
}

/**
 * Headers for the upstream request: the client's own request headers without credentials (Authorization, DPoP,
 * cookies) or identity headers it tried to set, plus the verified identity.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-2.1
 */
export function identityHeaders(source: Headers, authInfo: AuthInfo): Headers {
  const headers = new Headers(source)
  for (const name of ['authorization', 'dpop', 'cookie', ...Object.values(IDENTITY_HEADERS)])
    headers.delete(name)
  for (const name of [...headers.keys()]) if (name.startsWith('x-mcp-oauth-')) headers.delete(name)
  const subject = authInfo.extra?.['subject']
  if (typeof subject === 'string') headers.set(IDENTITY_HEADERS.subject, headerValue(subject))
  headers.set(IDENTITY_HEADERS.scopes, authInfo.scopes.map(headerValue).join(' '))
  if (authInfo.clientId) headers.set(IDENTITY_HEADERS.client, headerValue(authInfo.clientId))
  return headers
}

/** The identity the gateway put in headers after checking the token (for a stdio child's `_meta`); never the token itself. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-passthrough */
export function identityFromHeaders(request: Request | undefined): Record<string, unknown> | undefined {
  const subject = request?.headers.get('x-mcp-oauth-subject')
  if (!request || !subject) return undefined
  // Values may be percent-encoded (non-ASCII subjects); decoding a plain value changes nothing.
  const decode = (v: string) => {
    try {
      return decodeURIComponent(v)
    } catch {
      return v
    }
  }
  const scopes = (request.headers.get('x-mcp-oauth-scopes') ?? '').split(/\s+/).filter(Boolean).map(decode)
  const clientId = request.headers.get('x-mcp-oauth-client')
  return { subject: decode(subject), scopes, ...(clientId ? { client_id: decode(clientId) } : {}) }
}
