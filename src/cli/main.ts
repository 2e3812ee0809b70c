/**
 * The `mcp-oauth` command: `mcp-oauth <command> [args]`. Commands live in a table (one line each) and are
 * loaded on demand; human output goes to stderr, machine output (`--json`) to stdout.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import { isMcpOAuthError } from '../shared/errors.ts'
import { redactUrlsIn } from '../shared/redact.ts'

/** Streams a command writes to; tests pass their own. */
export interface CliIo {
  stdout: { write(text: string): unknown }
  stderr: { write(text: string): unknown }
}

/** What a command module exports. */
export interface CliCommand {
  /** Usage text shown by `mcp-oauth <command> --help`. */
  usage: string
  /** Runs the command; resolves to the process exit code. */
  run(args: string[], io: CliIo): Promise<number>
}

/** The command table: name → one-line summary and a lazy loader. Add a command with one line. */
export const COMMANDS: Record<string, { summary: string; load: () => Promise<CliCommand> }> = {
  doctor: {
    summary: "diagnose a server's OAuth chain and name the fix",
    load: () => import('./commands/doctor.ts'),
  },
  connect: {
    summary: 'bridge a stdio MCP host to a remote OAuth-protected server',
    load: () => import('./commands/connect.ts'),
  },
  serve: {
    summary: 'run an authorization server and a demo MCP server',
    load: () => import('./commands/serve.ts'),
  },
  users: { summary: "manage serve's local accounts", load: () => import('./commands/users.ts') },
  keys: { summary: "rotate serve's token signing keys", load: () => import('./commands/keys.ts') },
  login: { summary: 'sign in to a server and keep the session', load: () => import('./commands/login.ts') },
  logout: { summary: "revoke and forget a server's session", load: () => import('./commands/logout.ts') },
  status: { summary: 'show stored sessions (never a token)', load: () => import('./commands/status.ts') },
  token: { summary: 'print a fresh access token for scripts', load: () => import('./commands/token.ts') },
  tools: { summary: "list a server's tools", load: () => import('./commands/tools.ts') },
  call: { summary: 'call a tool and print the result JSON', load: () => import('./commands/call.ts') },
  config: { summary: 'print an MCP host config snippet', load: () => import('./commands/config.ts') },
}

/** Usage of the whole CLI. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length))
  const lines = Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`)
  return `Usage: mcp-oauth <command> [options]

Commands:
${lines.join('\n')}

Run \`mcp-oauth <command> --help\` for a command's options.
`
}

/** Exit codes: 0 ok, 1 failure at run time, 2 bad usage. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const

/**
 * Dispatches `argv` (without node and script) to a command and returns the exit code.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export async function main(argv: string[], given: CliIo = process): Promise<number> {
  const io = launchedByNpx() ? { stdout: given.stdout, stderr: npxCommands(given.stderr) } : given
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined
    if (topic && COMMANDS[topic]) {
      io.stdout.write(`${(await COMMANDS[topic].load()).usage}\n`)
      return EXIT.ok
    }
    ;(name === undefined ? io.stderr : io.stdout).write(usage())
    return name === undefined ? EXIT.usage : EXIT.ok
  }
  if (name === '--version' || name === '-V') {
    const { default: pkg } = await import('../../package.json', { with: { type: 'json' } })
    io.stdout.write(`${pkg.version}\n`)
    return EXIT.ok
  }
  const entry = COMMANDS[name]
  if (!entry) {
    io.stderr.write(`mcp-oauth: unknown command "${name}". Run \`mcp-oauth --help\` to list the commands.\n`)
    return EXIT.usage
  }
  // Before serve's modules load, so a re-exec does not load them twice.
  if (name === 'serve' && !rest.includes('--help') && !rest.includes('-h')) {
    ;(await import('./malloc-arenas.ts')).boundMallocArenas()
  }
  const command = await entry.load()
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${command.usage}\n`)
    return EXIT.ok
  }
  try {
    return await command.run(rest, io)
  } catch (error) {
    io.stderr.write(`${describeError(name, error)}\n`)
    return isUsageError(error) ? EXIT.usage : EXIT.failure
  }
}

function isUsageError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code
  return (
    code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
    code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' ||
    code === 'invalid_argument' ||
    code === 'invalid_config' ||
    code === 'invalid_usage'
  )
}

/** One or two lines for stderr: what failed and what to do next. Never includes secrets (URLs are redacted). */
export function describeError(command: string, error: unknown): string {
  return redactUrlsIn(describeUnredacted(command, error))
}

function describeUnredacted(command: string, error: unknown): string {
  if (isMcpOAuthError(error)) {
    return `mcp-oauth ${command}: ${error.message}${error.hint ? `\n  next: ${error.hint}` : ''}`
  }
  const message = error instanceof Error ? error.message : String(error)
  if (isUsageError(error))
    return `mcp-oauth ${command}: ${message}\n  next: run \`mcp-oauth ${command} --help\``
  return `mcp-oauth ${command}: ${message}\n  next: fix the cause above and retry; run \`mcp-oauth ${command} --help\` for options`
}

/** Whether npx (npm exec) started this process: then `mcp-oauth` is not on the person's PATH. @see https://docs.npmjs.com/cli/commands/npx */
export function launchedByNpx(env: NodeJS.ProcessEnv = process.env): boolean {
  return env['npm_lifecycle_event'] === 'npx'
}

/**
 * stderr whose commands to run next say `npx -y mcp-oauth-toolkit …`: under npx there is no `mcp-oauth` on PATH,
 * and `npx mcp-oauth` would run an unrelated package of that name.
 * @see https://docs.npmjs.com/cli/commands/npx
 */
export function npxCommands(stderr: CliIo['stderr']): CliIo['stderr'] {
  return {
    write: (text: string) =>
      stderr.write(text.replace(/([`"'])mcp-oauth (?=[a-z-])/g, '$1npx -y mcp-oauth-toolkit ')),
  }
}
