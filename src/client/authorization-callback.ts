/**
 * Sign-in across requests: `beginAuthorization` in the request that sends the person away, `completeAuthorization`
 * in the one their browser comes back to, in this process or another sharing the store (a file store, or the
 * app's own store on its database). Discovery, registration, scope choice, PKCE and the resource are those of every
 * other sign-in: beginning runs the ordinary flow and stops it at the redirect.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1
 */
import { McpOAuthError, SPEC } from '../shared/errors.ts'
import { redactUrl } from '../shared/redact.ts'
import { validateCallback } from './authorization.ts'
import { asPendingAuthorization, Redirected, redirectOnly, takePending } from './authorization-code-flow.ts'
import { loadDpopKey } from './dpop.ts'
import { Session } from './session.ts'
import type { SessionOptions } from './session-options.ts'
import type { TokenStore } from './stores/store.ts'
import { exchangeCode } from './tokens.ts'

/** Options of {@link beginAuthorization}: the session's, with the app's registered redirect URI. @see https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2 */
export type BeginOptions = Omit<SessionOptions, 'authorizer' | 'store'> & {
  store: TokenStore
  /** Where the authorization server sends the browser back: the app's callback route (https, or loopback http). */
  redirectUri: string
  /** How long the sign-in may take before its callback is refused (default 10 min). */
  ttlMs?: number
}

/** What {@link beginAuthorization} returns: where to send the person, or that no person was needed. @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1 */
export type BeginResult =
  | { kind: 'redirect'; url: URL; state: string; expiresAt: number }
  | { kind: 'signed_in'; session: Session }

/**
 * Start a sign-in to `serverUrl` and return the authorization URL; the PKCE verifier, state, issuer, client,
 * resource (and DPoP key) wait in `store` for {@link completeAuthorization}. Grants that need no browser (client
 * credentials, enterprise) finish here and return `signed_in`.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#authorization-flow-steps
 */
export async function beginAuthorization(options: BeginOptions): Promise<BeginResult> {
  const { redirectUri, ttlMs, ...sessionOptions } = options
  const session = new Session({
    ...sessionOptions,
    authorizer: { ...redirectOnly(redirectUri), ...(ttlMs !== undefined ? { pendingTtlMs: ttlMs } : {}) },
  })
  try {
    await session.authorize({ reason: 'login' })
    return { kind: 'signed_in', session }
  } catch (e) {
    if (!(e instanceof Redirected)) throw e
    return { kind: 'redirect', url: e.url, state: e.state, expiresAt: Date.now() + (ttlMs ?? 10 * 60_000) }
  }
}

/** Options of {@link completeAuthorization}: the session options the sign-in began with, without the URL. @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2 */
export type CompleteOptions = Omit<SessionOptions, 'serverUrl' | 'account' | 'authorizer' | 'store'> & {
  store: TokenStore
}

/**
 * Finish the sign-in `callbackUrl` belongs to (the full URL the browser came back to): take its pending request
 * once, check `iss` and `state` (RFC 9207), redeem the code with the kept verifier and save the tokens. Returns
 * the signed-in session. A replayed callback fails with `authorization_unknown`, a late one with
 * `authorization_expired`.
 * @see https://www.rfc-editor.org/rfc/rfc9207#section-2.4
 */
export async function completeAuthorization(
  options: CompleteOptions,
  callbackUrl: string | URL,
): Promise<Session> {
  const callback = new URL(callbackUrl)
  const record = await takePending(options.store, callback)
  const session = new Session({ ...options, serverUrl: record.server, account: record.account })
  const d = await session.discovery()
  if (d.issuer !== record.expected_issuer) {
    throw new McpOAuthError(
      'issuer_changed',
      `${redactUrl(record.server)} now names ${d.issuer}, not ${record.expected_issuer} where this sign-in began`,
      { spec: SPEC.mcpAuth, hint: 'Start the sign-in again: the server changed its authorization server.' },
    )
  }
  const client = await session.registeredClient(record.expected_issuer, record.client_id)
  if (!client) {
    throw new McpOAuthError('client_unknown', `the client this sign-in began with is no longer stored`, {
      spec: SPEC.mcpAuth,
      hint: 'Complete with the same store and client options the sign-in began with, or start it again.',
    })
  }
  const params = validateCallback(asPendingAuthorization(record), client, callback)
  const dpop = record.dpop_jwk ? await loadDpopKey(record.dpop_jwk) : undefined
  const policy = { fetch: options.fetch, allowHttp: options.allowHttp }
  const tokens = await exchangeCode(
    { metadata: d.metadata, client, policy, dpop },
    {
      callback: params,
      redirectUri: record.redirect_uri,
      codeVerifier: record.code_verifier,
      resource: record.resource,
      ...(record.scope ? { scope: record.scope } : {}),
    },
  )
  await session.saveSignIn({
    resource: d.resource,
    issuer: d.issuer,
    client_id: client.client_id,
    tokens,
    ...(record.dpop_jwk ? { dpop_jwk: record.dpop_jwk } : {}),
  })
  return session
}
