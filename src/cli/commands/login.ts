/**
 * `mcp-oauth login <url>`: sign in to an MCP server now (browser, device code or paste) and keep the session in
 * the store, so `connect`, `token`, `tools` and `call` need no browser later.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#authorization-flow-steps
 */

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
import { formatStatus, withExpired } from './status.ts'

/** Usage of `mcp-oauth login`. */
export const usage = `Usage: mcp-oauth login <url> [options]

Signs in to the MCP server at <url> and stores the session. It asks the server what it needs (its 401
challenge), finds its authorization server, registers or reuses a client, then opens your browser (or shows
a device code, or prints the URL to open) and waits for you. Always signs in anew, even when a session exists.

Options:
  --json                     print the resulting status as JSON on stdout (never a token)

Exit codes: 0 signed in, 1 failure, 2 usage, 3 sign-in needs a person and none can be asked here.

${SESSION_FLAGS_HELP}`

/** Runs `mcp-oauth login`. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#authorization-flow-steps */
export async function run(args: string[], io: CliIo, overrides: SessionOverrides = {}): Promise<number> {
  return await guard('login', io, async () => {
    const { values, positionals } = parseCommandArgs(args)
    expectPositionals('login', positionals, ['url'])
    const flags = values as SessionFlags
    return await withSession(positionals[0], flags, io, overrides, async (cli) => {
      io.stderr.write(`Signing in to ${redactUrl(cli.session.server)}…\n`)
      await signIn(cli)
      // Redacted URLs and the documented token_type casing, as `status` shows them.
      const status = withExpired(await cli.session.status())
      if (flags.json) io.stdout.write(`${JSON.stringify(status)}\n`)
      else io.stderr.write(`Signed in.\n${formatStatus(status)}`)
      return EXIT_CODES.ok
    })
  })
}
