/**
 * `mcp-oauth status [url]`: what is stored for one server, or for every server in the store: issuer, client and
 * how it was obtained, scopes, expiry, store. Never a token value.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
import {
  checkAccount,
  DEFAULT_ACCOUNT,
  FileStore,
  parseCurrentKey,
  Session,
  type SessionStatus,
  storeKey,
  type TokenStore,
} from '../../client/index.ts'
import { redactInput, redactUrl } from '../../shared/redact.ts'
import type { CliIo } from '../main.ts'
import { openCliStore, parseCommandArgs, SESSION_FLAGS_HELP, type SessionFlags } from '../options.ts'
import {
  EXIT_CODES,
  expectPositionals,
  guard,
  type SessionOverrides,
  usageError,
} from '../session-command.ts'

/** Usage of `mcp-oauth status`. */
export const usage = `Usage: mcp-oauth status [url] [options]

Shows the stored sign-in for the MCP server at <url>, or for every server in the store when no URL is
given: authorization server (issuer), client id and how it was obtained, scopes, expiry and the store.
Token values are never shown (use \`mcp-oauth token <url>\` for that).

Options:
  --json                     one JSON object on stdout: {"store", "store_dir"?, "sessions": [...]}
  --store KIND, --store-dir DIR  which store to read (see below)

Exit codes: 0 shown (with a URL: signed in), 1 failure, 2 usage, 3 with a URL: not signed in.

${SESSION_FLAGS_HELP}`

/** The `--json` document. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export interface StatusDocument {
  store: string
  store_dir?: string
  sessions: Array<SessionStatus & { expired?: boolean }>
}

/** Servers and accounts with a current session in `store` (keys `current <resource>[ account=<name>]`). */
export async function storedServers(store: TokenStore): Promise<{ server: string; account: string }[]> {
  if (!store.list) {
    throw usageError('status', `the ${store.kind} store cannot list its sessions; pass the server URL`)
  }
  const found = (await store.list(storeKey.current(''))).flatMap((k) => parseCurrentKey(k) ?? [])
  // Each server's accounts together, the default one first.
  return found.sort((a, b) =>
    a.server === b.server
      ? a.account === DEFAULT_ACCOUNT
        ? -1
        : b.account === DEFAULT_ACCOUNT
          ? 1
          : a.account.localeCompare(b.account)
      : a.server.localeCompare(b.server),
  )
}

/** "in 59 min", "3 h ago"… */
export function relative(ms: number): string {
  const abs = Math.abs(ms)
  const text =
    abs < 90_000
      ? `${Math.round(abs / 1000)} s`
      : abs < 90 * 60_000
        ? `${Math.round(abs / 60_000)} min`
        : abs < 36 * 3_600_000
          ? `${Math.round(abs / 3_600_000)} h`
          : `${Math.round(abs / 86_400_000)} days`
  return ms >= 0 ? `in ${text}` : `${text} ago`
}

/** Human lines for one session (no token values: SessionStatus has none). */
export function formatStatus(s: SessionStatus, now = Date.now()): string {
  const server = redactUrl(s.server)
  const flag = s.account ? ` --account ${s.account}` : ''
  const title = s.account ? `${server} (account ${s.account})` : server
  if (!s.signed_in) return `${title}\n  not signed in (run: mcp-oauth login ${server}${flag})\n`
  const lines = [title]
  lines.push(`  signed in      yes`)
  lines.push(`  issuer         ${s.issuer}`)
  if (s.resource && s.resource !== s.server) lines.push(`  resource       ${redactUrl(s.resource)}`)
  lines.push(`  client id      ${s.client_id}${s.client_source ? ` (${clientSource(s.client_source)})` : ''}`)
  lines.push(`  scopes         ${s.scope ?? '(none granted explicitly)'}`)
  lines.push(
    `  token type     ${tokenType(s.token_type)}${s.token_type?.toLowerCase() === 'dpop' ? ' (bound to a key)' : ''}`,
  )
  if (s.expires_at) {
    const left = Date.parse(s.expires_at) - now
    const refresh = s.has_refresh_token ? 'refreshed automatically' : 'no refresh token: sign in again then'
    lines.push(
      `  expires        ${s.expires_at} (${left > 0 ? relative(left) : `expired ${relative(left)}`}; ${refresh})`,
    )
  } else {
    lines.push(`  expires        not stated by the server`)
  }
  return `${lines.join('\n')}\n`
}

