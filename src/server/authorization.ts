/**
 * Reading the `Authorization` header of a request to a protected resource: the Bearer (RFC 6750) and DPoP
 * (RFC 9449) schemes, with the length checked before anything else.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-2.1
 */

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/** The token and scheme of an `Authorization` header, a reason it is unusable, or `undefined` for none. */
export type ParsedAuthorization =
  | { scheme: 'Bearer' | 'DPoP'; token: string }
  | { scheme: 'Bearer' | 'DPoP'; error: string }
  | undefined

/**
 * Read `Authorization: Bearer|DPoP <token>`; other schemes count as no token. Length is checked before any
 * other work so a 100 KB header costs nothing.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-2.1
 */
export function parseAuthorization(header: string | null, maxTokenLength = 8192): ParsedAuthorization {
  if (header === null) return undefined
  const space = header.indexOf(' ')
  const rawScheme = (space < 0 ? header : header.slice(0, space)).toLowerCase()
  const scheme = rawScheme === 'bearer' ? 'Bearer' : rawScheme === 'dpop' ? 'DPoP' : undefined
  if (!scheme) return undefined
  if (header.length > maxTokenLength + 16)
    return { scheme, error: `access token is longer than ${maxTokenLength} bytes` }
  const token = space < 0 ? '' : header.slice(space + 1).trim()
  if (token === '') return { scheme, error: 'Authorization header has no token' }
  if (!B64TOKEN.test(token))
    return { scheme, error: 'Authorization header holds more than one token or invalid characters' }
  return { scheme, token }
}
