/**
 * The resources (MCP servers) an authorization server issues tokens for, and their lifetimes.
 * @see https://www.rfc-editor.org/rfc/rfc8707
 */

/** A protected resource (MCP server) this authorization server issues tokens for. @see https://www.rfc-editor.org/rfc/rfc8707 */
export interface ResourceOptions {
  /** The resource's canonical URI; it becomes the token `aud`. */
  uri: string
  /** Every scope the resource understands. */
  scopes: readonly string[]
  /** Scopes requested when an authorization request names none (default: all of `scopes`). */
  defaultScopes?: readonly string[]
  /** `jwt` (RFC 9068, default) or `opaque` (validate by introspection). */
  accessTokenFormat?: 'jwt' | 'opaque'
  /** Access token lifetime in seconds (default {@link DEFAULT_ACCESS_TOKEN_TTL_SECONDS}). */
  accessTokenTtlSeconds?: number
}

/**
 * Default access-token lifetime: 10 minutes. A JWT stays valid wherever it is checked offline until it
 * expires, so this bounds how long sign-out or revocation can be ignored; refresh keeps sessions alive.
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-2.2.2
 */
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 600
