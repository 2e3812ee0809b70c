/**
 * `mcp-oauth logout <url>` (or `--all`): revoke the tokens at the authorization server where it allows (RFC 7009)
 * and forget them; says whether they were revoked. The client registration is kept for the next sign-in.
 * @see https://www.rfc-editor.org/rfc/rfc7009
 */
import { OAuthResponseError, type Session } from '../../client/index.ts'
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
(RFC 7009) when it offers revocation, then deletes them from the store. Says what was revoked: a
self-contained (JWT) access token that the server cannot revoke stays valid until it expires, but cannot
be renewed once its refresh token is revoked.

Options:
  --all                      sign out of every server in the store
  --json                     one JSON line per server on stdout:
                             {"server","signed_in","revoked","access_token_revoked"?,"valid_until"?,"error"?}

Exit codes: 0 signed out (or was not signed in), 1 failure (revocation failed: the local copy is
still deleted), 2 usage.

${SESSION_FLAGS_HELP}`

interface Outcome {
  server: string
  signed_in: boolean
  /** The session can no longer be renewed: the refresh token (or the only token) was revoked. */
  revoked: boolean
  /** False when the server could revoke the refresh token but not the (self-contained) access token. */
  access_token_revoked?: boolean
  /** When a token that could not be revoked stops working. */
  valid_until?: string
  error?: string
}

async function signOut(session: Session, io: CliIo): Promise<Outcome> {
  const before = await session.status()
  try {
    const r = await session.logout()
    // The engine's discovery falls back to default endpoints when nothing answers; "no revocation endpoint"
    // then really means "could not reach the servers", which must not read as a clean sign-out.
    const unreachable = session.trace.steps.find((step) => step.outcome === 'network-error')
    if (r.signed_in && !r.revoked && unreachable) {
      io.stderr.write(
        `mcp-oauth logout: could not revoke the tokens for ${session.server}: ${new URL(unreachable.url).origin} did not answer\n` +
          `  next: they are deleted here but stay valid at the server until they expire; check the network if that matters\n`,
      )
      return {
        server: session.server,
        ...r,
        ...(before.expires_at ? { valid_until: before.expires_at } : {}),
        error: 'network_error',
      }
    }
    return { server: session.server, ...r, ...(r.revoked ? { access_token_revoked: true } : {}) }
  } catch (error) {
    const e = findOAuthError(error)
    // RFC 7009 §2.2.1: unsupported_token_type for the access token (revoked after the refresh token) means a
    // self-contained JWT the server cannot revoke; the refresh token, revoked first, is gone.
    if (e instanceof OAuthResponseError && e.error === 'unsupported_token_type' && before.has_refresh_token) {
      return {
        server: session.server,
        signed_in: true,
        revoked: true,
        access_token_revoked: false,
        ...(before.expires_at ? { valid_until: before.expires_at } : {}),
      }
    }
    // The engine deletes the local copy even when revocation fails; report both facts.
    io.stderr.write(
      `mcp-oauth logout: could not revoke the tokens for ${session.server}: ${e?.message ?? String(error)}\n` +
        `  next: they are deleted here but stay valid at the server until they expire; retry when it is reachable if that matters\n`,
    )
    return {
      server: session.server,
      signed_in: true,
      revoked: false,
      ...(before.expires_at ? { valid_until: before.expires_at } : {}),
      error: e?.code ?? 'revocation_failed',
    }
  }
}

function until(iso: string | undefined): string {
  return iso ? ` until ${iso} (${relative(Date.parse(iso) - Date.now())})` : ' until it expires'
}

function describe(o: Outcome): string {
  if (!o.signed_in) return `Not signed in to ${o.server}; nothing to do.`
  if (o.revoked && o.access_token_revoked !== false)
    return `Signed out of ${o.server}: the authorization server revoked the tokens.`
  if (o.revoked)
    return `Signed out of ${o.server}: the authorization server revoked the refresh token; the access token is self-contained (it cannot revoke it) and stays valid${until(o.valid_until)}.`
  if (o.error) return `Signed out of ${o.server} locally; the tokens were NOT revoked (see above).`
  return `Signed out of ${o.server} locally; the authorization server offers no revocation, so the tokens stay valid${until(o.valid_until)}.`
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
