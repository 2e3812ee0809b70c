/**
 * `doctor --login`: a real sign-in through the client engine, then what only a signed-in client can see: the
 * token accepted, its claims, refresh (and whether it needs offline_access), and step-up on a tool's 403.
 * Tokens stay in memory, are revoked at the end, and are never printed.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import type { DiscoveryResult } from '../../client/discovery.ts'
import { isResourceNonceChallenge, rememberNonce, resourceProof } from '../../client/dpop.ts'
import type { FetchLike } from '../../client/http.ts'
import type { ClientInfo } from '../../client/registration.ts'
import type { Session } from '../../client/session.ts'
import { storeKey } from '../../client/stores/store.ts'
import type { TokenSet } from '../../client/tokens.ts'
import { McpOAuthError } from '../../shared/errors.ts'
import { parseScope } from '../../shared/scope.ts'
import { type McpChallenge, readMcpChallenge } from '../../shared/www-authenticate.ts'
import { type McpExchange, PROTOCOL_VERSION, postMcp } from './network.ts'
import type { DcrOutcome } from './registration.ts'
import { type Check, check, SPECS, specFromUrl } from './report.ts'
import { checkAccepted, checkClaims, checkStepUpChallenge, readClaims } from './token.ts'

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

/** POST one MCP message with the session's token (Bearer, or DPoP with a proof and one nonce retry). */
async function withToken(
  i: LoginInputs,
  session: Session,
  tokens: TokenSet,
  message: { method: string; params?: unknown; id?: number },
  mcpSession?: string,
): Promise<McpExchange> {
  const base = i.fetch ?? globalThis.fetch
  const dpop = tokens.token_type.toLowerCase() === 'dpop' ? session.dpopKey : undefined
  const fetch: FetchLike = async (input, init) => {
    for (let attempt = 0; ; attempt++) {
      const headers = new Headers(init?.headers)
      if (dpop) headers.set('dpop', await resourceProof(dpop, 'POST', i.server, tokens.access_token))
      const response = await base(input, { ...init, headers })
      if (!dpop) return response
      rememberNonce(i.server, response)
      if (attempt > 0 || !isResourceNonceChallenge(response)) return response
      await response.body?.cancel().catch(() => {})
    }
  }
  return postMcp(i.server, message, {
    fetch,
    headers: i.headers,
    authorization: `${dpop ? 'DPoP' : 'Bearer'} ${tokens.access_token}`,
    ...(mcpSession ? { sessionId: mcpSession } : {}),
    ...(message.method === 'initialize' ? {} : { protocolVersion: PROTOCOL_VERSION }),
  })
}

/** initialize + notifications/initialized; returns the exchange and the MCP session id. */
async function connect(i: LoginInputs, session: Session, tokens: TokenSet) {
  const init = await withToken(i, session, tokens, {
    id: 1,
    method: 'initialize',
    params: {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 'mcp-oauth-doctor', version: '1' },
    },
  })
  const id = init.headers['mcp-session-id']
  if (init.status === 200) await withToken(i, session, tokens, { method: 'notifications/initialized' }, id)
  return { init, id }
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
      `signed in at ${status.issuer}; client ${status.client_id} (${status.client_source ?? 'registered'}); granted ${tokens.scope ?? '(scope not stated)'}`,
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
    const again = i.session(true)
    const second = await signIn(i, again)
    await session.logout().catch(() => {})
    if (second.tokens) {
      session = again
      tokens = second.tokens
      offlineOnly = Boolean(tokens.refresh_token)
    }
  }
  const refreshed = await refreshChecks(i, session, tokens, offlineOnly, asOffers)
  checks.push(...refreshed.checks)
  checks.push(...(await stepUpChecks(i, session, refreshed.tokens, tools)))

  const dcr = await cleanUp(i, session)
  return { checks, ...(dcr ? { dcr } : {}) }
}

