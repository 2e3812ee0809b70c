/**
 * The flags of `mcp-oauth serve`, one table entry each: the flag, where its value lives in the config file
 * (`schema/mcp-oauth.schema.json`), how its text becomes that value, its help line and the hint shown when it is
 * wrong. Adding a flag is adding an entry here and a property to the schema (a unit test checks both).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import { RATE_LIMIT_NAMES } from '../authorization-server/rate-limit.ts'
import { InvalidArgumentError } from '../shared/errors.ts'
import { UPSTREAM_FLAGS, UPSTREAM_FLAGS_HELP, UPSTREAM_SECTION_KEYS } from './upstream-options.ts'

/** The file-shaped object flags are collected into (the schema's shape; values unchecked until validated). */
export type ConfigObject = Record<string, unknown>

/** One flag of `serve`. @see https://nodejs.org/api/util.html#utilparseargsconfig */
export interface ServeFlag {
  /** The flag without `--`. */
  flag: string
  type: 'string' | 'boolean'
  multiple?: boolean
  /** Where its value lives in the file: a key, or a dotted path into a section (`upstream.clientId`). */
  file: string
  /** Another place its value may go (`--scopes` without `--resource`: the gateway's scopes). */
  also?: string
  /** Help text: the flag's argument and what it does. */
  help: string
  /** What to do when the value is refused. */
  hint: string
  /** Puts one occurrence's value into the file-shaped object; default: `file` ← value (integers as numbers). */
  apply?: (out: ConfigObject, value: string | boolean) => void
}

function usageError(message: string, hint: string): InvalidArgumentError {
  return new InvalidArgumentError('invalid_argument', message, { hint })
}

/** `"a b"` or `"a,b"` → `["a", "b"]`. @see https://www.rfc-editor.org/rfc/rfc6749#section-3.3 */
export function scopeList(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean)
}

/** A command line that works with `--proxy`. */
export const PROXY_EXAMPLE = 'mcp-oauth serve --proxy http://127.0.0.1:3000/mcp'
/** A command line that works with `--stdio`. */
export const STDIO_EXAMPLE = 'mcp-oauth serve --stdio -- npx -y @modelcontextprotocol/server-everything'

const UPSTREAM_HINTS: Record<string, string> = {
  upstream: 'e.g. mcp-oauth serve --upstream github --upstream-client-id ID',
  'upstream-client-id':
    'register this server at the provider and pass its client id: --upstream-client-id ID',
  'upstream-issuer': 'pass the issuer URL, e.g. --upstream-issuer https://login.example.com/realms/main',
  'upstream-tenant': 'pass the Entra tenant id or domain, e.g. --upstream-tenant contoso.onmicrosoft.com',
}

/** The upstream identity provider's flags (H4's table), each kept in the file's `upstream` section. */
function upstreamFlags(): ServeFlag[] {
  // Help entries start at "  --flag"; continuation lines belong to the entry above.
  const help = new Map<string, string>()
  let current = ''
  for (const line of UPSTREAM_FLAGS_HELP.split('\n')) {
    const head = /^ {2}--([a-z-]+)/.exec(line)
    if (head) current = head[1]!
    const text = line.trim().replace(/^(--[a-z-]+(?: [A-Z]+)?) +/, '$1  ')
    help.set(current, help.has(current) ? `${help.get(current)} ${text}` : text)
  }
  return Object.entries(UPSTREAM_FLAGS).map(([flag, { type }]) => ({
    flag,
    type,
    file: `upstream.${UPSTREAM_SECTION_KEYS[flag as keyof typeof UPSTREAM_SECTION_KEYS]}`,
    help: help.get(flag) ?? `--${flag}`,
    hint: UPSTREAM_HINTS[flag] ?? `see --${flag} in mcp-oauth serve --help`,
  }))
}

const integer = (text: string): unknown => (/^-?\d+$/.test(text) ? Number(text) : text)

