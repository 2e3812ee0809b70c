/**
 * The authorization request: PKCE S256, state, `resource`, scope selection; and the callback's validation
 * (RFC 9207 `iss` per MCP's four-row table, then state, then error or code).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#authorization-response-validation
 */
import * as oauth from 'oauth4webapi'
import { type AuthorizationServerMetadata, assertPkceS256 } from '../shared/authorization-server.ts'
import { OAuthResponseError, ProtocolViolationError, SPEC } from '../shared/errors.ts'
import { formatScope, parseScope, unionScope } from '../shared/scope.ts'
import { needsConsentPrompt } from './authorization-parameters.ts'
import type { ClientInfo } from './registration.ts'

/** Everything the engine must remember between sending the person away and the callback. @see https://www.rfc-editor.org/rfc/rfc7636#section-4 */
export interface PendingAuthorization {
  url: URL
  state: string
  codeVerifier: string
  redirectUri: string
  /** Issuer recorded from validated metadata before redirecting (MCP 2026-07-28). */
  expectedIssuer: string
  issParameterSupported: boolean
  /** The `resource` sent, or undefined when the policy (or a refusing issuer) omits it. */
  resource: string | undefined
  scope: string | undefined
}

/** Inputs of {@link selectScope}. */
export interface ScopeInputs {
  /** `scope` from the 401/403 challenge. */
  challenged?: string | undefined
  /** PRM `scopes_supported`. */
  prmScopes?: readonly string[] | undefined
  /** AS `scopes_supported` (only to decide on `offline_access`). */
  asScopes?: readonly string[] | undefined
  /** Scopes already granted (step-up keeps them). */
  granted?: string | undefined
  /** Scopes the app asks for explicitly (CLI --scope); they replace the challenge/PRM choice. */
  configured?: string | undefined
  /** Add `offline_access` when the AS lists it (default true). */
  offlineAccess?: boolean
}

/**
 * MCP scope selection: configured → challenge `scope` → PRM `scopes_supported` → omit; union with what
 * is granted; plus `offline_access` when the AS supports it.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#scope-selection-strategy
 */
export function selectScope(i: ScopeInputs): string | undefined {
  let base: string[]
  if (i.configured) base = parseScope(i.configured)
  else if (i.challenged) base = parseScope(i.challenged)
  else if (i.prmScopes?.length) base = [...i.prmScopes]
  else base = []
  const scopes = unionScope(i.granted, base)
  if (scopes.length && i.offlineAccess !== false && i.asScopes?.includes('offline_access')) {
    scopes.push(...unionScope(['offline_access']).filter((s) => !scopes.includes(s)))
  }
  return formatScope(scopes)
}

/**
 * Build the authorization URL with PKCE S256, state and resource (per policy); refuses an AS without S256.
 * An OpenID provider asked for `offline_access` also gets `prompt=consent` (OpenID Connect Core §11).
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.3
 */
