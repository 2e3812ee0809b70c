/**
 * Optional upstream login: an identity provider (an OpenID provider, or a plain OAuth 2.0 one such as GitHub)
 * authenticates the person; this server keeps issuing its own MCP tokens, so MCP clients keep CIMD and DCR even
 * when the provider has neither. OpenID providers go through openid-client (discovery, PKCE, state, nonce, ID
 * token); OAuth 2.0 providers through `upstream-oauth2.ts`. The pending login and the account's claims live in
 * the server's storage, so any instance can finish what another started. The provider's tokens are dropped once
 * the identity is read, unless the operator asks to keep them (sealed, bound to the grant).
 * @see https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth
 */
import * as oidc from 'openid-client'
import { InvalidArgumentError, McpOAuthError, SPEC } from '../shared/errors.ts'
import type { AuthorizationServerStorage } from './adapters/sql.ts'
import { createOutboundFetch } from './outbound-fetch.ts'
import {
  exchangeOAuth2Code,
  oauth2AuthorizationUrl,
  readGithubIdentity,
  type UpstreamIdentity,
  type UpstreamTokenSet,
  upstreamError,
} from './upstream-oauth2.ts'
import {
  checkEntraIdToken,
  PRESETS,
  resolveUpstream,
  type UpstreamPresetInput,
  type UpstreamPresetName,
} from './upstream-presets.ts'

import { createUpstreamTokenVault } from './upstream-tokens.ts'

export type { UpstreamTokenSet } from './upstream-oauth2.ts'
export { bindUpstreamTokensOnCode, findUpstreamTokens } from './upstream-tokens.ts'

/** Where and how to reach the upstream identity provider. @see https://openid.net/specs/openid-connect-discovery-1_0.html */
export interface UpstreamOptions extends UpstreamPresetInput {
  /** `github`, `google`, `microsoft`, `keycloak`, `okta`, `auth0` or `oidc` (default). */
  preset?: UpstreamPresetName
  /** The OpenID issuer (oidc, keycloak, okta, auth0; google and microsoft know theirs). */
  issuer?: string
  /** Microsoft Entra tenant: a tenant id, a domain, `organizations`, `consumers` or `common`. */
  tenant?: string
  /** This server's client at the provider; register `<issuer>/upstream/callback` there as the redirect URI. */
  clientId: string
  /** Its secret, if confidential (client_secret_basic for OpenID providers, in the body for GitHub). */
  clientSecret?: string
  /** Scopes asked of the provider (default: the preset's). */
  scope?: string
  /** Label of the sign-in button (default: the provider's name, or its host). */
  name?: string
  /**
   * Which claim names the local account (default: the preset's stable id: `sub`, GitHub's `id`, Entra's `oid`).
   * `email` is accepted only with `email_verified: true`.
   */
  accountClaim?: string
  /** Development only: allow an http:// provider on loopback (tests). */
  allowInsecureRequests?: boolean
  /** Keep the provider's tokens, sealed and bound to the grant, for the operator's own code (default false). */
  passTokens?: boolean
  /** Hide the password form: people sign in at the provider only. */
  only?: boolean
  /** Extra authorization request parameters the provider understands (e.g. `hd` for Google, `prompt`). */
  authorizationParams?: Record<string, string>
}

/** A person known through the provider. @see https://openid.net/specs/openid-connect-core-1_0.html#StandardClaims */
export interface UpstreamAccount {
  accountId: string
  name?: string
  email?: string
}

const PENDING_TTL_SECONDS = 600
/** Parameters the login sets itself; `authorizationParams` may not replace them. */
const PROTECTED_PARAMS = new Set([
  'client_id',
  'response_type',
  'response_mode',
  'redirect_uri',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'request',
  'request_uri',
])

/** The upstream login: start (redirect URL), finish (callback → account), account lookup, kept tokens. @see https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth */
export interface UpstreamLogin {
  /** Button label. */
  name: string
  /** Which preset this is. */
  preset: UpstreamPresetName
  /** Whether the password form is hidden. */
  only: boolean
  /** Whether provider tokens are kept. */
  keepsTokens: boolean
  /** The provider authorization URL for interaction `uid`. */
  start(uid: string): Promise<URL>
  /** Completes the provider callback; returns the interaction it belongs to and a one-time ticket for the account. */
  finish(callbackUrl: URL): Promise<{ uid: string; ticket: string }>
  /** Exchanges the ticket (once, for the same interaction) for the account. */
  redeem(uid: string, ticket: string): Promise<UpstreamAccount | undefined>
  /** An account that signed in through the provider before. */
  find(accountId: string): Promise<UpstreamAccount | undefined>
  /** Binds the account's latest kept tokens to `grantId` (when an authorization code is issued). */
  bindTokens(accountId: string, grantId: string): Promise<void>
  /** The kept tokens of a grant, if any. */
  tokensForGrant(grantId: string): Promise<UpstreamTokenSet | undefined>
}