/** The flags of `serve`, in help order. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export const SERVE_FLAGS: readonly ServeFlag[] = [
  {
    flag: 'port',
    type: 'string',
    file: 'port',
    help: '--port N  port to listen on (default 8976; 0 picks a free one)',
    hint: 'use 0..65535',
    apply: (out, v) => {
      out['port'] = integer(String(v))
    },
  },
  {
    flag: 'host',
    type: 'string',
    file: 'host',
    help: '--host ADDR  address to bind (default 127.0.0.1)',
    hint: 'e.g. --host 0.0.0.0',
  },
  {
    flag: 'issuer',
    type: 'string',
    file: 'issuer',
    help: '--issuer URL  public issuer URL (default http://<host>:<port>); the demo MCP server is <origin>/mcp',
    hint: 'pass e.g. --issuer https://auth.example.com',
  },
  {
    flag: 'resource',
    type: 'string',
    multiple: true,
    file: 'resources',
    help: '--resource URI  run only the authorization server, issuing RFC 9068 JWTs with aud=URI for that resource server (repeatable); no demo /mcp',
    hint: 'pass the resource server URL, e.g. --resource https://mcp.example.com/mcp --scopes "mcp"',
    apply: (out, v) => {
      out['resources'] = [...((out['resources'] as ConfigObject[] | undefined) ?? []), { uri: String(v) }]
    },
  },
  {
    flag: 'scopes',
    type: 'string',
    multiple: true,
    file: 'resources.scopes',
    also: 'scopes',
    help: '--scopes "A B"  after --resource: every scope that resource understands (default "mcp"); with --stdio or --proxy: the scopes every request to /mcp needs (default "mcp")',
    hint: 'write --resource URI --scopes "a b", or --proxy URL --scopes "a b" (space- or comma-separated)',
    apply: (out, v) => {
      const resources = out['resources'] as ConfigObject[] | undefined
      const last = resources?.at(-1)
      if (last && !('scopes' in last)) last['scopes'] = scopeList(String(v))
      else if (!resources && !('scopes' in out)) out['scopes'] = scopeList(String(v))
      else throw usageError('--scopes must follow a --resource URI', 'write --resource URI --scopes "a b"')
    },
  },
  {
    flag: 'tool-scope',
    type: 'string',
    multiple: true,
    file: 'toolScopes',
    help: '--tool-scope NAME=SCOPE[,SCOPE]  extra scopes the tool NAME needs on /mcp (repeatable; clients step up), behind --proxy, --stdio or on the demo',
    hint: 'e.g. --tool-scope delete_file=files:admin',
    apply: (out, v) => {
      const spec = String(v)
      const eq = spec.indexOf('=')
      const extra = eq < 1 ? [] : scopeList(spec.slice(eq + 1))
      if (extra.length === 0)
        throw usageError('--tool-scope takes NAME=SCOPE[,SCOPE]', 'e.g. --tool-scope delete_file=files:admin')
      const tools = (out['toolScopes'] as Record<string, string[]> | undefined) ?? {}
      const name = spec.slice(0, eq)
      tools[name] = [...new Set([...(tools[name] ?? []), ...extra])]
      out['toolScopes'] = tools
    },
  },
  {
    flag: 'proxy',
    type: 'string',
    file: 'proxy.url',
    help: '--proxy URL  protect an existing MCP server (Streamable HTTP or HTTP+SSE) at /mcp instead of the demo; the upstream gets X-MCP-OAuth-Subject/-Scopes/-Client headers, never the token (docs/gateway.md)',
    hint: PROXY_EXAMPLE,
  },
  {
    flag: 'upstream-transport',
    type: 'string',
    file: 'proxy.transport',
    help: '--upstream-transport T  with --proxy: auto (default: probe), streamable-http or sse',
    hint: 'use auto, streamable-http or sse',
  },
  {
    flag: 'stdio',
    type: 'boolean',
    file: 'stdio',
    help: '--stdio -- CMD [ARGS…]  protect a local stdio MCP server at /mcp instead of the demo: one process shared by every client; the identity reaches it in params._meta["io.github.mcp-oauth-toolkit/identity"]',
    hint: STDIO_EXAMPLE,
    apply: (out) => {
      out['stdio'] = { ...((out['stdio'] as ConfigObject | undefined) ?? {}) }
    },
  },
  {
    flag: 'restart',
    type: 'string',
    file: 'stdio.restart',
    help: '--restart P  with --stdio: never, on-failure (default) or always, with backoff 0.5 s doubling to 30 s',
    hint: 'use never, on-failure or always',
  },
  {
    flag: 'store',
    type: 'string',
    file: 'store',
    help: '--store SPEC  sqlite:PATH (default sqlite:<data dir>/authorization-server.db), postgres://…, or memory',
    hint: 'use sqlite:PATH, postgres://…, or memory',
  },
  {
    flag: 'user',
    type: 'string',
    multiple: true,
    file: 'users',
    help: '--user NAME:PASSWORD  a local account (repeatable); without it a development user is generated',
    hint: 'e.g. --user alice:"a long passphrase"',
    apply: (out, v) => {
      const spec = String(v)
      const colon = spec.indexOf(':')
      if (colon < 1) throw usageError('--user takes NAME:PASSWORD', 'e.g. --user alice:"a long passphrase"')
      const user = { username: spec.slice(0, colon), password: spec.slice(colon + 1) }
      out['users'] = [...((out['users'] as ConfigObject[] | undefined) ?? []), user]
    },
  },
  {
    flag: 'token-format',
    type: 'string',
    file: 'tokenFormat',
    help: '--token-format F  jwt (default, RFC 9068) or opaque (checked by introspection)',
    hint: 'use jwt or opaque',
  },
  {
    flag: 'access-token-ttl',
    type: 'string',
    file: 'accessTokenTtl',
    help: '--access-token-ttl S  access-token lifetime in seconds (default 600); refresh keeps sessions alive',
    hint: 'use whole seconds, 1..86400',
    apply: (out, v) => {
      out['accessTokenTtl'] = integer(String(v))
    },
  },
  {
    flag: 'allow-private-cimd',
    type: 'boolean',
    file: 'allowPrivateCimd',
    help: '--allow-private-cimd  DEVELOPMENT ONLY: fetch client metadata documents from loopback/private addresses',
    hint: 'a switch: no value',
  },
  {
    flag: 'cimd-ca',
    type: 'string',
    file: 'cimdCa',
    help: '--cimd-ca FILE  extra CA certificate (PEM) trusted when fetching client metadata documents',
    hint: 'pass a readable PEM file',
  },
  ...upstreamFlags(),
  {
    flag: 'rate-limit',
    type: 'string',
    multiple: true,
    file: 'rateLimits',
    help: '--rate-limit NAME=MAX/SECONDS  change one request limit (repeatable); NAME is one of registration, token, par, revocation, introspection (per client_id and address), authorization (per address), login (failed sign-ins per address), login-account (failed sign-ins per account, from any address), cimd-fetch (metadata document fetches per address)',
    hint: `use NAME=MAX/SECONDS with NAME one of ${Object.keys(RATE_LIMIT_NAMES).join(', ')}, e.g. login-account=10/900`,
    apply: (out, v) => {
      const spec = String(v)
      const match = /^([a-z-]+)=(\d+)\/(\d+)$/.exec(spec)
      const name = match ? RATE_LIMIT_NAMES[match[1]!] : undefined
      if (!match || !name || Number(match[3]) < 1)
        throw usageError(`bad --rate-limit ${spec.slice(0, 60)}`, SERVE_FLAG_HINT('rate-limit'))
      const limits = typeof out['rateLimits'] === 'object' ? (out['rateLimits'] as ConfigObject) : {}
      limits[name] = { max: Number(match[2]), windowSeconds: Number(match[3]) }
      out['rateLimits'] = limits
    },
  },
  {
    flag: 'no-rate-limits',
    type: 'boolean',
    file: 'rateLimits',
    help: '--no-rate-limits  turn every limit off (testing only)',
    hint: 'a switch: no value',
    apply: (out) => {
      out['rateLimits'] = false
    },
  },
  {
    flag: 'redis',
    type: 'string',
    file: 'redis',
    help: '--redis URL  keep limit counters and DPoP replay markers in Redis (redis://…) instead of the store, so every instance pointing at it shares them (with postgres://… the store already does)',
    hint: 'use --redis redis://HOST:PORT',
  },
  {
    flag: 'redis-prefix',
    type: 'string',
    file: 'redisPrefix',
    help: '--redis-prefix P  prefix of the Redis keys (default mcp-oauth:)',
    hint: 'e.g. --redis-prefix mcp-oauth:',
  },
  {
    flag: 'quiet',
    type: 'boolean',
    file: 'quiet',
    help: '--quiet  no audit log on stderr',
    hint: 'a switch: no value',
  },
  {
    flag: 'json',
    type: 'boolean',
    file: 'json',
    help: '--json  print one JSON line {"issuer","listen",…} on stdout once ready',
    hint: 'a switch: no value',
  },
]

/** The hint of a flag by name. */
export function SERVE_FLAG_HINT(flag: string): string {
  return SERVE_FLAGS.find((f) => f.flag === flag)?.hint ?? 'run `mcp-oauth serve --help`'
}

