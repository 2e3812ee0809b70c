/**
 * `mcp-oauth login <url>`: sign in to an MCP server now (browser, device code or paste) and keep the session in
 * the store, so `connect`, `token`, `tools` and `call` need no browser later.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#authorization-flow-steps
 */

import { redactUrl } from '../../shared/redact.ts'
import type { CliIo } from '../main.ts'
import { translateMcpRemoteArgs } from '../mcp-remote-args.ts'
import { parseCommandArgs, SESSION_FLAGS_HELP, type SessionFlags } from '../options.ts'
import {
  EXIT_CODES,
  expectPositionals,
  guard,
  type SessionOverrides,
  signIn,
  usageError,
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
  --callback-path /PATH      loopback callback path, as mcp-remote takes it: the redirect URI becomes
                             http://localhost:PORT/PATH (PORT derived from the URL as mcp-remote does, unless
                             --callback-port or a port right after the URL is given)

mcp-remote's arguments are accepted as \`connect\` accepts them, so a host entry's argument list signs in here
too: \`mcp-oauth login <url> 63113 --static-oauth-client-info '{"client_id":"…"}'\` uses the redirect URI
http://localhost:63113/oauth/callback. See "From mcp-remote" in docs/cli.md.

Exit codes: 0 signed in, 1 failure, 2 usage, 3 sign-in needs a person and none can be asked here.

${SESSION_FLAGS_HELP}`

/** Runs `mcp-oauth login`. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#authorization-flow-steps */
export async function run(args: string[], io: CliIo, overrides: SessionOverrides = {}): Promise<number> {
  return await guard('login', io, async () => {
    // The same argument list as a host's connect (or mcp-remote) entry signs in with the same client and redirect URI.
    const compat = translateMcpRemoteArgs(args)
    if (compat.warning) io.stderr.write(`${compat.warning}\n`)
    const { values, positionals } = parseCommandArgs(compat.args, {
      'callback-path': { type: 'string' },
      transport: { type: 'string' },
    })
    expectPositionals('login', positionals, ['url'])
    const flags: SessionFlags = { ...values, ...(compat.used ? { envProxy: compat.envProxy } : {}) }
    const callbackPath = values['callback-path'] ?? compat.callbackPath
    if (callbackPath !== undefined && !callbackPath.startsWith('/'))
      throw usageError('login', `bad --callback-path ${callbackPath.slice(0, 60)}: it must start with "/"`)
    const more = {
      extra: {
        ...(Object.keys(compat.identity).length ? { identity: compat.identity } : {}),
        ...(compat.grant ? { grant: compat.grant } : {}),
      },
      interaction: {
        ...(callbackPath ? { path: callbackPath } : {}),
        ...(compat.authTimeoutMs ? { timeoutMs: compat.authTimeoutMs } : {}),
      },
      shape: { 'callback-path': callbackPath },
    }
    return await withSession(
      positionals[0],
      flags,
      io,
      overrides,
      async (cli) => {
        io.stderr.write(`Signing in to ${redactUrl(cli.session.server)}…\n`)
        await signIn(cli)
        // Redacted URLs and the documented token_type casing, as `status` shows them.
        const status = withExpired(await cli.session.status())
        if (flags.json) io.stdout.write(`${JSON.stringify(status)}\n`)
        else io.stderr.write(`Signed in.\n${formatStatus(status)}`)
        return EXIT_CODES.ok
      },
      more,
    )
  })
}
