/**
 * Canonical MCP server URIs (the RFC 8707 `resource` value) and how two of them are compared.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#canonical-server-uri
 */
import { InvalidArgumentError, SPEC } from './errors.ts'

/**
 * The canonical URI of an MCP server: lower-case scheme and host, no fragment, no default port,
 * no trailing slash on an empty path.
 * @see https://www.rfc-editor.org/rfc/rfc8707#section-2
 */
export function canonicalResource(input: string | URL): string {
  let url: URL
  try {
    url = new URL(String(input))
  } catch (cause) {
    throw new InvalidArgumentError(
      'invalid_resource_uri',
      `not an absolute URL: ${String(input).slice(0, 200)}`,
      {
        spec: SPEC.rfc8707,
        hint: 'Pass the full server URL, including https://',
        cause,
      },
    )
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidArgumentError('invalid_resource_uri', `unsupported scheme ${url.protocol}`, {
      spec: SPEC.rfc8707,
      hint: 'MCP servers are reached over https:// (http:// only on loopback)',
    })
  }
  url.hash = ''
  url.username = ''
  url.password = ''
  if (url.pathname === '/' && url.search === '') return url.origin
  return url.href
}

/**
 * Whether two resource identifiers name the same server, tolerating one trailing slash.
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3.3
 */
export function sameResource(a: string, b: string): boolean {
  let ca: string
  let cb: string
  try {
    ca = canonicalResource(a)
    cb = canonicalResource(b)
  } catch {
    return false
  }
  if (ca === cb) return true
  const strip = (s: string) => (s.endsWith('/') ? s.slice(0, -1) : s)
  return strip(ca) === strip(cb)
}

/**
 * Whether `candidate` (a PRM `resource`) covers `server`: the same resource, or a prefix of it on a path boundary.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#canonical-server-uri
 */
export function resourceCovers(candidate: string, server: string): boolean {
  if (sameResource(candidate, server)) return true
  let c: URL
  let s: URL
  try {
    c = new URL(canonicalResource(candidate))
    s = new URL(canonicalResource(server))
  } catch {
    return false
  }
  if (c.origin !== s.origin || c.search !== '') return false
  const prefix = c.pathname.endsWith('/') ? c.pathname : `${c.pathname}/`
  return s.pathname.startsWith(prefix)
}

/**
 * Whether a URL is on this machine (127.0.0.0/8, ::1, localhost), where plain http is acceptable.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-8.3
 */
export function isLoopbackUrl(input: string | URL): boolean {
  let host: string
  try {
    host = new URL(String(input)).hostname
  } catch {
    return false
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return true
  // Unspecified addresses reach this machine too, and IPv4-mapped forms of 127/8 are the same hosts.
  if (host === '[::1]' || host === '[::]' || host === '0.0.0.0') return true
  if (/^\[::ffff:(7f[0-9a-f]{2}:[0-9a-f]{1,4}|127\.\d{1,3}\.\d{1,3}\.\d{1,3})\]$/.test(host)) return true
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}
