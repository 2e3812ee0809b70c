/**
 * `mcp-oauth call <url> <tool> --args '<json>'`: call one tool through the official SDK v2 client over the
 * authorized fetch (signing in or stepping up as needed) and print the result JSON on stdout.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/server/tools#calling-tools
 */
import { readFileSync } from 'node:fs'
import type { CliIo } from '../main.ts'
import { parseCommandArgs, SESSION_FLAGS_HELP, type SessionFlags } from '../options.ts'
import {
  EXIT_CODES,
  expectPositionals,
  guard,
  type SessionOverrides,
  usageError,
  withClient,
  withSession,
} from '../session-command.ts'

/** Usage of `mcp-oauth call`. */
export const usage = `Usage: mcp-oauth call <url> <tool> [--args '<json>'] [options]

Calls <tool> on the MCP server at <url> and prints the tools/call result as JSON on stdout (content,
structuredContent, isError). Signs in first when needed; a tool needing more scope triggers a step-up
sign-in (consent for the extra scope), as \`connect\` would.

Options:
  --args JSON                the tool's arguments as a JSON object (default {}); @FILE reads it from a file
  --compact                  one-line JSON instead of indented

Exit codes: 0 called (the tool succeeded), 1 failure or the tool reported an error (isError: the result is
still printed), 2 usage, 3 sign-in needed but no person can be asked here.

${SESSION_FLAGS_HELP}`

/** Parse `--args` into a JSON object. */
export function parseToolArgs(raw: string | undefined): Record<string, unknown> {
  if (raw === undefined) return {}
  let text = raw
  if (raw.startsWith('@')) {
    try {
      text = readFileSync(raw.slice(1), 'utf8')
    } catch {
      throw usageError('call', `cannot read ${raw.slice(1, 200)}`)
    }
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw usageError('call', `--args is not valid JSON: ${text.slice(0, 60)}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw usageError('call', '--args must be a JSON object, e.g. --args \'{"query":"x"}\'')
  }
  return value as Record<string, unknown>
}

/** Runs `mcp-oauth call`. @see https://modelcontextprotocol.io/specification/2026-07-28/server/tools#calling-tools */
export async function run(args: string[], io: CliIo, overrides: SessionOverrides = {}): Promise<number> {
  return await guard('call', io, async () => {
    const { values, positionals } = parseCommandArgs(args, {
      args: { type: 'string' },
      compact: { type: 'boolean' },
    })
    expectPositionals('call', positionals, ['url', 'tool'])
    const flags = values as SessionFlags & { args?: string; compact?: boolean }
    const toolArgs = parseToolArgs(flags.args)
    return await withSession(positionals[0], flags, io, overrides, (cli) =>
      withClient(cli, async (client) => {
        const result = await client.callTool({ name: positionals[1]!, arguments: toolArgs })
        io.stdout.write(`${JSON.stringify(result, null, flags.compact ? undefined : 2)}\n`)
        if (result.isError) {
          io.stderr.write(`mcp-oauth call: the tool ${positionals[1]} reported an error (isError: true)\n`)
          return EXIT_CODES.failure
        }
        return EXIT_CODES.ok
      }),
    )
  })
}