/** Flags that only exist on the command line (they say where the file is and what to do with it). */
export const COMMAND_LINE_ONLY = {
  config: { type: 'string' },
  'print-config': { type: 'boolean' },
} as const

/** Help lines from the table, wrapped under a 24-column flag column. @see https://nodejs.org/api/util.html#utilparseargsconfig */
export function flagHelp(): string {
  const lines: string[] = []
  const all = [
    ...SERVE_FLAGS.map((f) => f.help),
    '--config FILE  read these settings from a JSON file (schema/mcp-oauth.schema.json); flags override it',
    '--print-config  print the effective configuration as JSON (secrets redacted) and exit',
  ]
  for (const help of all) {
    const split = help.indexOf('  ')
    const head = `  ${help.slice(0, split)}`
    const words = help.slice(split + 2).split(' ')
    let line = head.length < 24 ? head.padEnd(24) : `${head}\n${' '.repeat(24)}`
    let width = line.length - line.lastIndexOf('\n') - 1
    for (const word of words) {
      if (width + word.length + 1 > 112 && width > 24) {
        line += `\n${' '.repeat(24)}`
        width = 24
      }
      line += `${width > 24 ? ' ' : ''}${word}`
      width += word.length + (width > 24 ? 1 : 0)
    }
    lines.push(line)
  }
  return lines.join('\n')
}
