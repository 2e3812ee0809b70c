/**
 * What real authorization servers need beyond the spec's minimum: provider-specific authorization parameters
 * (Google's `access_type=offline`), `prompt=consent` for OpenID providers asked for `offline_access`, and the
 * `resource` policy with its fallback for servers that refuse the parameter (Entra's AADSTS9010010).
 * @see https://openid.net/specs/openid-connect-core-1_0.html#OfflineAccess
 */
import type { AuthorizationServerMetadata } from '../shared/authorization-server.ts'
import { InvalidArgumentError, McpOAuthError, OAuthResponseError, SPEC } from '../shared/errors.ts'
import { parseScope } from '../shared/scope.ts'
import type { TokenStore } from './stores/store.ts'

/** Send the discovered `resource` (default), never send it, or send this value. @see https://www.rfc-editor.org/rfc/rfc8707#section-2 */
export type ResourceParameterPolicy = 'send' | 'omit' | { value: string }

/** Parameters the engine sets itself: an override would break PKCE, state, the redirect or the client binding. */
const PROTECTED = new Set([
  'state',
  'code_challenge',
  'code_challenge_method',
  'redirect_uri',
  'client_id',
  'response_type',
  'dpop_jkt',
  'scope',
  'request',
  'request_uri',
  'response_mode',
])

/**
 * Refuse provider-specific authorization parameters that would override what the engine must control;
 * `resource` is refused too (it has its own policy: `resourceParameter`).
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.1
 */
export function assertAuthorizationParams(params: Record<string, string> | undefined): void {
  for (const name of Object.keys(params ?? {})) {
    const lower = name.toLowerCase()
    if (PROTECTED.has(lower) || lower === 'resource') {
      throw new InvalidArgumentError(
        'protected_authorization_parameter',
        `the authorization parameter "${name.slice(0, 40)}" cannot be set by hand`,
        {
          spec: SPEC.rfc6749,
          hint:
            lower === 'resource'
              ? 'Use --resource URI or --resource-parameter omit instead of --authorize-param resource=….'
              : lower === 'scope'
                ? 'Use --scope "A B" instead of --authorize-param scope=….'
                : `mcp-oauth sets ${name} itself (PKCE, state, redirect); remove it from --authorize-param.`,
        },
      )
    }
  }
}

/**
 * Whether the authorization server is an OpenID provider: it lists the `openid` scope, or publishes the
 * ID-token signing algorithms every OpenID Connect Discovery document must carry.
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata
 */
export function isOpenIdProvider(metadata: AuthorizationServerMetadata): boolean {
  const m = metadata as AuthorizationServerMetadata & { id_token_signing_alg_values_supported?: unknown }
  return (
    metadata.scopes_supported?.includes('openid') === true ||
    Array.isArray(m.id_token_signing_alg_values_supported)
  )
}

/**
 * OpenID Connect Core §11: an OpenID provider ignores `offline_access` unless the request carries
 * `prompt=consent`, so no refresh token would come back and the person would sign in again at every expiry.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#OfflineAccess
 */
export function needsConsentPrompt(
  metadata: AuthorizationServerMetadata,
  scope: string | undefined,
): boolean {
  return parseScope(scope).includes('offline_access') && isOpenIdProvider(metadata)
}

/**
 * Whether an authorization or token error says the server refuses the `resource` parameter itself (Entra v2:
 * AADSTS9010010 "The resource parameter provided in the request doesn't match with the requested scopes").
 * A plain `invalid_target` is not one: it is the AS refusing to issue tokens for that resource, and retrying
 * without `resource` would let it fall back to a default audience another server accepts.
 * @see https://www.rfc-editor.org/rfc/rfc8707#section-2
 */
export function isResourceRefusal(e: unknown): boolean {
  if (!(e instanceof OAuthResponseError)) return false
  if (e.error !== 'invalid_target' && e.error !== 'invalid_request') return false
  const d = e.error_description ?? ''
  return (
    /AADSTS9010010/.test(d) || /resource parameter\b.*\b(doesn'?t|does not) match\b.*\bscopes?\b/i.test(d)
  )
}

/**
 * The error for an AS that refuses to issue tokens for this resource (`invalid_target`): never retried without
 * `resource`, which could yield a token for the AS's default audience instead.
 * @see https://www.rfc-editor.org/rfc/rfc8707#section-2
 */
export function targetRefusedError(e: OAuthResponseError, issuer: string, resource: string): McpOAuthError {
  return new McpOAuthError(
    'resource_not_served',
    `${issuer} refuses to issue tokens for ${resource} (invalid_target): the server may name an authorization server that does not serve it`,
    {
      spec: SPEC.rfc8707,
      hint: 'Check that this server really uses this authorization server; if the authorization server rejects the resource parameter itself, retry with --resource-parameter omit.',
      details: { issuer, resource, error: e.error },
      cause: e,
    },
  )
}

/** How long a refusal of `resource` is remembered before the parameter is tried again. @see https://www.rfc-editor.org/rfc/rfc8707#section-2 */
export const RESOURCE_REFUSAL_TTL_MS = 24 * 60 * 60 * 1000

/** Where the engine remembers that an issuer refused `resource` for one resource. @see https://www.rfc-editor.org/rfc/rfc8707#section-2 */
export function resourceRefusalKey(issuer: string, resource: string): string {
  return `resource-refused ${issuer} ${resource}`
}

/** What is remembered about an issuer that refused `resource` for one resource. @see https://www.rfc-editor.org/rfc/rfc8707#section-2 */
export interface ResourceRefusal {
  issuer: string
  resource: string
  error: string
  at: number
  expires_at: number
}

/** Whether this issuer was seen refusing `resource` for this resource lately (so it is omitted until expiry). @see https://www.rfc-editor.org/rfc/rfc8707#section-2 */
export async function resourceRefused(
  store: TokenStore,
  issuer: string,
  resource: string,
): Promise<ResourceRefusal | undefined> {
  const v = (await store.get<ResourceRefusal>(resourceRefusalKey(issuer, resource)))?.value
  return v && typeof v.expires_at === 'number' && v.expires_at > Date.now() ? v : undefined
}

/**
 * The `resource` value to send under a policy: the discovered one, a configured one, or none (policy `omit`, or
 * an issuer remembered to refuse it).
 * @see https://www.rfc-editor.org/rfc/rfc8707#section-2
 */
export function resourceToSend(
  policy: ResourceParameterPolicy | undefined,
  discovered: string,
  refused: boolean,
): string | undefined {
  if (policy === 'omit' || refused) return undefined
  if (policy && typeof policy === 'object') return policy.value
  return discovered
}
