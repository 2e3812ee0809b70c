/**
 * The verifier seam: a token in, verified claims (or a typed rejection) out.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1
 */
import { McpOAuthError, type McpOAuthErrorOptions, SPEC, TransportError } from '../../shared/errors.ts'

/**
 * What a verifier learned from a valid access token, in mcp-oauth's words (wire names where they exist).
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-2.2
 */
export interface VerifiedToken {
  /** Issuer (`iss`) of the token. */
  issuer: string
  /** Subject (`sub`): the user or, for client credentials, the client. */
  subject?: string
  /** OAuth client the token was issued to (`client_id`, or `azp`). */
  clientId: string
  /** Granted scopes. */
  scopes: string[]
  /** Audiences (`aud`) of the token. */
  audience: string[]
  /** Expiry, seconds since the epoch. */
  expiresAt?: number
  /** JWK SHA-256 thumbprint the token is bound to (`cnf.jkt`, RFC 9449). */
  jkt?: string
  /** Every verified claim, for handlers that need more. */
  claims: Record<string, unknown>
  /** Until when (ms since the epoch) the kit may reuse this result without asking the verifier again. */
  cacheUntil?: number
}

/** What the resource server tells a verifier about the request. @see https://www.rfc-editor.org/rfc/rfc8707#section-2 */
export interface VerifyContext {
  /** Canonical URI of this resource; the token's audience must name it. */
  resource: string
}

/**
 * Verifies an access token. Throw {@link InvalidTokenError} for a bad token (401) and
 * {@link VerifierUnavailableError} when the verifier cannot decide (503).
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1
 */
export interface TokenVerifier {
  verify(token: string, context: VerifyContext): Promise<VerifiedToken>
  /** Audiences accepted besides the resource's own URIs (the verifier's option, honoured by `protect` too). */
  readonly additionalAudiences?: readonly string[]
}

/**
 * The token is missing, malformed, expired, revoked or not meant for this resource: answered 401 `invalid_token`.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1
 */
export class InvalidTokenError extends McpOAuthError {
  constructor(message: string, options: McpOAuthErrorOptions & { code?: string } = {}) {
    super(options.code ?? 'invalid_token', message, {
      spec: SPEC.rfc6750,
      hint: 'Obtain a new access token for this resource from the authorization server.',
      ...options,
    })
  }
}

/**
 * The verifier could not reach a decision (JWKS or introspection endpoint down, slow or broken): answered 503.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4
 */
export class VerifierUnavailableError extends TransportError {
  constructor(message: string, options: McpOAuthErrorOptions = {}) {
    super('verifier_unavailable', message, {
      spec: 'https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4',
      hint: "The resource server could not check the token with the authorization server; retry shortly, and its operator should check the authorization server's JWKS or introspection endpoint.",
      ...options,
    })
  }
}

/** Read a space-separated `scope` claim or an array `scp` claim. @see https://www.rfc-editor.org/rfc/rfc9068#section-2.2.3 */
export function scopesFromClaims(claims: Record<string, unknown>): string[] {
  const scope = claims['scope']
  if (typeof scope === 'string') return [...new Set(scope.split(' ').filter(Boolean))]
  const scp = claims['scp']
  if (Array.isArray(scp))
    return [...new Set(scp.filter((s): s is string => typeof s === 'string' && s !== ''))]
  if (typeof scp === 'string') return [...new Set(scp.split(' ').filter(Boolean))]
  return []
}

/** The audiences a token names, as a list. @see https://www.rfc-editor.org/rfc/rfc7519#section-4.1.3 */
export function audienceList(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud]
  if (Array.isArray(aud)) return aud.filter((a): a is string => typeof a === 'string')
  return []
}

/**
 * The audience values accepted for a resource: its canonical URI and the same with one trailing slash added or
 * removed (clients and authorization servers disagree on it).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#canonical-server-uri
 */
export function acceptedAudiences(resource: string): string[] {
  return resource.endsWith('/') ? [resource, resource.slice(0, -1)] : [resource, `${resource}/`]
}
