/**
 * The authorization code flow split at the redirect, for apps whose callback arrives in another request, process
 * or instance (web apps, agent platforms): `beginAuthorization` returns the URL to send the person to and keeps
 * the PKCE verifier, state, issuer, client and resource in the session's store; `completeAuthorization` takes that
 * record once (compare-and-swap delete), checks the callback and redeems the code. The in-process flow (an
 * `Authorizer` that waits for the callback) keeps and takes its pending request the same way.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1
 */
import { McpOAuthError, SPEC } from '../shared/errors.ts'
import type { PendingAuthorization } from './authorization.ts'
import type { Authorizer } from './authorizer.ts'
import type { TokenStore } from './stores/store.ts'

/** How long a begun sign-in can be completed. @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2 */
export const PENDING_TTL_MS = 10 * 60_000

/** What is kept between the redirect and the callback (in the store: encrypted at rest in file and keychain stores). */
export interface PendingRecord {
  state: string
  code_verifier: string
  redirect_uri: string
  expected_issuer: string
  iss_parameter_supported: boolean
  resource?: string
  scope?: string
  client_id: string
  server: string
  account: string
  dpop_jwk?: Record<string, unknown>
  created_at: number
  expires_at: number
}

const PREFIX = 'pending '

/**
 * Keep a pending authorization request until its callback (state is the key: 32 random bytes from oauth4webapi),
 * purging expired ones first so abandoned sign-ins do not pile up.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-10.12
 */
export async function savePending(
  store: TokenStore,
  pending: PendingAuthorization,
  about: {
    client_id: string
    server: string
    account: string
    dpop_jwk?: Record<string, unknown> | undefined
  },
  ttlMs: number = PENDING_TTL_MS,
): Promise<void> {
  const now = Date.now()
  if (store.list) {
    for (const key of await store.list(PREFIX)) {
      const old = await store.get<PendingRecord>(key)
      if (old && old.value.expires_at <= now) await store.delete(key, old.generation)
    }
  }
  const record: PendingRecord = {
    state: pending.state,
    code_verifier: pending.codeVerifier,
    redirect_uri: pending.redirectUri,
    expected_issuer: pending.expectedIssuer,
    iss_parameter_supported: pending.issParameterSupported,
    ...(pending.resource !== undefined ? { resource: pending.resource } : {}),
    ...(pending.scope !== undefined ? { scope: pending.scope } : {}),
    client_id: about.client_id,
    server: about.server,
    account: about.account,
    ...(about.dpop_jwk ? { dpop_jwk: about.dpop_jwk } : {}),
    created_at: now,
    expires_at: now + ttlMs,
  }
  await store.set(PREFIX + pending.state, record, 0)
}

/**
 * Take the pending request a callback's `state` names, once: a second completion (a replayed or reloaded
 * callback) finds nothing, and so does one after the request expired.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-10.12
 */
export async function takePending(store: TokenStore, callback: URL): Promise<PendingRecord> {
  const state = callback.searchParams.get('state')
  const entry = state ? await store.get<PendingRecord>(PREFIX + state) : undefined
  // Delete before use, conditionally: of two processes completing the same callback, exactly one wins.
  if (!state || !entry || !(await store.delete(PREFIX + state, entry.generation))) {
    throw new McpOAuthError(
      'authorization_unknown',
      'this callback belongs to no sign-in in progress: it was completed already, or began with another store',
      {
        spec: SPEC.rfc6749,
        hint: 'Start the sign-in again (beginAuthorization, or mcp-oauth login <url>) and use its newest link once.',
      },
    )
  }
  if (entry.value.expires_at <= Date.now()) {
    throw new McpOAuthError(
      'authorization_expired',
      `the sign-in began at ${new Date(entry.value.created_at).toISOString()} and expired before its callback came back`,
      {
        spec: SPEC.rfc6749,
        hint: 'Start the sign-in again (beginAuthorization, or mcp-oauth login <url>) and finish it sooner.',
      },
    )
  }
  return entry.value
}

/** The pending request as authorization.ts checks a callback against it. @see https://www.rfc-editor.org/rfc/rfc9207#section-2.4 */
export function asPendingAuthorization(r: PendingRecord): PendingAuthorization {
  return {
    url: new URL(r.redirect_uri),
    state: r.state,
    codeVerifier: r.code_verifier,
    redirectUri: r.redirect_uri,
    expectedIssuer: r.expected_issuer,
    issParameterSupported: r.iss_parameter_supported,
    resource: r.resource,
    scope: r.scope,
  }
}

/** Thrown by the capturing authorizer of `beginAuthorization` once the request is kept: the flow stops there. */
export class Redirected extends Error {
  readonly url: URL
  readonly state: string
  constructor(url: URL, state: string) {
    super('redirected')
    this.url = url
    this.state = state
  }
}

/** An authorizer that stops the flow at the redirect, for `beginAuthorization`. @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1 */
export function redirectOnly(redirectUri: string): Authorizer {
  return {
    redirectUri,
    async authorize(url, context) {
      throw new Redirected(url, context.state)
    },
  }
}
