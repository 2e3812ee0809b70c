/**
 * `mcp-oauth connect <url>`: a stdio ↔ remote bridge for hosts that only speak stdio. stdout carries JSON-RPC
 * only; everything human goes to stderr. Sign-in, refresh and step-up happen inside the authorized fetch, so
 * in-flight requests wait and are retried once.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
 */
import { PassThrough } from 'node:stream'
import { authorizedFetch } from '../../client/fetch.ts'
import { InvalidArgumentError } from '../../shared/errors.ts'
import { Bridge } from '../bridge/bridge.ts'
import { readLines } from '../bridge/lines.ts'
import { sessionPost } from '../bridge/node-post.ts'
import type { JsonRpc } from '../bridge/protocol.ts'
import type { CliIo } from '../main.ts'
import { toolFilter, translateMcpRemoteArgs } from '../mcp-remote-args.ts'
import { openSession, parseCommandArgs, SESSION_FLAGS_HELP } from '../options.ts'
import { cliInteraction } from '../session-command.ts'

/** Usage text. */
export const usage = `Usage: mcp-oauth connect <url> [options]

Bridge a stdio MCP host (Claude Desktop, …) to a remote OAuth-protected MCP server.
Signs in when needed (reusing what \`mcp-oauth login\` stored), refreshes tokens, steps up scopes,
and translates between 2025 and 2026-07-28 protocol revisions. stdout carries JSON-RPC only.

Options:
  --transport auto|http|sse  Streamable HTTP first, legacy HTTP+SSE fallback (default auto)
${SESSION_FLAGS_HELP}

mcp-remote compatibility: mcp-remote 0.15.1's arguments are accepted with its meaning, so a host entry
\`npx mcp-remote <url> [port] [flags]\` works as \`npx -y mcp-oauth-toolkit connect <url> [port] [flags]\`:
the positional callback port (redirect URI http://localhost:PORT/oauth/callback), --static-oauth-client-info
and --static-oauth-client-metadata (JSON or @file), --header-file, --transport http-first|sse-first|http-only|
sse-only, --host, --callback-path, --ignore-tool PATTERN, --auth-timeout S, --debug, --silent, --enable-proxy,
--client-credentials. As in mcp-remote, such an argument list ignores proxy variables unless --enable-proxy is
given. Arguments with no equivalent are named in one warning line on stderr. See "From mcp-remote" in docs/cli.md.`

/**
 * A bridge holds a few objects per message in flight, yet V8 grows its young generation from 1 MB to 16 MB
 * semi-spaces under a steady stream of calls: resident memory rose by 20 MB between 8,000 and 32,000 calls
 * (bench/proxy) while the live heap stayed under 12 MB. Kept at its first size it stays flat (+1 %), and a
 * scavenge of so little live data stays cheap. The bin passes it as a flag when it re-executes the bridge with its
 * lean V8 flags (bin/mcp-oauth.js); where it does not (Windows, the permission model), it is set here at run time,
 * since V8 reads this one when it decides to grow the space.
 * @see https://v8.dev/blog/orinoco-parallel-scavenger
 */
function keepYoungGenerationSmall(): void {
  // A person who sized the young generation themselves (NODE_OPTIONS, node's own flags) keeps their choice.
  if (/semi.space/.test(`${process.env['NODE_OPTIONS'] ?? ''} ${process.execArgv.join(' ')}`)) return
  process.getBuiltinModule('node:v8').setFlagsFromString('--semi-space-growth-factor=1')
}

/**
 * The rest of the bin's lean V8 settings, which would have made Node compile its built-in modules from source
 * had they been given at start (they change V8's code cache hash): no TurboFan (Maglev stays the top tier, with
 * smaller code and no compiler zones) and the heap sized for memory. Set once the bridge has answered its host,
 * by when what it needs is loaded; V8 reads both as it goes. Only after the bin's re-execution (its variable),
 * so a person's own V8 tuning, which stops that, is kept here too.
 */
function settleLean(lean: boolean): () => void {
  let pending = lean
  return () => {
    if (!pending) return
    pending = false
    setImmediate(() => {
      // Compiled code cached so far keeps the start's hash, which the next start will match.
      process.getBuiltinModule('node:module').flushCompileCache?.()
      const v8 = process.getBuiltinModule('node:v8')
      v8.setFlagsFromString('--no-turbofan')
      v8.setFlagsFromString('--optimize-for-size')
    }).unref()
  }
}

