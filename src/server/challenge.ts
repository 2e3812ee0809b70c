/**
 * The answers a protected MCP endpoint gives when it refuses a request: 401 and 403 with RFC 6750 challenges
 * carrying `resource_metadata` (RFC 9728 §5.1) and `scope`, and 503 when the token cannot be checked.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#scope-challenge-handling
 */
import { formatChallenge } from '../shared/www-authenticate.ts'

/** Which challenge to send. @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1 */
export interface ChallengeOptions {
  /** URL of this resource's Protected Resource Metadata document. */
  resourceMetadata: string
  /** The full scope set the operation needs. */
  scope?: readonly string[]
  /** Omitted when the request had no token at all (RFC 6750 §3.1). */
  error?: 'invalid_token' | 'insufficient_scope' | 'invalid_request' | 'invalid_dpop_proof' | 'use_dpop_nonce'
  /** Human-readable reason; never contains a token. */
  errorDescription?: string
  /** DPoP algorithms accepted; adds a `DPoP` challenge next to the `Bearer` one (RFC 9449 §7.1). */
  dpopAlgorithms?: readonly string[]
  /** The scheme the client used, which carries the `error` (defaults to Bearer). */
  scheme?: 'Bearer' | 'DPoP'
  /** Realm, when the server wants one. */
  realm?: string
  /** A `DPoP-Nonce` to send with the answer (RFC 9449 §9). */
  dpopNonce?: string
}

const STATUS: Record<string, number> = {
  invalid_token: 401,
  invalid_dpop_proof: 401,
  use_dpop_nonce: 401,
  insufficient_scope: 403,
  invalid_request: 400,
}

/**
 * `WWW-Authenticate` values for a refusal: a Bearer challenge and, when DPoP is enabled, a DPoP challenge.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3
 */
export function challengeHeaders(options: ChallengeOptions): string[] {
  const scope = options.scope?.length ? options.scope.join(' ') : undefined
  const forScheme = (scheme: 'Bearer' | 'DPoP') => {
    const carriesError = (options.scheme ?? 'Bearer') === scheme
    return formatChallenge(scheme, {
      realm: options.realm,
      ...(scheme === 'DPoP' ? { algs: options.dpopAlgorithms?.join(' ') } : {}),
      error: carriesError ? options.error : undefined,
      error_description: carriesError ? options.errorDescription : undefined,
      scope,
      resource_metadata: options.resourceMetadata,
    })
  }
  const out = [forScheme('Bearer')]
  // The scheme the client used must carry the error, even when no DPoP algorithms were configured.
  if (options.dpopAlgorithms?.length || options.scheme === 'DPoP') out.push(forScheme('DPoP'))
  return out
}

/**
 * The refusal `Response`: 401 with no `error` for a missing token, 401 `invalid_token`, 403 `insufficient_scope`,
 * each with `resource_metadata` and `scope`, and a JSON body saying the same for humans.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#runtime-insufficient-scope-errors
 */
export function challengeResponse(options: ChallengeOptions): Response {
  const status = options.error ? (STATUS[options.error] ?? 401) : 401
  const headers = new Headers({
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'access-control-expose-headers': 'WWW-Authenticate',
    'access-control-allow-origin': '*',
  })
  for (const value of challengeHeaders(options)) headers.append('www-authenticate', value)
  if (options.dpopNonce) {
    headers.set('dpop-nonce', options.dpopNonce)
    headers.set('access-control-expose-headers', 'WWW-Authenticate, DPoP-Nonce')
  }
  const body: Record<string, unknown> = {}
  if (options.error) body['error'] = options.error
  body['error_description'] =
    options.errorDescription ??
    (options.error ? options.error : 'This MCP server needs an access token; see resource_metadata.')
  body['resource_metadata'] = options.resourceMetadata
  if (options.scope?.length) body['scope'] = options.scope.join(' ')
  return new Response(JSON.stringify(body), { status, headers })
}

/**
 * 503 for a token that could not be checked (JWKS or introspection down): the client should retry, not sign in
 * again.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4
 */
export function unavailableResponse(description: string, retryAfterSeconds = 5): Response {
  return new Response(JSON.stringify({ error: 'temporarily_unavailable', error_description: description }), {
    status: 503,
    headers: {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'retry-after': String(retryAfterSeconds),
      'access-control-allow-origin': '*',
    },
  })
}
