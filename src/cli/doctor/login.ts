/**
 * `doctor --login`: a real sign-in through the client engine, then what only a signed-in client can see: the
 * token accepted, its claims, refresh (and whether it needs offline_access), and step-up on a tool's 403.
 * Tokens stay in memory, are revoked at the end, and are never printed.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import type { DiscoveryResult } from '../../client/discovery.ts'
import type { FetchLike } from '../../client/http.ts'
import type { ClientInfo } from '../../client/registration.ts'
import type { Session } from '../../client/session.ts'
import { storeKey } from '../../client/stores/store.ts'
import type { TokenSet } from '../../client/tokens.ts'
import { McpOAuthError } from '../../shared/errors.ts'
import type { McpChallenge } from '../../shared/www-authenticate.ts'
import { refreshChecks, stepUpChecks } from './after-sign-in.ts'
import { connect, withToken } from './authorized-mcp.ts'
import type { DcrOutcome } from './registration.ts'
import { type Check, check, SPECS, specFromUrl } from './report.ts'
import { checkAccepted, checkClaims, readClaims } from './token.ts'

/** What the login checks need. */
export interface LoginInputs {
  server: string
  discovery: DiscoveryResult
  challenge: McpChallenge | undefined
  /** Builds a session; `offlineAccess` says whether the engine may add offline_access. */
  session: (offlineAccess: boolean) => Session
  headers: Record<string, string>
  fetch?: FetchLike
  /** Tools to call for the step-up check besides those annotated read-only. */
  callTools: readonly string[]
}

/** The login checks and, when the sign-in registered a client, what became of it. */
export interface LoginFindings {
  checks: Check[]
  dcr?: DcrOutcome
}

/** Whether the session's client ID is one the person configured (--client-id / --client-info). */
function preRegistered(session: Session, clientId: string | undefined): boolean {
  const pre = session.identity().preRegistered
  return (pre === undefined ? [] : [pre].flat()).some((c) => c.client_id === clientId)
}

async function signIn(
  i: LoginInputs,
  session: Session,
): Promise<{ tokens?: TokenSet; error?: McpOAuthError | Error }> {
  try {
    return {
      tokens: await session.authorize({
        reason: 'login',
        challengedScope: i.challenge?.scope,
        resourceMetadataUrl: i.challenge?.resource_metadata,
      }),
    }
  } catch (e) {
    return { error: e as Error }
  }
}

function signInFailure(error: McpOAuthError | Error): Check {
  const code = error instanceof McpOAuthError ? error.code : undefined
  return check(
    'login.sign_in',
    'fail',
    'Sign-in',
    error instanceof McpOAuthError ? specFromUrl(error.spec) : SPECS.mcpRegistration,
    `${error.message}${code ? ` (${code})` : ''}`,
    {
      ...(code === 'registration_forbidden' ? { diagnosis: 'dcr_allowlisted' as const } : {}),
      fix:
        (error instanceof McpOAuthError && error.hint) ||
        'See the message above; run doctor without --login to check discovery first.',
    },
  )
}

/**
 * Sign in (without offline_access first, so the report says what clients that do not ask for it get), then check
 * the token, refresh and step-up; revoke and clean up at the end.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#authorization-flow-steps
 */
export async function runLoginChecks(i: LoginInputs): Promise<LoginFindings> {
  const checks: Check[] = []
  const asOffers = i.discovery.metadata.scopes_supported?.includes('offline_access') ?? false
  let session = i.session(false)
  const first = await signIn(i, session)
  if (!first.tokens) return { checks: [signInFailure(first.error!)] }
  let tokens = first.tokens
  const status = await session.status()
  checks.push(
    check(
      'login.sign_in',
      'pass',
      'Sign-in',
      SPECS.mcpFlow,
      `signed in at ${status.issuer}; client ${status.client_id} (${status.client_source ?? (preRegistered(session, status.client_id) ? 'pre-registered' : 'registered')}); granted ${tokens.scope ?? '(scope not stated)'}`,
    ),
  )
  const { init, id } = await connect(i, session, tokens)
  checks.push(checkAccepted('token.accepted', 'initialize', init, i.discovery.issuer))
  let tools: { name: string; annotations?: { readOnlyHint?: boolean } }[] = []
  if (init.status === 200) {
    const list = await withToken(i, session, tokens, { id: 2, method: 'tools/list' }, id)
    checks.push(checkAccepted('token.accepted_tools_list', 'tools/list', list, i.discovery.issuer))
    const result = list.message?.result as { tools?: typeof tools } | undefined
    tools = Array.isArray(result?.tools) ? result.tools : []
  }
  checks.push(
    ...checkClaims(readClaims(tokens.access_token), i.discovery.resource, {
      scope: tokens.scope,
      expires_at: tokens.expires_at,
      token_type: tokens.token_type,
    }),
  )

  // Refresh: when the first sign-in (no offline_access) got none and the AS lists offline_access, ask again with it.
  let offlineOnly = false
  if (!tokens.refresh_token && asOffers) {
    // Sign out first: a new session on the same store would otherwise adopt the stored tokens instead of signing in.
    await session.logout().catch(() => {})
    session = i.session(true)
    const second = await signIn(i, session)
    if (!second.tokens) {
      checks.push(
        check(
          'refresh.issued',
          'warn',
          'Refresh token',
          SPECS.mcpRefresh,
          `none without offline_access; the sign-in asking for offline_access failed: ${second.error?.message ?? 'unknown error'}`,
          { fix: 'Issue refresh tokens to clients registered with the refresh_token grant.' },
        ),
      )
      const dcr = await cleanUp(i, session)
      return { checks, ...(dcr ? { dcr } : {}) }
    }
    tokens = second.tokens
    offlineOnly = Boolean(tokens.refresh_token)
  }
  const refreshed = await refreshChecks(i, session, tokens, offlineOnly, asOffers)
  checks.push(...refreshed.checks)
  checks.push(...(await stepUpChecks(i, session, refreshed.tokens, tools)))

  const dcr = await cleanUp(i, session)
  return { checks, ...(dcr ? { dcr } : {}) }
}

/** Revoke the tokens (RFC 7009) and delete a client the sign-in registered (RFC 7592) where the AS allows. */
async function cleanUp(i: LoginInputs, session: Session): Promise<DcrOutcome | undefined> {
  const issuer = i.discovery.issuer
  const client = (await session.store.get<ClientInfo>(storeKey.registration(issuer)))?.value
  await session.logout().catch(() => {})
  if (client?.source !== 'dcr') return undefined
  return {
    kind: 'registered-by-sign-in',
    client_id: client.client_id,
    deleted: await deleteClient(client, i.fetch),
  }
}

/** RFC 7592 §2.3 DELETE of a registered client. @see https://www.rfc-editor.org/rfc/rfc7592#section-2.3 */
export async function deleteClient(
  client: Pick<ClientInfo, 'registration_client_uri' | 'registration_access_token'>,
  fetch: FetchLike = globalThis.fetch,
): Promise<'yes' | 'not-offered' | { status: number }> {
  if (!client.registration_client_uri || !client.registration_access_token) return 'not-offered'
  try {
    const r = await fetch(client.registration_client_uri, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${client.registration_access_token}` },
      signal: AbortSignal.timeout(10_000),
    })
    await r.body?.cancel().catch(() => {})
    return r.status === 204 || r.status === 200 ? 'yes' : { status: r.status }
  } catch {
    return { status: 0 }
  }
}
