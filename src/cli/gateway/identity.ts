/**
 * The signed-in identity the gateway hands its upstream instead of the access token (no token passthrough):
 * subject, granted scopes and client id, in headers a client can never set itself.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/security_best_practices#token-passthrough
 */
import { createHash } from 'node:crypto'
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

// Set only by the gateway on the request it builds after verifying the token: a client cannot forge it (it is not
// a header) and the upstream never sees it (it travels with the Request object, not on the wire). `expiresAt` only
// when the token is the principal: a subject outlives each of its tokens.
const principals = new WeakMap<Request, { key: string; expiresAt?: number }>()

/**
 * Who a verified token speaks for, as a key for state the gateway keeps per principal (the era translation's
 * upstream 2025 sessions). With a subject: issuer, subject and client, so a refreshed token is the same principal.
 * Without one (an introspection answer may omit `sub`), nothing ties two tokens to one principal: the token is the
 * principal, keyed by its SHA-256 (never the token itself), so callers never share state they cannot tell apart.
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-2.2
 */
export function principalKey(authInfo: AuthInfo): string {
  return hasSubject(authInfo)
    ? JSON.stringify([
        'sub',
        authInfo.extra?.['issuer'] ?? '',
        authInfo.extra?.['subject'],
        authInfo.clientId ?? '',
      ])
    : JSON.stringify(['token', createHash('sha256').update(authInfo.token).digest('base64url')])
}

function hasSubject(authInfo: AuthInfo): boolean {
  const subject = authInfo.extra?.['subject']
  return typeof subject === 'string' && subject !== ''
}

/** `request` marked as sent on behalf of the token in `authInfo` (see {@link principalOf}). @see https://modelcontextprotocol.io/specification/2026-07-28/basic/security_best_practices#token-passthrough */
export function forPrincipal(request: Request, authInfo: AuthInfo): Request {
  const key = principalKey(authInfo)
  const { expiresAt } = authInfo
  principals.set(request, !hasSubject(authInfo) && expiresAt !== undefined ? { key, expiresAt } : { key })
  return request
}

/**
 * `request` marked with a key {@link principalOf} already gave: for a request the gateway builds itself on behalf
 * of a principal it verified earlier (the era translation's own messages in that principal's upstream session).
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/security_best_practices#session-hijacking
 */
export function asPrincipal(request: Request, key: string | undefined): Request {
  if (key !== undefined) principals.set(request, { key })
  return request
}

/** The principal key the gateway marked `request` with, or undefined for a request it did not forward. @see https://modelcontextprotocol.io/specification/2025-11-25/basic/security_best_practices#session-hijacking */
export function principalOf(request: Request): string | undefined {
  return principals.get(request)?.key
}

/**
 * When the principal of `request` ends, in seconds since the epoch: its token's `exp` when the token is the
 * principal (no subject); undefined when a subject names it (a refreshed token is the same principal) or the
 * token's lifetime is unknown.
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2
 */
export function principalExpiry(request: Request): number | undefined {
  return principals.get(request)?.expiresAt
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
