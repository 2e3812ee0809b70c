/**
 * What `mcp-oauth serve --stdio -- <command> [args…]` adds to serve: the command line after `--`, the restart
 * policy, the resource's scopes and per-tool policy, and the protect-then-forward handler in front of
 * {@link stdioUpstream}. The identity the kit verified reaches the child in `_meta`, never the token.
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio
 */
import type { AuthInfo, ResourceServer } from '../../server/index.ts'
import { InvalidArgumentError } from '../../shared/errors.ts'
import { redactInput } from '../../shared/redact.ts'
import type { RestartPolicy } from './stdio-child.ts'
import { stdioUpstream } from './stdio-upstream.ts'
import type { Upstream } from './upstream.ts'

/** The stdio part of serve's options. @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio */
export interface StdioServeOptions {
  command: string
  args: string[]
  restart: RestartPolicy
  /** Scopes every request needs (and the default grant). */
  scopes: string[]
  /** Extra scopes per tool name, asked for by step-up. */
  toolScopes: Record<string, string[]>
}

/** serve's `parseArgs` entries for `--stdio` (`--scopes`/`--tool-scope` are shared with `--proxy`). @see https://nodejs.org/api/util.html#utilparseargsconfig */
export const STDIO_FLAGS = {
  stdio: { type: 'boolean' },
  restart: { type: 'string' },
  scopes: { type: 'string' },
  'tool-scope': { type: 'string', multiple: true },
} as const

/** The usage lines of those flags. */
export const STDIO_USAGE = `  --stdio -- CMD [ARGS…]  protect a local stdio MCP server at /mcp instead of the demo: one process shared by
                        every client; the identity reaches it in params._meta["io.github.mcp-oauth-toolkit/identity"]
  --restart P           with --stdio: never, on-failure (default) or always, with backoff 0.5 s doubling to 30 s
  --scopes "A B"        with --stdio: scopes every request needs (default mcp)
  --tool-scope NAME=SCOPE[,SCOPE]  with --stdio: extra scopes a tool needs (repeatable; clients step up)`

const EXAMPLE = 'mcp-oauth serve --stdio -- npx -y @modelcontextprotocol/server-everything'
// RFC 6749 §3.3 scope-token: printable ASCII without space, '"' or '\'.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/

function bad(message: string, hint: string): InvalidArgumentError {
  return new InvalidArgumentError('invalid_argument', message, { hint })
}

function scopeList(text: string, flag: string): string[] {
  const scopes = text.split(/[\s,]+/).filter(Boolean)
  for (const s of scopes)
    if (!SCOPE_TOKEN.test(s))
      throw bad(`${flag}: "${redactInput(s, 40)}" is not a scope`, 'scopes are words like mcp or files:read')
  return scopes
}

/** Splits serve's arguments at the first `--`: the flags before it, the upstream command line after. */
export function splitCommand(args: string[]): { flags: string[]; command: string[] | undefined } {
  const dash = args.indexOf('--')
  return dash === -1
    ? { flags: args, command: undefined }
    : { flags: args.slice(0, dash), command: args.slice(dash + 1) }
}

/**
 * Read the stdio flags; `undefined` without `--stdio`.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#scope-selection-strategy
 */