export async function buildAuthorizationRequest(p: {
  metadata: AuthorizationServerMetadata
  client: ClientInfo
  redirectUri: string
  resource: string | undefined
  scope: string | undefined
  legacy?: boolean
  dpopJkt?: string | undefined
  /** Provider-specific parameters (checked by assertAuthorizationParams); they never replace the engine's own. */
  extraParams?: Record<string, string> | undefined
  /** A named account (not the default): the AS is asked to authenticate again, whoever the browser is signed in as. */
  reauthenticate?: boolean
}): Promise<PendingAuthorization> {
  // `legacy` here means the 2025-03-26 default endpoints, where there is no metadata to check.
  if (!p.legacy) assertPkceS256(p.metadata)
  if (!p.metadata.authorization_endpoint) {
    throw new ProtocolViolationError(
      'no_authorization_endpoint',
      'authorization server lists no authorization_endpoint',
      {
        spec: 'https://www.rfc-editor.org/rfc/rfc8414#section-2',
        hint: 'The authorization server cannot do interactive sign-in; use client credentials or ask its operator.',
      },
    )
  }
  const codeVerifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const url = new URL(p.metadata.authorization_endpoint)
  const q = url.searchParams
  q.set('response_type', 'code')
  q.set('client_id', p.client.client_id)
  q.set('redirect_uri', p.redirectUri)
  q.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier))
  q.set('code_challenge_method', 'S256')
  q.set('state', state)
  if (p.resource !== undefined) q.set('resource', p.resource)
  else q.delete('resource')
  if (p.scope) q.set('scope', p.scope)
  if (p.dpopJkt) q.set('dpop_jkt', p.dpopJkt)
  const own = new Set(q.keys())
  // Google-style providers return a refresh token for access_type=offline only on a consent screen.
  // OpenID Connect Core §3.1.2.1: `prompt` is a space-separated list, so login and consent can both be asked.
  const prompt = [
    ...(p.reauthenticate ? ['login'] : []),
    ...(needsConsentPrompt(p.metadata, p.scope) || p.extraParams?.['access_type'] === 'offline'
      ? ['consent']
      : []),
  ]
  if (prompt.length) q.set('prompt', prompt.join(' '))
  // Provider-specific parameters never replace one the engine set (Session refuses them up front as well).
  for (const [k, v] of Object.entries(p.extraParams ?? {})) if (!own.has(k) && k !== 'resource') q.set(k, v)
  return {
    url,
    state,
    codeVerifier,
    redirectUri: p.redirectUri,
    expectedIssuer: p.metadata.issuer,
    issParameterSupported: p.metadata.authorization_response_iss_parameter_supported === true,
    resource: p.resource,
    scope: p.scope,
  }
}

/**
 * Validate a callback before anything in it is acted on: `iss` (simple string comparison, no normalization),
 * then `state`, then an error response, then the code.
 * @see https://www.rfc-editor.org/rfc/rfc9207#section-2.4
 */
export function validateCallback(
  pending: PendingAuthorization,
  client: ClientInfo,
  callback: URL,
): URLSearchParams {
  const as: oauth.AuthorizationServer = {
    issuer: pending.expectedIssuer,
    authorization_response_iss_parameter_supported: pending.issParameterSupported,
  }
  try {
    return oauth.validateAuthResponse(
      as,
      { client_id: client.client_id },
      callback.searchParams,
      pending.state,
    )
  } catch (e) {
    if (e instanceof oauth.AuthorizationResponseError) {
      throw new OAuthResponseError(e.error, e.error_description, {
        spec: SPEC.rfc6749,
        hint:
          e.error === 'access_denied'
            ? 'Sign-in was declined; run the command again and approve access, or ask the server operator for access.'
            : 'The authorization server refused the request; see error_description, or run mcp-oauth doctor <url>.',
      })
    }
    const msg = e instanceof Error ? e.message : String(e)
    if (msg.includes('"iss"')) {
      const missing = msg.includes('missing')
      // Deliberately no error/error_description from the response: on an iss failure they are untrusted.
      throw new ProtocolViolationError(
        missing ? 'iss_missing' : 'iss_mismatch',
        missing
          ? 'the authorization response carries no iss although the authorization server advertises it'
          : `the authorization response came from issuer ${callback.searchParams.get('iss')?.slice(0, 200)}, not ${pending.expectedIssuer}`,
        {
          spec: SPEC.mcpAuthIss,
          hint: 'The response did not come from the expected authorization server (possible mix-up attack); nothing was redeemed. Sign in again.',
        },
      )
    }
    if (msg.includes('"state"')) {
      throw new ProtocolViolationError('state_mismatch', 'the callback state does not match this sign-in', {
        spec: 'https://www.rfc-editor.org/rfc/rfc6749#section-10.12',
        hint: 'The callback belongs to another sign-in attempt (or a forged one); finish the sign-in in the newest browser tab.',
      })
    }
    throw new ProtocolViolationError(
      'invalid_authorization_response',
      `invalid authorization response: ${msg}`,
      {
        spec: SPEC.rfc6749,
        hint: 'Sign in again; if it persists, run mcp-oauth doctor <url>.',
      },
    )
  }
}
