/**
 * `mcp-oauth tools <url>`: list the server's tools through the official SDK v2 client over the authorized fetch
 * (signing in or stepping up as needed), to try a server before wiring it into a host.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/server/tools
 */
import type { CliIo } from '../main.ts'
import { parseCommandArgs, SESSION_FLAGS_HELP, type SessionFlags } from '../options.ts'
import {
  EXIT_CODES,
  expectPositionals,
  guard,
  type SessionOverrides,
  withClient,
  withSession,
} from '../session-command.ts'

/** Usage of `mcp-oauth tools`. */
export const usage = `Usage: mcp-oauth tools <url> [options]

Lists the tools of the MCP server at <url>: name and description, one per line (with --json: the
tools/list result's "tools" array). Signs in first when needed, like \`connect\` would.

Options:
  --json                     the tools as JSON on stdout (name, description, inputSchema, …)

Exit codes: 0 listed, 1 failure, 2 usage, 3 sign-in needed but no person can be asked here.

${SESSION_FLAGS_HELP}`

/** Tool summary lines: `name  description`. */
export function formatTools(tools: Array<{ name: string; description?: string | undefined }>): string {
  if (!tools.length) return 'The server lists no tools.\n'
  const width = Math.max(...tools.map((t) => t.name.length))
  return (
    tools
      .map((t) => `${t.name.padEnd(width)}  ${(t.description ?? '').split('\n')[0]}`.trimEnd())
      .join('\n') + '\n'
  )
}

/** Runs `mcp-oauth tools`. @see https://modelcontextprotocol.io/specification/2026-07-28/server/tools */
export async function run(args: string[], io: CliIo, overrides: SessionOverrides = {}): Promise<number> {
  return await guard('tools', io, async () => {
    const { values, positionals } = parseCommandArgs(args)
    expectPositionals('tools', positionals, ['url'])
    const flags = values as SessionFlags
    return await withSession(positionals[0], flags, io, overrides, async (cli) => {
      await withClient(cli, async (client) => {
        const tools = []
        let cursor: string | undefined
        do {
          const page = await client.listTools(cursor ? { cursor } : {})
          tools.push(...page.tools)
          cursor = page.nextCursor
        } while (cursor && tools.length < 10_000)
        io.stdout.write(flags.json ? `${JSON.stringify(tools, null, 2)}\n` : formatTools(tools))
      })
      return EXIT_CODES.ok
    })
  })
}