export function parseStdioFlags(
  values: {
    stdio?: boolean | undefined
    restart?: string | undefined
    scopes?: string | undefined
    'tool-scope'?: string[] | undefined
  },
  command: string[] | undefined,
): StdioServeOptions | undefined {
  if (!values.stdio) {
    if (values.restart !== undefined) throw bad('--restart needs --stdio', EXAMPLE)
    if (command !== undefined) throw bad('a command after -- needs --stdio', EXAMPLE)
    return undefined
  }
  if (!command?.length || !command[0]) throw bad('--stdio needs the server command after --', EXAMPLE)
  const restart = values.restart ?? 'on-failure'
  if (restart !== 'never' && restart !== 'on-failure' && restart !== 'always')
    throw bad(`bad --restart ${redactInput(restart, 40)}`, 'use never, on-failure or always')
  const scopes = scopeList(values.scopes ?? 'mcp', '--scopes')
  if (scopes.length === 0) throw bad('--scopes is empty', 'e.g. --scopes mcp')
  const toolScopes: Record<string, string[]> = {}
  for (const spec of values['tool-scope'] ?? []) {
    const eq = spec.indexOf('=')
    const extra = eq < 1 ? [] : scopeList(spec.slice(eq + 1), '--tool-scope')
    if (extra.length === 0)
      throw bad('--tool-scope takes NAME=SCOPE[,SCOPE]', 'e.g. --tool-scope delete_file=files:admin')
    const name = spec.slice(0, eq)
    toolScopes[name] = [...new Set([...(toolScopes[name] ?? []), ...extra])]
  }
  return { command: command[0], args: command.slice(1), restart, scopes, toolScopes }
}

/** The resource's shape in the authorization server and the kit. @see https://www.rfc-editor.org/rfc/rfc9728#section-2 */
export function stdioResource(options: StdioServeOptions) {
  return {
    scopes: [...new Set([...options.scopes, ...Object.values(options.toolScopes).flat()])],
    defaultScopes: options.scopes,
    policy: { required: options.scopes, tools: options.toolScopes },
    resourceName: 'mcp-oauth gateway',
  }
}

/** Header names of the verified identity (the same as `--proxy` sends upstream). */
const IDENTITY = {
  subject: 'x-mcp-oauth-subject',
  scopes: 'x-mcp-oauth-scopes',
  client: 'x-mcp-oauth-client',
}

/** The forwarded request: no credentials, no identity the client set, the identity the kit verified. */
function withIdentity(request: Request, authInfo: AuthInfo): Request {
  const headers = new Headers(request.headers)
  for (const name of ['authorization', 'dpop', 'cookie']) headers.delete(name)
  for (const name of [...headers.keys()]) if (name.startsWith('x-mcp-oauth-')) headers.delete(name)
  const subject = authInfo.extra?.['subject']
  if (typeof subject === 'string') headers.set(IDENTITY.subject, encodeURIComponent(subject))
  headers.set(IDENTITY.scopes, authInfo.scopes.map(encodeURIComponent).join(' '))
  if (authInfo.clientId) headers.set(IDENTITY.client, encodeURIComponent(authInfo.clientId))
  return new Request(request, { headers })
}

/**
 * Protect-then-forward in front of a stdio upstream; the lead may swap it for the `--proxy` gateway's handler.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/security_best_practices#token-passthrough
 */
export function stdioGatewayHandler(
  resourceServer: ResourceServer,
  upstream: Upstream,
): (request: Request) => Promise<Response> {
  return (request) =>
    resourceServer.handle(request, (forward, { authInfo }) => upstream.fetch(withIdentity(forward, authInfo)))
}

/** Start the child and the handler, for serve. @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio */
export async function startStdioGateway(
  options: StdioServeOptions,
  context: { mcp: string; resourceServer: ResourceServer; log: (line: string) => void },
): Promise<{ upstream: Upstream; handler: (request: Request) => Promise<Response>; banner: string[] }> {
  const upstream = await stdioUpstream({
    command: options.command,
    args: options.args,
    restart: options.restart,
    log: context.log,
  })
  const banner = [
    `gateway ${context.mcp} → ${upstream.describe} (restart ${options.restart})`,
    `scopes ${options.scopes.join(' ')} on every request; identity to the server in params._meta["io.github.mcp-oauth-toolkit/identity"] (never the token)`,
  ]
  for (const [tool, scopes] of Object.entries(options.toolScopes))
    banner.push(`tool ${tool} also needs ${scopes.join(' ')} (step-up)`)
  return { upstream, handler: stdioGatewayHandler(context.resourceServer, upstream), banner }
}
