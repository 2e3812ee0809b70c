/**
 * `mcp-oauth logout <url>` (or `--all`): revoke the tokens at the authorization server where it allows (RFC 7009)
 * and forget them; says whether they were revoked. The client registration is kept for the next sign-in.
 * @see https://www.rfc-editor.org/rfc/rfc7009
 */
import type { Session } from '../../client/index.ts'
import { redactUrl, redactUrlsIn } from '../../shared/redact.ts'
import type { CliIo } from '../main.ts'
import {
  openCliStore,
  openSession,
  parseCommandArgs,
  SESSION_FLAGS_HELP,
  type SessionFlags,
} from '../options.ts'
import { EXIT_CODES, expectPositionals, guard, type SessionOverrides } from '../session-command.ts'
import { relative, storedServers } from './status.ts'

/** Usage of `mcp-oauth logout`. */
export const usage = `Usage: mcp-oauth logout <url> [options]
       mcp-oauth logout --all [options]

Signs out of the MCP server at <url>: revokes the refresh and access tokens at the authorization server
(RFC 7009) when it offers revocation, then deletes them from the store. Says exactly what was revoked: a
self-contained (JWT) access token cannot be revoked (a 200 from the revocation endpoint proves nothing for
it), so it stays valid until it expires, but cannot be renewed once the refresh token is revoked.

Options:
  --all                      sign out of every server in the store
  --json                     one JSON line per server on stdout:
                             {"server","signed_in","revoked","refresh_token_revoked"?,"access_token_revoked"?,
                              "valid_until"?,"not_sent"?,"error"?}

Exit codes: 0 signed out (or was not signed in), 1 failure (revocation failed: the local copy is
still deleted), 2 usage.

${SESSION_FLAGS_HELP}`

interface Outcome {
  server: string
  signed_in: boolean
  /**
   * The authorization server revoked at least one token. Whether the session can still be renewed is
   * `refresh_token_revoked`; whether the access token still works is `access_token_revoked` / `valid_until`.
   */
  revoked: boolean
  /** The refresh token (the grant) was revoked; absent when there was none. */
  refresh_token_revoked?: boolean
  /**
   * The access token was revoked. False for a self-contained (JWT) access token: a 200 from the revocation
   * endpoint proves nothing for it (RFC 7009 §2.2), the resource server accepts it until it expires.
   */
  access_token_revoked?: boolean
  /** When the access token that was not revoked stops working. */
  valid_until?: string
  /** Why no token was sent to the authorization server (see `LogoutResult.not_sent`). */
  not_sent?: 'no_revocation_endpoint' | 'issuer_changed' | 'no_client'
  error?: string
}

/** Whether the access token is self-contained (a JWT, RFC 9068): a resource server validates it without the AS. */
function selfContained(token: string | undefined): { exp?: string } | undefined {
  const parts = token?.split('.')
  if (parts?.length !== 3) return undefined
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as { alg?: unknown }
    if (typeof header.alg !== 'string') return undefined
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { exp?: unknown }
    return typeof claims.exp === 'number' ? { exp: new Date(claims.exp * 1000).toISOString() } : {}
  } catch {
    return undefined
  }
}

// Outcomes whose access token was a self-contained JWT: said in words, not a field of the JSON schema.
const withJwt = new WeakSet<Outcome>()

async function signOut(session: Session, io: CliIo): Promise<Outcome> {
  const server = redactUrl(session.server)
  const before = await session.status()
  const stored = await session.load()
  const jwt = selfContained(stored?.access_token)
  const validUntil = jwt?.exp ?? before.expires_at
  const notRevoked = { ...(validUntil ? { valid_until: validUntil } : {}) }
  const r = await session.logout()
  if (!r.signed_in) return { server, signed_in: false, revoked: false }
  const out: Outcome = { server, signed_in: true, revoked: false }
  if (jwt) withJwt.add(out)
  if (r.not_sent) out.not_sent = r.not_sent
  if (r.refresh_token_revoked !== undefined) out.refresh_token_revoked = r.refresh_token_revoked
  // RFC 7009 §2.2: a 200 also answers for tokens the AS did not or could not revoke; for a JWT it proves nothing.
  if (r.access_token_revoked !== undefined) out.access_token_revoked = r.access_token_revoked && !jwt
  out.revoked = out.refresh_token_revoked === true || out.access_token_revoked === true
  if (!out.access_token_revoked) Object.assign(out, notRevoked)
  // The engine's discovery falls back to default endpoints when nothing answers; "no revocation endpoint"
  // then really means "could not reach the servers", which must not read as a clean sign-out.
  const unreachable = session.trace.steps.find((step) => step.outcome === 'network-error')
  if (!out.revoked && !r.failures && unreachable) {
    io.stderr.write(
      `mcp-oauth logout: could not revoke the tokens for ${server}: ${redactUrl(new URL(unreachable.url).origin)} did not answer${unreachable.note ? ` (${unreachable.note})` : ''}\n` +
        `  next: they are deleted here but stay valid at the server until they expire; check the network if that matters\n`,
    )
    out.error = 'network_error'
    return out
  }
  for (const f of r.failures ?? []) {
    const what = f.token === 'discovery' ? 'the tokens' : `the ${f.token.replace('_', ' ')}`
    io.stderr.write(
      `mcp-oauth logout: could not revoke ${what} for ${server}: ${redactUrlsIn(f.error.message)}\n` +
        `  next: it is deleted here but stays valid at the server until it expires; ${redactUrlsIn(f.error.hint || 'retry when the server is reachable if that matters').replaceAll('<url>', server)}\n`,
    )
    out.error ??= f.error.code
  }
  return out
}

