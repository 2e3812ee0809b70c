/**
 * `mcp-oauth logout <url>` (or `--all`): revoke the tokens at the authorization server where it allows (RFC 7009)
 * and forget them; says whether they were revoked. The client registration is kept for the next sign-in.
 * @see https://www.rfc-editor.org/rfc/rfc7009
 */
import { OAuthResponseError, type Session } from '../../client/index.ts'
import { redactUrl, redactUrlsIn } from '../../shared/redact.ts'
import type { CliIo } from '../main.ts'
import {
  openCliStore,
  openSession,
  parseCommandArgs,
  SESSION_FLAGS_HELP,
  type SessionFlags,
} from '../options.ts'
import {
  EXIT_CODES,
  expectPositionals,
  findOAuthError,
  guard,
  type SessionOverrides,
} from '../session-command.ts'
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
                              "valid_until"?,"error"?}

Exit codes: 0 signed out (or was not signed in), 1 failure (revocation failed: the local copy is
still deleted), 2 usage.

${SESSION_FLAGS_HELP}`

interface Outcome {
  server: string
  signed_in: boolean
  /** Something was revoked at the authorization server: the session can no longer be renewed. */
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

async function signOut(session: Session, io: CliIo): Promise<Outcome> {
  const server = redactUrl(session.server)
  const before = await session.status()
  const stored = await session.load()
  const jwt = selfContained(stored?.access_token)
  const validUntil = jwt?.exp ?? before.expires_at
  const notRevoked = { ...(validUntil ? { valid_until: validUntil } : {}) }
  try {
    const r = await session.logout()
    if (!r.signed_in) return { server, signed_in: false, revoked: false }
    // The engine's discovery falls back to default endpoints when nothing answers; "no revocation endpoint"
    // then really means "could not reach the servers", which must not read as a clean sign-out.
    const unreachable = session.trace.steps.find((step) => step.outcome === 'network-error')
    if (!r.revoked && unreachable) {
      io.stderr.write(
        `mcp-oauth logout: could not revoke the tokens for ${server}: ${redactUrl(new URL(unreachable.url).origin)} did not answer${unreachable.note ? ` (${unreachable.note})` : ''}\n` +
          `  next: they are deleted here but stay valid at the server until they expire; check the network if that matters\n`,
      )
      return { server, signed_in: true, revoked: false, ...notRevoked, error: 'network_error' }
    }
    if (!r.revoked) return { server, signed_in: true, revoked: false, ...notRevoked }
    const refresh = before.has_refresh_token
    return {
      server,
      signed_in: true,
      revoked: refresh || !jwt,
      ...(refresh ? { refresh_token_revoked: true } : {}),
      access_token_revoked: !jwt,
      ...(jwt ? notRevoked : {}),
    }
  } catch (error) {
    const e = findOAuthError(error)
    // RFC 7009 §2.2.1: unsupported_token_type for the access token (revoked after the refresh token) means a
    // self-contained JWT the server cannot revoke; the refresh token, revoked first, is gone.
    if (e instanceof OAuthResponseError && e.error === 'unsupported_token_type' && before.has_refresh_token) {
      return {
        server,
        signed_in: true,
        revoked: true,
        refresh_token_revoked: true,
        access_token_revoked: false,
        ...notRevoked,
      }
    }
    // The engine deletes the local copy even when revocation fails; report both facts.
    io.stderr.write(
      `mcp-oauth logout: could not revoke the tokens for ${server}: ${redactUrlsIn(e?.message ?? String(error))}\n` +
        `  next: they are deleted here but stay valid at the server until they expire; retry when it is reachable if that matters\n`,
    )
    return {
      server,
      signed_in: true,
      revoked: false,
      ...notRevoked,
      error: e?.code ?? 'revocation_failed',
    }
  }
}

function until(iso: string | undefined): string {
  return iso ? ` until ${iso} (${relative(Date.parse(iso) - Date.now())})` : ' until it expires'
}

function describe(o: Outcome): string {
  if (!o.signed_in) return `Not signed in to ${o.server}; nothing to do.`
  const jwt = `the access token is a self-contained JWT, which revocation cannot reach: the MCP server accepts it${until(o.valid_until)}`
  if (o.refresh_token_revoked && o.access_token_revoked)
    return `Signed out of ${o.server}: the authorization server revoked the refresh token (the grant) and the access token.`
  if (o.refresh_token_revoked)
    return `Signed out of ${o.server}: the authorization server revoked the refresh token (the grant: no new access tokens); ${jwt}.`
  if (o.access_token_revoked)
    return `Signed out of ${o.server}: the authorization server revoked the access token (there was no refresh token).`
  if (o.error) return `Signed out of ${o.server} locally; nothing was revoked (see above).`
  return `Signed out of ${o.server} locally; nothing was revoked: the authorization server offers no revocation (RFC 7009) or cannot revoke these tokens, so the access token stays valid${until(o.valid_until)} and any refresh token until the server expires it.`
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
      for (const server of servers) {
        // These URLs passed the http check when their session was made; revoking must not fail on it now.
        const cli = await openSession(server, { ...flags, 'allow-http': true }, io.stderr, {
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
      else io.stderr.write(`${describe(o)}\n`)
    }
    return outcomes.some((o) => o.error) ? EXIT_CODES.failure : EXIT_CODES.ok
  })
}
