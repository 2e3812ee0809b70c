/**
 * `mcp-oauth token <url>`: print a fresh access token for scripts (like `gh auth token`): the stored one while it
 * is valid, refreshed when it is about to expire, or a new sign-in when there is none. Only the token on stdout.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#access-token-usage
 */
import type { TokenSet } from '../../client/index.ts'
import { redactUrl } from '../../shared/redact.ts'
import type { CliIo } from '../main.ts'
import { parseCommandArgs, SESSION_FLAGS_HELP, type SessionFlags } from '../options.ts'
import {
  EXIT_CODES,
  expectPositionals,
  guard,
  type SessionOverrides,
  signIn,
  withSession,
} from '../session-command.ts'

/** Usage of `mcp-oauth token`. */
export const usage = `Usage: mcp-oauth token <url> [options]

Prints an access token for the MCP server at <url> on stdout, followed by a newline, and nothing else:
  curl -H "Authorization: Bearer $(mcp-oauth token https://mcp.example.com/mcp)" …
The stored token is used while valid; it is refreshed when about to expire; without a session (or when
the refresh is refused) you are signed in first (messages go to stderr). If the token is DPoP-bound
(token type DPoP), it only works with a DPoP proof signed by this machine's key: stderr says so.

Exit codes: 0 token printed, 1 failure, 2 usage, 3 sign-in needed but no person can be asked here
(run \`mcp-oauth login <url>\` in a terminal first).

${SESSION_FLAGS_HELP}`

/** Margin under which a stored token is not handed out (a script needs a moment to use it). */
const MIN_VALIDITY_MS = 10_000

function usable(t: TokenSet | undefined, now = Date.now()): t is TokenSet {
  return t !== undefined && (t.expires_at === undefined || t.expires_at - now > MIN_VALIDITY_MS)
}

/** Runs `mcp-oauth token`. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#access-token-usage */
export async function run(args: string[], io: CliIo, overrides: SessionOverrides = {}): Promise<number> {
  return await guard('token', io, async () => {
    const { values, positionals } = parseCommandArgs(args)
    expectPositionals('token', positionals, ['url'])
    return await withSession(positionals[0], values as SessionFlags, io, overrides, async (cli) => {
      // tokens() refreshes a token about to expire; a failed refresh leaves the old one, hence the check.
      let tokens = await cli.session.tokens()
      if (!usable(tokens)) {
        io.stderr.write(
          tokens
            ? `The session for ${redactUrl(cli.session.server)} has expired and could not be refreshed; signing in again…\n`
            : `Not signed in to ${redactUrl(cli.session.server)}; signing in…\n`,
        )
        tokens = await signIn(cli)
      }
      if (tokens.token_type.toLowerCase() === 'dpop') {
        io.stderr.write(
          'mcp-oauth token: this token is DPoP-bound: send it as "Authorization: DPoP …" with a DPoP proof from this machine\'s key; a plain Bearer header will be refused\n',
        )
      }
      io.stdout.write(`${tokens.access_token}\n`)
      return EXIT_CODES.ok
    })
  })
}