/** Run the bridge until stdin closes or a signal arrives. */
export async function run(
  args: string[],
  io: CliIo,
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<number> {
  // The variable alone could come from outside; the flags show the re-execution happened (without
  // concurrent recompilation, no compile job is in flight when TurboFan is turned off).
  const lean =
    process.env['MCP_OAUTH_LEAN_BRIDGE'] === '1' && process.execArgv.includes('--no-concurrent-recompilation')
  // Not for the browser or anything else this process starts.
  delete process.env['MCP_OAUTH_LEAN_BRIDGE']
  if (stdin === process.stdin) keepYoungGenerationSmall()
  const answered = settleLean(lean && stdin === process.stdin)
  const compat = translateMcpRemoteArgs(args)
  if (compat.warning) io.stderr.write(`${compat.warning}\n`)
  const { values, positionals } = parseCommandArgs(compat.args, { transport: { type: 'string' } })
  const transport = (values.transport ?? 'auto') as 'auto' | 'http' | 'sse'
  if (!['auto', 'http', 'sse'].includes(transport)) {
    throw new InvalidArgumentError('invalid_usage', `unknown --transport ${values.transport}`, {
      hint: 'Use --transport auto, http or sse.',
    })
  }
  // stdin belongs to the host's JSON-RPC: a paste prompt must never read from it.
  const noTty = Object.assign(new PassThrough(), { isTTY: false })
  const cli = await openSession(
    positionals[0],
    compat.used ? { ...values, envProxy: compat.envProxy } : values,
    io.stderr,
    {
      ...(Object.keys(compat.identity).length ? { identity: compat.identity } : {}),
      ...(compat.grant ? { grant: compat.grant } : {}),
    },
    cliInteraction(positionals[0], values, {
      interaction: {
        input: noTty,
        ...(compat.callbackPath ? { path: compat.callbackPath } : {}),
        ...(compat.authTimeoutMs ? { timeoutMs: compat.authTimeoutMs } : {}),
      },
      shape: { 'callback-path': compat.callbackPath },
    }),
  )
  const log =
    compat.silent && !values.verbose
      ? () => {}
      : (line: string) => void io.stderr.write(`mcp-oauth: ${line}\n`)
  const tools = toolFilter(compat.ignoreTools)
  // Writes keep their order in the stream's own buffer; only the end waits for it to drain.
  let backlog = false
  const write = (line: string) => {
    answered()
    if (!io.stdout.write(line)) backlog = true
  }
  const toHost = (m: JsonRpc) => write(`${JSON.stringify(tools.filter(m))}\n`)
  const bridge = new Bridge({
    url: cli.session.server,
    fetch: authorizedFetch(cli.session),
    post: sessionPost(cli.session, cli.session.server, compat.used ? compat.envProxy !== false : true),
    endFetch: authorizedFetch(cli.session, { signIn: false }),
    headers: cli.headers,
    transport,
    toHost,
    // With no tool filter, nothing the server says needs rewriting for the host: answers go out as they came.
    toHostLine: compat.ignoreTools.length ? undefined : write,
    log: values.verbose
      ? log
      : (line) => (line.includes('failed') || line.startsWith('warning:') ? log(line) : undefined),
  })

  // Start learning the server's era (and signing in, if needed) while the host is still starting up.
  bridge.serverEra().catch(() => {})
  const inFlight = new Set<Promise<void>>()
  const reader = readLines(stdin, (line) => {
    if (!line.trim()) return
    let message: JsonRpc
    try {
      message = JSON.parse(line) as JsonRpc
    } catch {
      log('ignored a line from the host that is not JSON')
      return
    }
    const refused = tools.refuse(message)
    if (refused) return toHost(refused)
    const p = bridge.fromHost(message, line).finally(() => inFlight.delete(p))
    inFlight.add(p)
  })
  process.once('SIGTERM', reader.stop)
  process.once('SIGINT', reader.stop)
  const done = reader.done
  await done
  // Let answers to what the host already sent go out before closing.
  await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, 5000).unref())])
  const out = io.stdout as { writableNeedDrain?: boolean; once?(event: 'drain', f: () => void): unknown }
  if (backlog && out.writableNeedDrain && out.once)
    await new Promise<void>((resolve) => out.once!('drain', resolve))
  // The session's closing DELETE is a courtesy: a 401 on it must not open a browser as the host quits.
  cli.authorizer.stopInteracting()
  await bridge.close()
  await cli.close()
  return 0
}