/** The token type as RFC 9449 writes it ("Bearer", "DPoP"); others as the server sent them. @see https://www.rfc-editor.org/rfc/rfc9449#section-5 */
export function tokenType(t: string | undefined): string {
  if (t?.toLowerCase() === 'dpop') return 'DPoP'
  if (t?.toLowerCase() === 'bearer') return 'Bearer'
  return t ?? 'unknown'
}

function clientSource(source: string): string {
  if (source === 'dcr') return 'registered dynamically'
  if (source === 'cimd') return 'client ID metadata document'
  if (source === 'pre-registered') return 'pre-registered'
  return source
}

/**
 * What status shows of a session: URLs redacted (a query can hold a credential), the token type in the casing of
 * RFC 9449 ("Bearer", "DPoP": token_type values are case-insensitive, RFC 6749 §5.1), and whether it expired.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-5
 */
export function withExpired(s: SessionStatus, now = Date.now()): SessionStatus & { expired?: boolean } {
  const shown: SessionStatus = {
    ...s,
    server: redactUrl(s.server),
    ...(s.resource ? { resource: redactUrl(s.resource) } : {}),
    ...(s.token_type ? { token_type: tokenType(s.token_type) } : {}),
  }
  return s.expires_at ? { ...shown, expired: Date.parse(s.expires_at) <= now } : shown
}

/** Describe where the store is, for humans. */
export function describeStore(store: TokenStore): { kind: string; dir?: string } {
  return store instanceof FileStore ? { kind: store.kind, dir: store.dir } : { kind: store.kind }
}

/** Runs `mcp-oauth status`. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling */
export async function run(args: string[], io: CliIo, overrides: SessionOverrides = {}): Promise<number> {
  return await guard('status', io, async () => {
    const { values, positionals } = parseCommandArgs(args)
    expectPositionals('status', positionals, [], ['url'])
    const flags = values as SessionFlags
    // Read-only as documented: on a machine that never signed in, nothing is created.
    const store = overrides.store ?? (await openCliStore(flags, io.stderr, { readOnly: true }))
    const url = positionals[0]
    if (url !== undefined) {
      try {
        new URL(url)
      } catch {
        throw usageError('status', `not a URL: ${redactInput(url)}`)
      }
    }
    const account = checkAccount(flags.account)
    // With a URL: that account's session (the default one unless --account); without: every server and account.
    const servers = url !== undefined ? [{ server: url, account }] : await storedServers(store)
    const now = Date.now()
    const sessions = await Promise.all(
      servers.map(async (s) =>
        withExpired(await new Session({ serverUrl: s.server, account: s.account, store }).status(), now),
      ),
    )
    const where = describeStore(store)
    if (flags.json) {
      const doc: StatusDocument = {
        store: where.kind,
        ...(where.dir ? { store_dir: where.dir } : {}),
        sessions,
      }
      io.stdout.write(`${JSON.stringify(doc)}\n`)
    } else {
      const header = `Store: ${where.kind}${where.dir ? ` (${where.dir})` : ''}\n`
      const body = sessions.length
        ? sessions.map((s) => formatStatus(s, now)).join('\n')
        : 'No sessions stored. Sign in with: mcp-oauth login <url>\n'
      io.stdout.write(`${header}\n${body}`)
    }
    if (url !== undefined && !sessions[0]?.signed_in) return EXIT_CODES.signInRequired
    return EXIT_CODES.ok
  })
}
