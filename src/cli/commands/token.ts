/**
 * `mcp-oauth token <url>`: print a fresh access token for scripts (like `gh auth token`): the stored one while it
 * is valid, refreshed when it is about to expire, or a new sign-in when there is none. Only the token on stdout.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#access-token-usage
 */
import type { TokenSet } from '../../client/index.ts'
import { InteractionRequiredError, McpOAuthError, SPEC } from '../../shared/errors.ts'
import { redactUrl } from '../../shared/redact.ts'
import type { CliIo } from '../main.ts'
import { parseCommandArgs, SESSION_FLAGS_HELP, type SessionFlags } from '../options.ts'
import {
  EXIT_CODES,
  expectPositionals,
  findOAuthError,
  guard,
  type SessionOverrides,
  signIn,
  withSession,
} from '../session-command.ts'

/** Usage of `mcp-oauth token`. */
export const usage = `Usage: mcp-oauth token <url> [options]

Prints an access token for the MCP server at <url> on stdout, followed by a newline, and nothing else:
  curl -H "Authorization: Bearer $(mcp-oauth token https://mcp.example.com/mcp --dpop never)" …
The stored token is used while valid; it is refreshed when about to expire; without a session (or when
the refresh is refused) you are signed in first (messages go to stderr).

DPoP: when the authorization server offers DPoP, the session's token is DPoP-bound (token type DPoP, see
\`status\`) and only works with a DPoP proof signed by this machine's key; plain \`token\` still prints it
(it is what \`connect\` uses) and warns on stderr that a Bearer header will be refused. For scripts, use
  mcp-oauth token <url> --dpop never
which always prints a Bearer token: if the stored one is DPoP-bound, it signs in once more without DPoP
and keeps that Bearer session (needs a person; else it says what to run).

Exit codes: 0 token printed, 1 failure, 2 usage, 3 sign-in needed but no person can be asked here
(run \`mcp-oauth login <url>\`, with \`--dpop never\` for a Bearer token, in a terminal first).

${SESSION_FLAGS_HELP}`

/** Margin under which a stored token is not handed out (a script needs a moment to use it). */
const MIN_VALIDITY_MS = 10_000

function isDpop(t: TokenSet): boolean {
  return t.token_type.toLowerCase() === 'dpop'
}

function usable(t: TokenSet | undefined, now = Date.now()): t is TokenSet {
  return t !== undefined && (t.expires_at === undefined || t.expires_at - now > MIN_VALIDITY_MS)
}

/** Runs `mcp-oauth token`. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#access-token-usage */
export async function run(args: string[], io: CliIo, overrides: SessionOverrides = {}): Promise<number> {
  return await guard('token', io, async () => {
    const { values, positionals } = parseCommandArgs(args)
    expectPositionals('token', positionals, ['url'])
    const flags = values as SessionFlags
    return await withSession(positionals[0], flags, io, overrides, async (cli) => {
      const where = redactUrl(cli.session.server)
      const bearer = flags.dpop === 'never'
      // With --dpop never the command that works where nobody can be asked is a login without DPoP too.
      const signInHere = () =>
        signIn(cli).catch((error) => {
          const e = findOAuthError(error)
          if (!bearer || !(e instanceof InteractionRequiredError)) throw error
          throw new InteractionRequiredError(e.code, `${e.message} (for a Bearer token without DPoP)`, {
            spec: SPEC.rfc9449,
            hint: `run \`mcp-oauth login ${where} --dpop never\` in a terminal, then \`mcp-oauth token ${where} --dpop never\``,
            cause: error,
          })
        })
      // tokens() refreshes a token about to expire; a failed refresh leaves the old one, hence the check.
      let tokens = await cli.session.tokens()
      if (!usable(tokens)) {
        io.stderr.write(
          tokens
            ? `The session for ${where} has expired and could not be refreshed; signing in again…\n`
            : `Not signed in to ${where}; signing in…\n`,
        )
        tokens = await signInHere()
      }
      if (bearer && isDpop(tokens)) {
        io.stderr.write(
          `The stored token for ${where} is DPoP-bound; --dpop never needs a Bearer token: signing in again without DPoP…\n`,
        )
        tokens = await signInHere()
        if (isDpop(tokens)) {
          throw new McpOAuthError(
            'dpop_required',
            `the authorization server for ${where} issued a DPoP-bound token even without DPoP`,
            {
              spec: SPEC.rfc9449,
              hint: 'This server requires DPoP: send the token with "Authorization: DPoP …" and a proof from this machine\'s key, or use `mcp-oauth call`/`tools`.',
            },
          )
        }
      }
      if (isDpop(tokens)) {
        io.stderr.write(
          `mcp-oauth token: this token is DPoP-bound: a plain "Authorization: Bearer" header will be refused (it needs "Authorization: DPoP" and a proof from this machine's key)\n` +
            `  next: for scripts, run \`mcp-oauth token ${where} --dpop never\` to get a Bearer token\n`,
        )
      }
      io.stdout.write(`${tokens.access_token}\n`)
      return EXIT_CODES.ok
    })
  })
}
