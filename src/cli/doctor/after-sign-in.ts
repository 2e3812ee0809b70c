/**
 * After sign-in: refresh (issued, works, rotated) and step-up (a tool's 403 challenge, the engine's re-authorization
 * and the retried call).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#step-up-authorization-flow
 */
import type { Session } from '../../client/session.ts'
import type { TokenSet } from '../../client/tokens.ts'
import { parseScope } from '../../shared/scope.ts'
import { readMcpChallenge } from '../../shared/www-authenticate.ts'
import { connect, type McpTarget, withToken } from './authorized-mcp.ts'
import { type Check, check, SPECS } from './report.ts'
import { checkStepUpChallenge } from './token.ts'

/** Refresh checks; returns the newest tokens. @see https://www.rfc-editor.org/rfc/rfc6749#section-6 */
export async function refreshChecks(
  i: McpTarget,
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

/** Step-up checks on read-only tools and those named with --call-tool. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#runtime-insufficient-scope-errors */
export async function stepUpChecks(
  i: McpTarget & { callTools: readonly string[] },
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