function until(iso: string | undefined): string {
  if (!iso) return ' until it expires'
  const left = Date.parse(iso) - Date.now()
  return left > 0 ? ` until ${iso} (${relative(left)})` : ` until it expires (it already did, at ${iso})`
}

const NOT_SENT = {
  no_revocation_endpoint: 'the authorization server offers no revocation (RFC 7009)',
  issuer_changed:
    'the server now names another authorization server than the one that issued the tokens, and tokens go only to their issuer',
  no_client:
    'the client registration these tokens were issued to is no longer in the store, so they could not be presented',
} as const

function describe(o: Outcome, jwt: boolean): string {
  if (!o.signed_in) return `Not signed in to ${o.server}; nothing to do.`
  const jwtLeft = `the access token is a self-contained JWT, which revocation cannot reach: an MCP server that only checks its signature accepts it${until(o.valid_until)}`
  const accessLeft =
    o.access_token_revoked === false && !o.error
      ? `the authorization server did not revoke the access token: it stays valid${until(o.valid_until)}`
      : `the access token was not revoked: it stays valid${until(o.valid_until)}`
  if (o.refresh_token_revoked && o.access_token_revoked)
    return `Signed out of ${o.server}: the authorization server revoked the refresh token (the grant) and the access token.`
  if (o.refresh_token_revoked)
    return `Signed out of ${o.server}: the authorization server revoked the refresh token (the grant: no new access tokens); ${jwt ? jwtLeft : accessLeft}.`
  if (o.access_token_revoked) {
    const refresh =
      o.refresh_token_revoked === false
        ? '; the refresh token was NOT revoked (see above): it stays valid until the server expires it'
        : ' (there was no refresh token)'
    return `Signed out of ${o.server}: the authorization server revoked the access token${refresh}.`
  }
  if (o.error) return `Signed out of ${o.server} locally; nothing was revoked (see above).`
  const why = o.not_sent ? NOT_SENT[o.not_sent] : 'the authorization server did not revoke these tokens'
  return `Signed out of ${o.server} locally; nothing was revoked: ${why}, so the access token stays valid${until(o.valid_until)} and any refresh token until the server expires it.`
}

/** Runs `mcp-oauth logout`. @see https://www.rfc-editor.org/rfc/rfc7009 */
export async function run(args: string[], io: CliIo, overrides: SessionOverrides = {}): Promise<number> {
  return await guard('logout', io, async () => {
    const { values, positionals } = parseCommandArgs(args, { all: { type: 'boolean' } })
    const flags = values as SessionFlags & { all?: boolean }
    expectPositionals('logout', positionals, flags.all ? [] : ['url'])
    const outcomes: Outcome[] = []
    if (flags.all) {
      const store = overrides.store ?? (await openCliStore(flags, io.stderr))
      const servers = await storedServers(store)
      if (!servers.length) io.stderr.write('No sessions stored; nothing to do.\n')
      for (const { server, account } of servers) {
        // These URLs passed the http check when their session was made; revoking must not fail on it now.
        const cli = await openSession(server, { ...flags, account, 'allow-http': true }, io.stderr, {
          ...overrides,
          store,
        })
        try {
          outcomes.push(await signOut(cli.session, io))
        } finally {
          await cli.close()
        }
      }
    } else {
      const cli = await openSession(positionals[0], flags, io.stderr, overrides)
      try {
        outcomes.push(await signOut(cli.session, io))
      } finally {
        await cli.close()
      }
    }
    for (const o of outcomes) {
      if (flags.json) io.stdout.write(`${JSON.stringify(o)}\n`)
      else io.stderr.write(`${describe(o, withJwt.has(o))}\n`)
    }
    return outcomes.some((o) => o.error) ? EXIT_CODES.failure : EXIT_CODES.ok
  })
}
