/**
 * Optional upstream OpenID Connect login: an enterprise IdP (which may lack DCR, CIMD or resource indicators)
 * authenticates the person; this server keeps issuing the MCP tokens. Code flow with PKCE, state and nonce via
 * openid-client; the pending login and the account's claims live in the server's storage, so any instance can
 * finish what another started.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth
 */
import * as oidc from 'openid-client'
import type { AuthorizationServerStorage } from './adapters/sql.ts'

/** Where and how to reach the upstream IdP. @see https://openid.net/specs/openid-connect-discovery-1_0.html */
export interface UpstreamOptions {
  /** The IdP's issuer; its discovery document is fetched once. */
  issuer: string
  /** This server's client at the IdP; register `<issuer>/upstream/callback` there as the redirect URI. */
  clientId: string
  /** Its secret (client_secret_basic), if confidential. */
  clientSecret?: string
  /** Scopes asked of the IdP (default `openid email profile`). */
  scope?: string
  /** Label of the sign-in button (default: the IdP's host). */
  name?: string
  /** Which ID token claim names the local account (default `sub`); it is prefixed with the IdP host. */
  accountClaim?: string
  /** Development only: allow an http:// IdP (e.g. one on loopback in tests). */
  allowInsecureRequests?: boolean
}

/** A person known through the IdP. */
export interface UpstreamAccount {
  accountId: string
  name?: string
}

const PENDING_TTL_SECONDS = 600

/** The upstream login: start (redirect URL), finish (callback → account) and account lookup. */
export interface UpstreamLogin {
  /** Button label. */
  name: string
  /** The IdP authorization URL for interaction `uid`. */
  start(uid: string): Promise<URL>
  /** Completes the IdP callback; returns the interaction it belongs to and a one-time ticket for the account. */
  finish(callbackUrl: URL): Promise<{ uid: string; ticket: string }>
  /** Exchanges the ticket (once, for the same interaction) for the account. */
  redeem(uid: string, ticket: string): Promise<UpstreamAccount | undefined>
  /** An account that signed in through the IdP before. */
  find(accountId: string): Promise<UpstreamAccount | undefined>
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
  const redirectUri = `${issuer}/upstream/callback`
  const host = new URL(options.issuer).host
  const pending = storage.adapter('UpstreamPending')
  const accounts = storage.adapter('UpstreamAccount')
  const tickets = storage.adapter('UpstreamTicket')
  let config: Promise<oidc.Configuration> | undefined
  const configuration = () => {
    config ??= oidc
      .discovery(
        new URL(options.issuer),
        options.clientId,
        undefined,
        options.clientSecret ? oidc.ClientSecretBasic(options.clientSecret) : oidc.None(),
        options.allowInsecureRequests ? { execute: [oidc.allowInsecureRequests] } : undefined,
      )
      .catch((error) => {
        config = undefined
        throw error
      })
    return config
  }

  return {
    name: options.name ?? host,
    async start(uid) {
      const verifier = oidc.randomPKCECodeVerifier()
      const state = oidc.randomState()
      const nonce = oidc.randomNonce()
      await pending.upsert(state, { uid, verifier, nonce }, PENDING_TTL_SECONDS)
      return oidc.buildAuthorizationUrl(await configuration(), {
        redirect_uri: redirectUri,
        scope: options.scope ?? 'openid email profile',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      })
    },
    async finish(callbackUrl) {
      const state = callbackUrl.searchParams.get('state') ?? ''
      const record = state ? await pending.find(state) : undefined
      if (!record || record['consumed']) throw new Error('unknown or already used sign-in state')
      await pending.consume(state)
      // The token request's redirect_uri must be the one the flow started with, whatever Host or scheme the
      // callback request arrived with (proxies, https issuers, issuers with a path).
      const callback = new URL(`${redirectUri}${callbackUrl.search}`)
      const tokens = await oidc.authorizationCodeGrant(await configuration(), callback, {
        pkceCodeVerifier: String(record['verifier']),
        expectedState: state,
        expectedNonce: String(record['nonce']),
        idTokenExpected: true,
      })
      const claims = tokens.claims()!
      const key = claims[options.accountClaim ?? 'sub']
      if (typeof key !== 'string' || !key)
        throw new Error(`the ID token has no ${options.accountClaim ?? 'sub'} claim`)
      const account: UpstreamAccount = {
        accountId: `${host}:${key}`,
        ...(typeof claims['name'] === 'string' ? { name: claims['name'] } : {}),
      }
      await accounts.upsert(account.accountId, { ...account })
      // The interaction cookie is scoped to /interaction/<uid>, so the browser is sent there with a ticket.
      const ticket = oidc.randomState()
      const uid = String(record['uid'])
      await tickets.upsert(ticket, { uid, accountId: account.accountId }, 120)
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
      return { accountId, ...(typeof found['name'] === 'string' ? { name: found['name'] } : {}) }
    },
  }
}
