/**
 * What signing out did at the authorization server, token by token (RFC 7009): the truth `logout` reports.
 * @see https://www.rfc-editor.org/rfc/rfc7009
 */
import { McpOAuthError, OAuthResponseError, SPEC } from '../shared/errors.ts'
import { revokeToken } from './tokens.ts'

/** A revocation that failed during `logout`: which token (or the discovery before it) and why. */
export interface LogoutFailure {
  token: 'refresh_token' | 'access_token' | 'discovery'
  error: McpOAuthError
}

/**
 * What `Session.logout` did (RFC 7009). `*_revoked` is absent when that token was not sent (none stored, no
 * revocation endpoint); `access_token_revoked: true` is the AS's 200, which proves nothing for a self-contained
 * (JWT) access token: RFC 7009 §2.2 answers 200 for tokens it does not know too.
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2
 */
export interface LogoutResult {
  signed_in: boolean
  /** The AS answered 200 for at least one token. */
  revoked: boolean
  refresh_token_revoked?: boolean
  access_token_revoked?: boolean
  /**
   * Why no token was sent: the AS offers no revocation endpoint, the server now names another AS than the one
   * that issued the tokens (they go only to their issuer), or the client registration is gone from the store.
   */
  not_sent?: 'no_revocation_endpoint' | 'issuer_changed' | 'no_client'
  failures?: LogoutFailure[]
}

/** Revoke one token, recording a failure instead of throwing. @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2.1 */
export async function revokeOne(
  ctx: Parameters<typeof revokeToken>[0],
  token: string,
  hint: 'access_token' | 'refresh_token',
  failures: LogoutFailure[],
): Promise<boolean> {
  try {
    return await revokeToken(ctx, token, hint)
  } catch (e) {
    // RFC 7009 §2.2.1: the AS says it cannot revoke this type (a JWT access token): an answer, not a failure.
    if (e instanceof OAuthResponseError && e.error === 'unsupported_token_type') return false
    failures.push({ token: hint, error: toMcpOAuthError(e) })
    return false
  }
}

/** Any thrown value as a typed revocation error. @see https://www.rfc-editor.org/rfc/rfc7009 */
export function toMcpOAuthError(e: unknown): McpOAuthError {
  if (e instanceof McpOAuthError) return e
  return new McpOAuthError('revocation_failed', e instanceof Error ? e.message : String(e), {
    spec: SPEC.rfc7009,
    hint: 'Run `mcp-oauth doctor <url>` to see why; the tokens stay valid at the authorization server until they expire.',
  })
}
