/**
 * `mcp-oauth config <host> <url>`: print the snippet that makes an MCP host (Claude Desktop, Claude Code, Cursor,
 * VS Code, Zed) start `mcp-oauth connect <url>` as a stdio server. The snippet alone goes to stdout; where it
 * goes, to stderr.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports#stdio
 */
import { parseArgs } from 'node:util'
import { redactInput } from '../../shared/redact.ts'
import type { CliIo } from '../main.ts'
import { SESSION_FLAGS } from '../options.ts'
import { EXIT_CODES, expectPositionals, guard, usageError } from '../session-command.ts'

/** The hosts `config` knows, with aliases. */
export const HOSTS = ['claude-desktop', 'claude-code', 'cursor', 'vscode', 'zed'] as const
/** One of {@link HOSTS}. */
export type Host = (typeof HOSTS)[number]
const ALIASES: Record<string, Host> = { claude: 'claude-desktop', 'vs-code': 'vscode', code: 'vscode' }

/** Usage of `mcp-oauth config`. */
export const usage = `Usage: mcp-oauth config <host> <url> [options] [connect options]

Prints the configuration that makes an MCP host run \`npx -y mcp-oauth-toolkit connect <url>\` as a local (stdio)
server. The snippet alone is printed on stdout; where to put it is printed on stderr.

Hosts: claude-desktop, claude-code, cursor, vscode, zed

Options:
  --name NAME       the server's name in the host (default: from the URL's host name)
  --package SPEC    the npm package to run (default mcp-oauth-toolkit; e.g. mcp-oauth-toolkit@0.1.0 to pin a version)
  --windows         for native Windows hosts: run npx through "cmd /c"
Any session option of \`connect\` (--scope, --client-id, --header, --store, --ca-file, …) given here is
added to the connect command in the snippet. Run \`mcp-oauth connect --help\` for them.

Exit codes: 0 printed, 2 usage (unknown host, bad URL).

Examples:
  mcp-oauth config claude-desktop https://mcp.example.com/mcp
  mcp-oauth config claude-code https://mcp.example.com/mcp --name example --scope "files:read"`

/** What goes into the snippet. */
export interface ServerLaunch {
  name: string
  command: string
  args: string[]
}

/** Where each host keeps the snippet (stderr text). */
const WHERE: Record<Host, string> = {
  'claude-desktop':
    'Add this to claude_desktop_config.json (Settings → Developer → Edit Config; macOS: ~/Library/Application Support/Claude/, Windows: %APPDATA%\\Claude\\), merging "mcpServers" if it exists, then restart Claude Desktop.',
  'claude-code':
    'Run this command (add --scope user for every project, or --scope project to share it through .mcp.json); `claude mcp list` shows it.',
  cursor:
    'Add this to ~/.cursor/mcp.json (every project) or .cursor/mcp.json in a project, merging "mcpServers" if it exists.',
  vscode:
    'Add this to .vscode/mcp.json in the workspace, or to your user mcp.json (command palette: "MCP: Open User Configuration"), merging "servers" if it exists.',
  zed: 'Add this to your Zed settings.json (command palette: "zed: open settings"), merging "context_servers" if it exists.',
}

/** A name a host accepts: from the URL's host name, lowercase letters, digits and dashes. */
export function defaultName(url: URL): string {
  const name = url.hostname
    .toLowerCase()
    .replace(/^mcp\./, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
  return name || 'mcp-server'
}

/** POSIX shell quoting for the Claude Code command line. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

/**
 * The snippet for `host`. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports#stdio
 */
export function snippet(host: Host, launch: ServerLaunch): string {
  const server = { command: launch.command, args: launch.args }
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`
  switch (host) {
    case 'claude-desktop':
    case 'cursor':
      return json({ mcpServers: { [launch.name]: server } })
    case 'vscode':
      return json({ servers: { [launch.name]: { type: 'stdio', ...server } } })
    case 'zed':
      return json({ context_servers: { [launch.name]: { ...server, env: {} } } })
    case 'claude-code':
      return `${['claude', 'mcp', 'add', launch.name, '--', launch.command, ...launch.args].map(shellQuote).join(' ')}\n`
  }
}

const OWN = {
  name: { type: 'string' },
  package: { type: 'string' },
  windows: { type: 'boolean' },
} as const

function parseConfigArgs(args: string[]) {
  return parseArgs({ args, options: { ...SESSION_FLAGS, ...OWN }, allowPositionals: true, strict: true })
}

/** Session options to pass on to `connect`, rebuilt from the parsed tokens (never `--json`). */
function connectOptions(args: string[]): string[] {
  const { tokens } = parseArgs({
    args,
    options: { ...SESSION_FLAGS, ...OWN },
    allowPositionals: true,
    strict: true,
    tokens: true,
  })
  const out: string[] = []
  for (const t of tokens) {
    if (t.kind !== 'option' || t.name in OWN || t.name === 'json') continue
    out.push(`--${t.name}`)
    if (t.value !== undefined) out.push(t.value)
  }
  return out
}

/** Runs `mcp-oauth config`. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports#stdio */
export async function run(args: string[], io: CliIo): Promise<number> {
  return await guard('config', io, async () => {
    let parsed: ReturnType<typeof parseConfigArgs>
    let forwarded: string[]
    try {
      parsed = parseConfigArgs(args)
      forwarded = connectOptions(args)
    } catch (e) {
      throw usageError('config', (e as Error).message)
    }
    const { values, positionals } = parsed
    expectPositionals('config', positionals, ['host', 'url'])
    const [hostArg, urlArg] = positionals as [string, string]
    const host: Host | undefined =
      ALIASES[hostArg.toLowerCase()] ?? HOSTS.find((h) => h === hostArg.toLowerCase())
    if (!host)
      throw usageError('config', `unknown host "${hostArg.slice(0, 40)}"; use one of: ${HOSTS.join(', ')}`)
    let url: URL
    try {
      url = new URL(urlArg)
    } catch {
      throw usageError('config', `not a URL: ${redactInput(urlArg)}`)
    }
    if (url.username || url.password)
      throw usageError(
        'config',
        `the server URL ${redactInput(url.href)} carries a user name or password; remove the part before "@" (connect refuses it)`,
      )
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw usageError('config', `the MCP server URL must be https:// (got ${url.protocol})`)
    }
    const pkg = values.package ?? 'mcp-oauth-toolkit'
    const npx = ['-y', pkg, 'connect', url.href, ...forwarded]
    const launch: ServerLaunch = {
      name: values.name ?? defaultName(url),
      command: values.windows ? 'cmd' : 'npx',
      args: values.windows ? ['/c', 'npx', ...npx] : npx,
    }
    io.stdout.write(snippet(host, launch))
    io.stderr.write(`${WHERE[host]}\n`)
    // A query may hold a credential: the hint then points at the snippet instead of printing it again.
    const login = url.search || url.hash ? '<the URL in the snippet>' : shellQuote(url.href)
    io.stderr.write(
      `Sign in once beforehand so the host never waits on a browser: npx -y ${shellQuote(pkg)} login ${login}\n`,
    )
    return EXIT_CODES.ok
  })
}
