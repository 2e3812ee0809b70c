/**
 * Dynamic Client Registration with MCP defaults, applied before oidc-provider sees the request:
 * strict redirect URI checks, `native` for loopback and private-use schemes, default scopes, refresh for
 * every code client.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/client-registration
 */
import { isLoopbackUrl } from '../shared/resource.ts'

/** Registration limits and defaults. @see https://www.rfc-editor.org/rfc/rfc7591#section-2 */
export interface RegistrationPolicy {
  /**
   * Resource scopes every registration includes. A client that registers none gets them; one that registers
   * some gets them added, because oidc-provider caps requests by the registered `scope` and MCP clients
   * register with their first challenge's scope, then need more at step-up.
   */
  defaultScopes: readonly string[]
  /** Most redirect URIs one client may register. Default 20. */
  maxRedirectUris?: number
}

/** An RFC 7591 error answer. @see https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2 */
export interface RegistrationError {
  error: 'invalid_redirect_uri' | 'invalid_client_metadata'
  error_description: string
}

const FORBIDDEN_SCHEMES = new Set([
  'javascript:',
  'data:',
  'vbscript:',
  'file:',
  'blob:',
  'about:',
  'filesystem:',
])

/** Why a redirect URI is refused, or undefined when it is acceptable. @see https://www.rfc-editor.org/rfc/rfc9700#section-4.1 */
export function redirectUriProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2000)
    return 'must be a URL of at most 2000 characters'
  const url = URL.parse(value)
  if (!url) return 'is not an absolute URL'
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return `uses the forbidden scheme ${url.protocol}`
  if (url.hash || value.includes('#')) return 'must not contain a fragment'
  if (url.protocol === 'http:' && !isLoopbackUrl(url)) return 'uses http on a non-loopback host; use https'
  if (url.protocol !== 'http:' && url.protocol !== 'https:' && !url.protocol.slice(0, -1).includes('.')) {
    return 'private-use schemes must be reverse domain names such as com.example.app:/callback'
  }
  return undefined
}

/** Whether a redirect URI marks a native application (loopback http or a private-use scheme). @see https://www.rfc-editor.org/rfc/rfc8252#section-7 */
export function isNativeRedirectUri(value: string): boolean {
  const url = URL.parse(value)
  if (!url) return false
  if (url.protocol === 'http:' || url.protocol === 'https:') return isLoopbackUrl(url)
  return true
}

/**
 * Validates a registration request and fills MCP defaults; returns the metadata to register or an error.
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export function prepareRegistration(
  body: unknown,
  policy: RegistrationPolicy,
): { metadata: Record<string, unknown> } | { error: RegistrationError } {
  const invalid = (error_description: string): { error: RegistrationError } => ({
    error: { error: 'invalid_client_metadata', error_description },
  })
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return invalid('the body must be a JSON object')
  const metadata: Record<string, unknown> = { ...(body as Record<string, unknown>) }
  const uris = metadata['redirect_uris']
  const grantTypes = metadata['grant_types'] ?? ['authorization_code', 'refresh_token']
  if (!Array.isArray(grantTypes) || grantTypes.some((g) => typeof g !== 'string')) {
    return invalid('grant_types must be an array of strings')
  }
  const usesCode = grantTypes.includes('authorization_code')
  if (uris !== undefined || usesCode) {
    if (!Array.isArray(uris) || uris.length === 0) {
      return {
        error: {
          error: 'invalid_redirect_uri',
          error_description: 'redirect_uris must be a non-empty array',
        },
      }
    }
    const max = policy.maxRedirectUris ?? 20
    if (uris.length > max) {
      return {
        error: {
          error: 'invalid_redirect_uri',
          error_description: `at most ${max} redirect_uris may be registered`,
        },
      }
    }
    for (const uri of uris) {
      const problem = redirectUriProblem(uri)
      if (problem) {
        return {
          error: {
            error: 'invalid_redirect_uri',
            error_description: `redirect URI ${JSON.stringify(String(uri).slice(0, 100))} ${problem}`,
          },
        }
      }
    }
    if (metadata['application_type'] === undefined) {
      metadata['application_type'] = (uris as string[]).every(isNativeRedirectUri) ? 'native' : 'web'
    }
  }
  if (usesCode && !grantTypes.includes('refresh_token')) {
    // MCP clients need refresh; oidc-provider only issues it to clients allowed the grant type.
    metadata['grant_types'] = [...grantTypes, 'refresh_token']
  }
  const scope = metadata['scope']
  if (scope !== undefined && typeof scope !== 'string') return invalid('scope must be a string')
  const registered = new Set([...(scope ?? '').split(' ').filter(Boolean), ...policy.defaultScopes])
  if (registered.size) metadata['scope'] = [...registered].join(' ')
  else delete metadata['scope']
  return { metadata }
}
