/**
 * What a session is configured with and what it persists: the options of `Session`, its stored record and the
 * redacted status view.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import { InteractionRequiredError, SPEC } from '../shared/errors.ts'
import { redactUrl } from '../shared/redact.ts'
import type { ResourceParameterPolicy } from './authorization-parameters.ts'
import type { Authorizer } from './authorizer.ts'
import type { DiscoveryResult, GivenAuthorizationServerMetadata } from './discovery.ts'
import type { FetchLike } from './http.ts'
import type { ClientIdentity } from './registration.ts'
import { DEFAULT_ACCOUNT, type TokenStore } from './stores/store.ts'
import type { TokenSet } from './tokens.ts'

/** How a session is configured. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export interface SessionOptions {
  /** The MCP server URL. */
  serverUrl: string
  store?: TokenStore
  /** How a person is asked to sign in; without one, interactive grants raise InteractionRequiredError. */
  authorizer?: Authorizer
  identity?: Partial<ClientIdentity>
  /** Scopes to request instead of the challenge/PRM choice. */
  scope?: string
  /** The `resource` value to send instead of the PRM's (for authorization servers that expect another form). */
  resource?: string
  /**
   * Whether to send `resource` at all: `send` (default), `omit`, or `{ value }` to send that value. Under `send`,
   * an AS that refuses the parameter (Entra: AADSTS9010010) gets one retry without it, remembered per issuer and resource for 24 h; a plain `invalid_target` is never retried.
   */
  resourceParameter?: ResourceParameterPolicy
  /** Provider-specific authorization parameters (Google: `{ access_type: 'offline' }`); never the engine's own. */
  authorizationParams?: Record<string, string>
  /**
   * The authorization server's endpoints, for servers that publish no metadata (GitHub OAuth apps): used instead
   * of AS discovery (the PRM is still read for `resource` and scopes). An RFC 8414 document, issuer optional.
   */
  authorizationServerMetadata?: GivenAuthorizationServerMetadata
  /**
   * Which of several sessions with this server (work and personal, two tenants): a name of letters, digits, `.`,
   * `_` or `-`. Default `default`, the session stores kept before accounts existed. A named account's sign-ins
   * ask the authorization server to authenticate again (`prompt=login`), so a browser signed in as someone else
   * never lends that identity to it.
   */
  account?: string
  /** Which grant: `auto` picks authorization code, or client credentials when that is all the AS offers. */
  grant?: 'auto' | 'authorization_code' | 'client_credentials'
  /** A workload identity assertion for the RFC 7523 jwt-bearer grant. @see https://www.rfc-editor.org/rfc/rfc7523 */
  workloadIdentity?: {
    assertion: string | (() => Promise<string>)
    /** The authorization server the assertion is for; without it, the first one used is remembered and enforced. */
    issuer?: string
  }
  /** Enterprise-managed authorization: ID token → ID-JAG at the IdP → jwt-bearer at the AS. */
  enterprise?: EnterpriseIdp
  /** DPoP: `auto` uses it when the AS advertises ES256. */
  dpop?: 'auto' | 'always' | 'never'
  fetch?: FetchLike
  /** Accept http:// endpoints on non-loopback hosts (named loosening). */
  allowHttp?: boolean
  /** Add offline_access when the AS lists it (default true). */
  offlineAccess?: boolean
  /** Step-up attempts per operation before giving up (default 2). */
  maxStepUps?: number
  /** Human-readable progress, never secrets. */
  log?: (message: string) => void
}

/** The enterprise IdP side of enterprise-managed authorization. @see https://modelcontextprotocol.io/extensions/auth/enterprise-managed-authorization */
export interface EnterpriseIdp {
  tokenEndpoint: string
  issuer?: string
  clientId: string
  clientSecret?: string
  idToken: string | (() => Promise<string>)
}

/** What is persisted for one (resource, issuer, client). */
export interface SessionRecord {
  server: string
  resource: string
  issuer: string
  client_id: string
  tokens: TokenSet
  dpop_jwk?: Record<string, unknown>
  updated_at: number
}

/** A redacted view for `status`: never a token value. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export interface SessionStatus {
  server: string
  /** The account, when not the default one. */
  account?: string
  signed_in: boolean
  resource?: string
  issuer?: string
  client_id?: string
  client_source?: string
  scope?: string
  token_type?: string
  expires_at?: string
  has_refresh_token?: boolean
  store: string
}

/**
 * The status view of a stored session record (or of none): redaction-free fields only, never a token value.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
export function describeSession(
  where: { server: string; account: string; store: string },
  r: SessionRecord | undefined,
  clientSource: string | undefined,
): SessionStatus {
  const account = where.account === DEFAULT_ACCOUNT ? {} : { account: where.account }
  if (!r) return { server: where.server, ...account, signed_in: false, store: where.store }
  return {
    server: where.server,
    ...account,
    signed_in: true,
    resource: r.resource,
    issuer: r.issuer,
    client_id: r.client_id,
    ...(clientSource ? { client_source: clientSource } : {}),
    ...(r.tokens.scope ? { scope: r.tokens.scope } : {}),
    token_type: r.tokens.token_type,
    ...(r.tokens.expires_at ? { expires_at: new Date(r.tokens.expires_at).toISOString() } : {}),
    has_refresh_token: Boolean(r.tokens.refresh_token),
    store: where.store,
  }
}

/** Whether a token is expired or close to it: 60 s, or a fifth of its lifetime for short-lived tokens. @see https://www.rfc-editor.org/rfc/rfc6749#section-6 */
export function expiringSoon(t: TokenSet, now = Date.now()): boolean {
  if (!t.expires_at) return false
  const skew = Math.min(60_000, (t.expires_at - t.issued_at) / 5)
  return t.expires_at - now <= skew
}

/** The error for a session that cannot go on without a person. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export function needSignIn(server: string): InteractionRequiredError {
  return new InteractionRequiredError('sign_in_required', `no usable session for ${redactUrl(server)}`, {
    spec: SPEC.mcpAuth,
    hint: `Sign in with: mcp-oauth login ${redactUrl(server)}`,
  })
}

/**
 * Whether a cached discovery result still answers: a challenge naming another resource_metadata means something
 * changed, and endpoints given now (or no longer given) make it stale whatever its age.
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-5.1
 */
export function sameDiscoverySource(
  d: DiscoveryResult,
  resourceMetadataUrl: string | undefined,
  given: GivenAuthorizationServerMetadata | undefined,
): boolean {
  return (
    (!resourceMetadataUrl || d.prmUrl === resourceMetadataUrl) &&
    Boolean(d.givenEndpoints) === Boolean(given) &&
    (!given ||
      (d.metadata.token_endpoint === given.token_endpoint &&
        d.metadata.authorization_endpoint === given.authorization_endpoint))
  )
}