/** The local account key from the identity's claims, or why there is none. */
function accountKey(claims: Record<string, unknown>, claim: string): string {
  const value = claims[claim]
  if (claim === 'email' && claims['email_verified'] !== true)
    throw upstreamError(
      'upstream_user_error',
      'the provider did not mark the address verified, so it cannot name an account',
      'name accounts by the stable id (drop accountClaim: email)',
    )
  if ((typeof value !== 'string' && typeof value !== 'number') || value === '')
    throw upstreamError(
      'upstream_user_error',
      `the provider named no ${claim} for this person`,
      `ask the provider for the scope that releases ${claim}, or pick another accountClaim`,
    )
  return String(value)
}

/**
 * Builds the upstream login for an authorization server at `issuer`.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth
 */
export function createUpstreamLogin(
  options: UpstreamOptions,
  issuer: string,
  storage: AuthorizationServerStorage,
): UpstreamLogin {
  const resolved = resolveUpstream(options)
  const preset = PRESETS[resolved.preset]
  const redirectUri = `${issuer}/upstream/callback`
  const pending = storage.adapter('UpstreamPending')
  const accounts = storage.adapter('UpstreamAccount')
  const tickets = storage.adapter('UpstreamTicket')
  const vault = createUpstreamTokenVault(storage)
  const insecure = options.allowInsecureRequests === true
  // The operator chose the provider (often on an internal network), so private addresses are allowed; https
  // (checked on every provider URL, and by openid-client on discovered ones), time and size limits, and the
  // refusal of redirects still hold.
  const outbound = createOutboundFetch({
    allowPrivateNetwork: true,
    timeoutMs: 10_000,
    maxBytes: 256 * 1024,
  })
  // oauth4webapi hands bodies over as URLSearchParams; the outbound fetch writes strings.
  const fetcher = ((input: string | URL | Request, init: RequestInit = {}) =>
    outbound(
      input,
      init.body instanceof URLSearchParams ? { ...init, body: init.body.toString() } : init,
    )) as typeof fetch
  const scope = options.scope ?? preset.scope
  const claimName = options.accountClaim ?? preset.accountClaim
  const extra: Record<string, string> = { ...(options.authorizationParams ?? {}) }
  const protectedParam = Object.keys(extra).find((k) => PROTECTED_PARAMS.has(k))
  if (protectedParam)
    throw new InvalidArgumentError(
      'invalid_upstream_option',
      `upstream.authorizationParams may not set ${protectedParam.slice(0, 40)}`,
      {
        spec: SPEC.rfc7636,
        hint: 'leave state, nonce, PKCE, client_id, redirect_uri, scope and response_* to the login',
      },
    )
  // Google returns a refresh token only when asked for offline access, and only worth it when tokens are kept.
  if (resolved.preset === 'google' && options.passTokens) extra['access_type'] ??= 'offline'
  let config: Promise<oidc.Configuration> | undefined
  const configuration = () => {
    config ??= oidc
      .discovery(
        new URL(resolved.issuer!),
        options.clientId,
        undefined,
        options.clientSecret ? oidc.ClientSecretBasic(options.clientSecret) : oidc.None(),
        { [oidc.customFetch]: fetcher, ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}) },
      )
      .catch((error) => {
        config = undefined
        throw upstreamError(
          'upstream_unavailable',
          `the provider's discovery document could not be read: ${(error as Error).message.slice(0, 160)}`,
          'check --upstream-issuer (its /.well-known/openid-configuration must answer)',
          error,
        )
      })
    return config
  }

  async function oidcIdentity(
    callback: URL,
    record: Record<string, unknown>,
    state: string,
  ): Promise<UpstreamIdentity> {
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>
    try {
      tokens = await oidc.authorizationCodeGrant(await configuration(), callback, {
        pkceCodeVerifier: String(record['verifier']),
        expectedState: state,
        expectedNonce: String(record['nonce']),
        idTokenExpected: true,
      })
    } catch (error) {
      if (error instanceof McpOAuthError) throw error
      const e = error as { error?: unknown; message: string }
      throw upstreamError(
        'upstream_token_error',
        `the provider refused the code or its ID token failed validation: ${String(e.error ?? e.message).slice(0, 160)}`,
        'check the upstream client id, MCP_OAUTH_UPSTREAM_CLIENT_SECRET and the server clock, then sign in again',
        error,
      )
    }
    const claims = { ...tokens.claims()! } as Record<string, unknown>
    if (
      resolved.preset === 'microsoft' &&
      resolved.issuer!.startsWith('https://login.microsoftonline.com/')
    ) {
      const refusal = checkEntraIdToken(claims, resolved.tenant!)
      if (refusal) throw upstreamError('upstream_user_error', refusal, 'check --upstream-tenant')
    }
    return {
      claims,
      tokens: {
        access_token: tokens.access_token,
        token_type: tokens.token_type,
        ...(tokens.refresh_token ? { refresh_token: tokens.refresh_token } : {}),
        ...(tokens.id_token ? { id_token: tokens.id_token } : {}),
        ...(tokens.scope ? { scope: tokens.scope } : {}),
        ...(tokens.expires_in ? { expires_at: Math.floor(Date.now() / 1000) + tokens.expires_in } : {}),
      },
    }
  }

  async function oauth2Identity(callback: URL, record: Record<string, unknown>): Promise<UpstreamIdentity> {
    const code = callback.searchParams.get('code')
    if (!code)
      throw upstreamError(
        'upstream_denied',
        'the provider sent no code',
        'start signing in again from the application',
      )
    const tokens = await exchangeOAuth2Code(fetcher, resolved.endpoints!, {
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      code,
      redirectUri,
      verifier: String(record['verifier']),
    })
    return await readGithubIdentity(fetcher, resolved.endpoints!, tokens)
  }

  return {
    name: options.name ?? resolved.label,
    preset: resolved.preset,
    only: options.only === true,
    keepsTokens: options.passTokens === true,
    async start(uid) {
      const verifier = oidc.randomPKCECodeVerifier()
      const state = oidc.randomState()
      const nonce = oidc.randomNonce()
      await pending.upsert(state, { uid, verifier, nonce }, PENDING_TTL_SECONDS)
      const codeChallenge = await oidc.calculatePKCECodeChallenge(verifier)
      if (resolved.protocol === 'oauth2')
        return oauth2AuthorizationUrl(resolved.endpoints!, {
          clientId: options.clientId,
          redirectUri,
          scope,
          state,
          codeChallenge,
          extra,
        })
      return oidc.buildAuthorizationUrl(await configuration(), {
        ...extra,
        redirect_uri: redirectUri,
        scope,
        code_challenge: codeChallenge,
        code_challenge_method: 'S256',
        state,
        nonce,
      })
    },
    async finish(callbackUrl) {
      const state = callbackUrl.searchParams.get('state') ?? ''
      const record = state ? await pending.find(state) : undefined
      const denied = callbackUrl.searchParams.get('error')
      if (denied) {
        if (record) await pending.consume(state)
        throw upstreamError(
          'upstream_denied',
          `the identity provider answered ${denied.slice(0, 60)}`,
          'approve the request at the provider, or ask its administrator to allow this application',
        )
      }
      if (!record || record['consumed'])
        throw upstreamError(
          'upstream_state_invalid',
          'unknown or already used sign-in state',
          'start signing in again from the application (each sign-in link works once)',
        )
      await pending.consume(state)
      // The token request's redirect_uri must be the one the flow started with, whatever Host or scheme the
      // callback request arrived with (proxies, https issuers, issuers with a path).
      const callback = new URL(`${redirectUri}${callbackUrl.search}`)
      const identity =
        resolved.protocol === 'oauth2'
          ? await oauth2Identity(callback, record)
          : await oidcIdentity(callback, record, state)
      const { claims } = identity
      // Entra: `oid` is unique within its tenant; the pair is the key Microsoft recommends.
      const key =
        resolved.preset === 'microsoft' && claimName === 'oid'
          ? `${accountKey(claims, 'tid')}/${accountKey(claims, 'oid')}`
          : accountKey(claims, claimName)
      const accountId = `${resolved.accountPrefix}:${key}`
      const text = (k: string) =>
        typeof claims[k] === 'string' && claims[k] ? (claims[k] as string) : undefined
      const name = text('name') ?? text('login') ?? text('preferred_username')
      const email = claims['email_verified'] === true ? text('email') : undefined
      const account: UpstreamAccount = { accountId, ...(name ? { name } : {}), ...(email ? { email } : {}) }
      await accounts.upsert(accountId, { ...account })
      if (options.passTokens) {
        await vault.park(accountId, identity.tokens)
      }
      // The interaction cookie is scoped to /interaction/<uid>, so the browser is sent there with a ticket.
      const ticket = oidc.randomState()
      const uid = String(record['uid'])
      await tickets.upsert(ticket, { uid, accountId }, 120)
      return { uid, ticket }
    },
    async redeem(uid, ticket) {
      const record = await tickets.find(ticket)
      if (!record || record['consumed'] || record['uid'] !== uid) return undefined
      await tickets.consume(ticket)
      return this.find(String(record['accountId']))
    },
    async find(accountId) {
      const found = await accounts.find(accountId)
      if (!found) return undefined
      const text = (k: string) => (typeof found[k] === 'string' ? { [k]: found[k] as string } : {})
      return { accountId, ...text('name'), ...text('email') }
    },
    async bindTokens(accountId, grantId) {
      if (options.passTokens) await vault.bind(accountId, grantId)
    },
    tokensForGrant: (grantId) => vault.forGrant(grantId),
  }
}