async function refreshChecks(
  i: LoginInputs,
  session: Session,
  tokens: TokenSet,
  offlineOnly: boolean,
  asOffers: boolean,
): Promise<{ checks: Check[]; tokens: TokenSet }> {
  const checks: Check[] = []
  if (!tokens.refresh_token) {
    checks.push(
      check(
        'refresh.issued',
        'warn',
        'Refresh token',
        SPECS.mcpRefresh,
        `no refresh token issued${asOffers ? ', not even with offline_access' : ''}: people must sign in again whenever the access token expires`,
        {
          fix: 'Issue refresh tokens (rotated) to public MCP clients that register the refresh_token grant.',
        },
      ),
    )
    return { checks, tokens }
  }
  checks.push(
    offlineOnly
      ? check(
          'refresh.issued',
          'warn',
          'Refresh token',
          SPECS.mcpRefresh,
          'issued only when offline_access is requested; clients that do not ask for it (the spec makes it optional) get none',
          {
            diagnosis: 'refresh_only_with_offline_access',
            fix: 'Issue refresh tokens to clients registered with the refresh_token grant, with or without offline_access.',
          },
        )
      : check(
          'refresh.issued',
          'pass',
          'Refresh token',
          SPECS.mcpRefresh,
          asOffers ? 'issued without offline_access being requested' : 'issued',
        ),
  )
  try {
    const next = await session.refresh(tokens)
    const { init } = await connect(i, session, next)
    const accepted = init.status === 200
    checks.push(
      check(
        'refresh.works',
        accepted ? 'pass' : 'fail',
        'Refresh',
        SPECS.rfc6749Refresh,
        accepted
          ? 'refresh_token grant → new access token, accepted by the server'
          : `the refreshed token → ${init.status}`,
        { fix: 'Make refreshed access tokens carry the same audience and scopes as the original ones.' },
      ),
    )
    const rotated = next.refresh_token !== undefined && next.refresh_token !== tokens.refresh_token
    checks.push(
      check(
        'refresh.rotation',
        rotated ? 'pass' : 'warn',
        'Refresh token rotation',
        SPECS.mcpSecurity,
        rotated ? 'a new refresh token came with the refresh' : 'the same refresh token (or none) came back',
        { fix: 'Rotate refresh tokens for public clients (OAuth 2.1 §4.3.1).' },
      ),
    )
    return { checks, tokens: next }
  } catch (e) {
    checks.push(
      check(
        'refresh.works',
        'fail',
        'Refresh',
        SPECS.rfc6749Refresh,
        e instanceof Error ? e.message : String(e),
        {
          fix: 'Accept the refresh_token grant from the public client that received the token (no client secret).',
        },
      ),
    )
  }
  return { checks, tokens }
}

async function stepUpChecks(
  i: LoginInputs,
  session: Session,
  tokens: TokenSet,
  tools: { name: string; annotations?: { readOnlyHint?: boolean } }[],
): Promise<Check[]> {
  const names = new Set(i.callTools)
  for (const t of tools) if (t.annotations?.readOnlyHint === true) names.add(t.name)
  const candidates = [...names].slice(0, 8)
  if (candidates.length === 0) {
    return [
      check(
        'stepup.challenge',
        'info',
        'Step-up',
        SPECS.mcpStepUp,
        'no tool called: doctor calls only tools annotated readOnlyHint; name one that needs more scope with --call-tool NAME',
      ),
    ]
  }
  const checks: Check[] = []
  const { id: mcpSession } = await connect(i, session, tokens)
  let n = 10
  for (const name of candidates) {
    const ex = await withToken(
      i,
      session,
      tokens,
      { id: n++, method: 'tools/call', params: { name, arguments: {} } },
      mcpSession,
    )
    if (ex.status !== 403) {
      checks.push(
        check(
          'stepup.call',
          'info',
          `Tool ${name}`,
          SPECS.mcpStepUp,
          `tools/call ${name} → ${ex.status ?? 'no response'} with scope ${tokens.scope ?? '(unknown)'}`,
        ),
      )
      continue
    }
    const challenge = checkStepUpChallenge(name, ex)
    checks.push(challenge)
    // Only the first 403 is followed: one step-up shows the behaviour, more would only ask for more consent.
    if (challenge.status !== 'pass') break
    const needed = parseScope(readMcpChallenge(ex.headers['www-authenticate'])?.scope)
    // The engine's own step-up: re-authorize with granted ∪ challenged scopes, then retry the call once.
    try {
      const upgraded = await session.authorize({
        reason: 'step-up',
        challengedScope: needed.join(' '),
        rejected: tokens,
      })
      const { id } = await connect(i, session, upgraded)
      const retried = await withToken(
        i,
        session,
        upgraded,
        { id: n++, method: 'tools/call', params: { name, arguments: {} } },
        id,
      )
      checks.push(
        check(
          'stepup.retry',
          retried.status === 200 ? 'pass' : 'fail',
          `Step-up (${name})`,
          SPECS.mcpStepUp,
          `re-authorized with ${upgraded.scope ?? needed.join(' ')}; ${name} → ${retried.status ?? 'no response'}`,
          {
            fix: `Grant the scopes named in the 403 challenge (${needed.join(' ')}) when the client asks for them.`,
          },
        ),
      )
    } catch (e) {
      checks.push(
        check(
          'stepup.retry',
          'fail',
          `Step-up (${name})`,
          SPECS.mcpStepUp,
          e instanceof Error ? e.message : String(e),
          {
            fix: `Let clients request the scopes named in the 403 challenge (${needed.join(' ')}).`,
          },
        ),
      )
    }
    break
  }
  return checks
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
