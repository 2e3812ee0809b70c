/**
 * What a client only learns after sign-in, as pure checks: the token's audience, scopes and expiry (decoded, the
 * token itself never shown), refresh, and the 403 a tool answers when the token lacks a scope.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
import { decodeJwt } from 'jose'
import { canonicalResource, sameResource } from '../../shared/resource.ts'
import { readMcpChallenge } from '../../shared/www-authenticate.ts'
import type { McpExchange } from './network.ts'
import { type Check, check, SPECS } from './report.ts'

/** Claims doctor shows; `sub` and personal claims are left out on purpose. */
export interface TokenClaims {
  iss?: string
  aud: string[]
  scope?: string
  exp?: number
  client_id?: string
}

/** Decode a JWT access token's claims without verifying it (display only), or undefined for an opaque token. @see https://www.rfc-editor.org/rfc/rfc9068#section-2.2 */
export function readClaims(token: string): TokenClaims | undefined {
  if (token.split('.').length !== 3) return undefined
  try {
    const c = decodeJwt(token)
    const aud = c.aud === undefined ? [] : Array.isArray(c.aud) ? c.aud : [c.aud]
    const scope =
      typeof c['scope'] === 'string' ? c['scope'] : Array.isArray(c['scp']) ? c['scp'].join(' ') : undefined
    return {
      ...(c.iss ? { iss: c.iss } : {}),
      aud,
      ...(scope ? { scope } : {}),
      ...(c.exp ? { exp: c.exp } : {}),
      ...(typeof c['client_id'] === 'string' ? { client_id: c['client_id'] } : {}),
    }
  } catch {
    return undefined
  }
}

/**
 * The access token's audience against the resource the client asked for (RFC 8707), plus what it grants.
 * @see https://www.rfc-editor.org/rfc/rfc8707#section-2
 */
export function checkClaims(
  claims: TokenClaims | undefined,
  resource: string,
  tokenInfo: { scope?: string | undefined; expires_at?: number | undefined; token_type: string },
  now = Date.now(),
): Check[] {
  const life =
    tokenInfo.expires_at !== undefined
      ? `expires in ${Math.round((tokenInfo.expires_at - now) / 60_000)} min`
      : 'no expires_in given'
  if (!claims) {
    return [
      check(
        'token.claims',
        'info',
        'Access token',
        SPECS.mcpTokenHandling,
        `opaque ${tokenInfo.token_type} token; granted scope ${tokenInfo.scope ?? '(not stated)'}; ${life}; its audience is known only to the server`,
      ),
    ]
  }
  const checks: Check[] = [
    check(
      'token.claims',
      'info',
      'Access token',
      SPECS.rfc9068,
      `${tokenInfo.token_type} JWT; iss ${claims.iss ?? '(none)'}; aud ${claims.aud.join(', ') || '(none)'}; scope ${claims.scope ?? tokenInfo.scope ?? '(none)'}; ${life}`,
    ),
  ]
  const want = canonicalResource(resource)
  const exact = claims.aud.some((a) => a === resource || a === want)
  if (exact) {
    checks.push(check('token.audience', 'pass', 'Token audience', SPECS.rfc8707, `aud includes ${resource}`))
  } else if (claims.aud.some((a) => sameResource(a, resource))) {
    checks.push(
      check(
        'token.audience',
        'fail',
        'Token audience',
        SPECS.rfc8707,
        `aud ${claims.aud.join(', ')} differs from ${resource} by a trailing slash`,
        {
          diagnosis: 'trailing_slash_audience',
          fix: `Issue tokens with aud exactly ${resource} (the resource the client sent).`,
        },
      ),
    )
  } else {
    checks.push(
      check(
        'token.audience',
        'fail',
        'Token audience',
        SPECS.rfc8707,
        `aud ${claims.aud.join(', ') || '(none)'} does not name ${resource}: the resource parameter was ignored`,
        {
          fix: `Honour the RFC 8707 resource parameter: issue tokens whose aud is the MCP server (${resource}).`,
        },
      ),
    )
  }
  return checks
}

/**
 * Whether the server accepted the token on a real MCP request.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
export function checkAccepted(id: string, what: string, ex: McpExchange, issuer: string): Check {
  const title = `Token accepted (${what})`
  if (ex.status === 200 && !ex.message?.error)
    return check(id, 'pass', title, SPECS.mcpTokenHandling, `${what} with the token → 200`)
  const c = (() => {
    try {
      return readMcpChallenge(ex.headers['www-authenticate'])
    } catch {
      return undefined
    }
  })()
  const why = c?.error
    ? ` ${c.error}${c.error_description ? `: ${c.error_description.slice(0, 200)}` : ''}`
    : ''
  return check(
    id,
    'fail',
    title,
    SPECS.mcpTokenHandling,
    `${what} with a fresh token → ${ex.status ?? 'no response'}${why}${ex.message?.error ? ` (JSON-RPC error ${ex.message.error.message ?? ''})` : ''}`,
    {
      fix: `Accept access tokens from ${issuer} whose aud is this server's URL (check issuer, audience and signing keys in the server's token validation).`,
    },
  )
}

/**
 * The 403 a tool answered: MCP asks for `error="insufficient_scope"`, the needed `scope` and `resource_metadata`.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#runtime-insufficient-scope-errors
 */
export function checkStepUpChallenge(tool: string, ex: McpExchange): Check {
  const title = `Step-up challenge (${tool})`
  let c: ReturnType<typeof readMcpChallenge>
  try {
    c = readMcpChallenge(ex.headers['www-authenticate'])
  } catch {
    c = undefined
  }
  const missing = [
    c?.error === 'insufficient_scope' ? undefined : 'error="insufficient_scope"',
    c?.scope ? undefined : 'scope',
    c?.resource_metadata ? undefined : 'resource_metadata',
  ].filter(Boolean)
  if (missing.length === 0)
    return check(
      'stepup.challenge',
      'pass',
      title,
      SPECS.mcpStepUp,
      `${tool} → 403 insufficient_scope, scope="${c!.scope}", resource_metadata present`,
    )
  return check(
    'stepup.challenge',
    'warn',
    title,
    SPECS.mcpStepUp,
    `${tool} → 403 without ${missing.join(', ')}${c ? '' : ' (no Bearer challenge at all)'}: clients cannot tell which scope to ask for`,
    {
      fix: 'Answer 403 with WWW-Authenticate: Bearer error="insufficient_scope", scope="<needed scopes>", resource_metadata="<PRM URL>".',
    },
  )
}
