/**
 * mcp-remote 0.15.1 argument lists, read with mcp-remote's meaning and rewritten into `connect`'s own flags, so a
 * host entry `npx mcp-remote <url> [port] [flags]` keeps working when only the package name changes. Arguments
 * with no equivalent here are collected for one warning line: never a silent difference.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { InvalidArgumentError } from '../shared/errors.ts'
import { expandEnv, SESSION_FLAGS } from './options.ts'

export { toolFilter, toolIgnored } from './tool-filter.ts'

/** mcp-remote's callback path: its redirect URI is `http://{host}:{port}/oauth/callback`. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export const MCP_REMOTE_CALLBACK_PATH = '/oauth/callback'

/** Registration metadata fields `connect` sends itself (RFC 7591 §2), taken from `--static-oauth-client-metadata`. */
const IDENTITY_KEYS = ['client_name', 'client_uri', 'logo_uri', 'software_id', 'software_version'] as const

/** mcp-remote flags that take a value and have no equivalent here (--token-endpoint is ours with --authorization-endpoint). */
const IGNORED_WITH_VALUE = new Set([
  '--auth-success-url',
  '--token-endpoint',
  '--connect-timeout',
  '--body-timeout',
  '--headers-timeout',
  '--ping-interval',
])
/** mcp-remote switches that have no equivalent here. */
const IGNORED_SWITCHES = new Set(['--use-id-token', '--ipv4', '--keep-alive'])

/** What an mcp-remote argument list means in `connect`'s terms. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export interface McpRemoteTranslation {
  /** `connect` arguments (our flags only). */
  args: string[]
  /** Whether any mcp-remote-only argument (or the positional port) was given. */
  used: boolean
  /** Wildcard patterns of tools hidden from tools/list and refused by tools/call (`--ignore-tool`). */
  ignoreTools: string[]
  /** Registration metadata from `--static-oauth-client-metadata`. */
  identity: Partial<Record<(typeof IDENTITY_KEYS)[number], string>>
  /** Loopback callback path (mcp-remote's `/oauth/callback` unless `--callback-path`). */
  callbackPath?: string
  /** `--auth-timeout` in milliseconds. */
  authTimeoutMs?: number
  /** `--client-credentials`: no person, the client's own grant. */
  grant?: 'client_credentials'
  /** `--silent`: the bridge's own progress and failure lines are not written. */
  silent: boolean
  /**
   * Whether HTTPS_PROXY and friends apply. mcp-remote ignores them unless `--enable-proxy` is given, so an
   * mcp-remote argument list without it keeps its direct connections here too.
   */
  envProxy: boolean
  /** The one warning line naming what has no equivalent; undefined when everything maps. */
  warning?: string
}

function usageError(message: string, hint: string): InvalidArgumentError {
  return new InvalidArgumentError('invalid_usage', message, { hint })
}

function readJsonArgument(flag: string, raw: string, env: Record<string, string | undefined>): unknown {
  let text = raw
  if (raw.startsWith('@')) {
    try {
      text = readFileSync(raw.slice(1), 'utf8')
    } catch {
      throw usageError(
        `cannot read ${flag} file ${raw.slice(1)}`,
        `Pass a readable JSON file as ${flag} @FILE.`,
      )
    }
  }
  if (flag === '--static-oauth-client-info') text = expandEnv(text, env, flag)
  try {
    const value = JSON.parse(text) as unknown
    if (value && typeof value === 'object' && !Array.isArray(value)) return value
  } catch {}
  throw usageError(
    `${flag} is not a JSON object`,
    `Pass JSON like ${flag} '{"client_id":"my-client"}' (single-quoted for the shell) or ${flag} @FILE.json.`,
  )
}

interface DerivedPortInputs {
  resource?: string
  authorizeParams: Record<string, string>
  headers: Record<string, string>
  cimd?: string | undefined
  tokenEndpoint?: string | undefined
}

/** mcp-remote's default callback port, derived from the server URL and what else names the session. */
function derivedPort(url: string, named: DerivedPortInputs): number {
  const parts = [url]
  if (named.resource) parts.push(named.resource)
  for (const record of [named.authorizeParams, named.headers])
    if (Object.keys(record).length) parts.push(JSON.stringify(record, Object.keys(record).sort()))
  if (named.cimd) parts.push(named.cimd)
  if (named.tokenEndpoint) parts.push(named.tokenEndpoint)
  const hash = createHash('md5').update(parts.join('|')).digest('hex')
  return 3335 + (Number.parseInt(hash.slice(0, 4), 16) % 45816)
}

/** mcp-remote's header line form: a token name, a colon, optional blanks, the value kept as is (trailing blanks too). */
function headerEntry(line: string): [string, string] | undefined {
  const m = /^([A-Za-z0-9_-]+):\s*(.*)$/.exec(line)
  return m ? [m[1]!, m[2]!] : undefined
}

/**
 * Where mcp-remote reads its server URL and callback port: `args[0]` and `args[1]` once the
 * `--header`/`--header-file` pairs are removed, the port only when `parseInt` gives a non-zero number there.
 * Indexes are in `input`; -1 when absent.
 */
function mcpRemoteSlots(input: readonly string[]): { urlAt: number; portAt: number } {
  const kept: number[] = []
  for (let i = 0; i < input.length; i++) {
    if ((input[i] === '--header' || input[i] === '--header-file') && i < input.length - 1) i++
    else kept.push(i)
  }
  const at = kept[1]
  return {
    urlAt: kept[0] ?? -1,
    portAt: at !== undefined && Number.parseInt(input[at]!, 10) ? at : -1,
  }
}

function headerLines(file: string): string[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    throw usageError(
      `cannot read --header-file ${file}`,
      'Pass a readable file with one "Name: value" per line.',
    )
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
}

/** mcp-remote's test for a Client ID Metadata Document URL: https with a path. */
function isClientMetadataUrl(value: string): boolean {
  try {
    const url = new URL(value)
    return url.protocol === 'https:' && url.pathname !== '/'
  } catch {
    return false
  }
}

function normalUrl(value: string): string | undefined {
  try {
    return new URL(value).toString()
  } catch {
    return undefined
  }
}

const TRANSPORTS: Record<string, 'auto' | 'http' | 'sse'> = {
  'http-first': 'auto',
  'sse-first': 'auto',
  'http-only': 'http',
  'sse-only': 'sse',
}

/**
 * Rewrite an argument list that may use mcp-remote 0.15.1's arguments into `connect`'s flags, with mcp-remote's
 * meaning: positional callback port, redirect URI `http://localhost:{port}/oauth/callback`, static client and
 * metadata (inline JSON or @file), header files, transport strategies, tool filters.
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export function translateMcpRemoteArgs(
  input: readonly string[],
  env: Record<string, string | undefined> = process.env,
  platform: NodeJS.Platform = process.platform,
): McpRemoteTranslation {
  const ours = new Map<string, boolean>(
    Object.entries({ ...SESSION_FLAGS, transport: { type: 'string' } }).map(([k, v]) => [
      `--${k}`,
      v.type === 'string',
    ]),
  )
  const out: string[] = []
  const positionals: string[] = []
  const ignored: string[] = []
  const t: McpRemoteTranslation = {
    args: out,
    used: false,
    ignoreTools: [],
    identity: {},
    silent: false,
    envProxy: true,
  }
  const { urlAt, portAt } = mcpRemoteSlots(input)
  let enableProxy = false
  const given = new Set<string>()
  let port: number | undefined
  let host: string | undefined
  const named: DerivedPortInputs = { authorizeParams: {}, headers: {} }
  const givesEndpoints = input.some((a) => /^--(authorization-endpoint|as-metadata)(=|$)/.test(a))
  const headers = named.headers
  for (let i = 0; i < input.length; i++) {
    const arg = input[i]!
    const value = () => {
      const v = input[i + 1]
      if (v === undefined) throw usageError(`${arg} needs a value`, `Pass ${arg} VALUE.`)
      i++
      return v
    }
    const mcpRemote = () => {
      t.used = true
    }
    if (i === portAt) {
      mcpRemote()
      port = Number.parseInt(arg, 10)
      if (port < 1 || port > 65535)
        throw usageError(`bad callback port ${arg}`, 'Pass a port between 1 and 65535.')
      continue
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg)
      // mcp-remote reads only args[1] as the port and never looks at later positionals.
      if (positionals.length > 1 && /^\d+$/.test(arg)) {
        mcpRemote()
        ignored.push(`${arg} (mcp-remote takes a callback port only right after the URL)`)
      } else out.push(arg)
      continue
    }
    switch (arg) {
      case '--static-oauth-client-info': {
        mcpRemote()
        const info = readJsonArgument(arg, value(), env) as Record<string, unknown>
        if (typeof info['client_id'] !== 'string' || !info['client_id'])
          throw usageError(`${arg} has no client_id`, `Add "client_id" to the ${arg} JSON.`)
        const keep = ['client_id', 'client_secret', 'token_endpoint_auth_method']
        out.push(
          '--client-info',
          JSON.stringify(Object.fromEntries(keep.filter((k) => k in info).map((k) => [k, info[k]]))),
        )
        break
      }
      case '--static-oauth-client-metadata': {
        mcpRemote()
        const metadata = readJsonArgument(arg, value(), env) as Record<string, unknown>
        const unused: string[] = []
        for (const [k, v] of Object.entries(metadata)) {
          if ((IDENTITY_KEYS as readonly string[]).includes(k) && typeof v === 'string')
            t.identity[k as (typeof IDENTITY_KEYS)[number]] = v
          else if (k === 'scope' && typeof v === 'string' && v.trim()) out.push('--scope', v.trim())
          else unused.push(k)
        }
        if (unused.length) ignored.push(`${arg} keys ${unused.join(', ')}`)
        break
      }
      case '--header-file':
        mcpRemote()
        for (const line of headerLines(value())) {
          out.push('--header', line)
          const entry = headerEntry(line)
          if (entry) headers[entry[0]] = entry[1]
        }
        break
      case '--header': {
        const h = value()
        out.push(arg, h)
        const entry = headerEntry(h)
        if (entry) headers[entry[0]] = entry[1]
        break
      }
      case '--transport': {
        const v = value()
        const mapped = TRANSPORTS[v]
        if (mapped) mcpRemote()
        if (v === 'sse-first')
          ignored.push('--transport sse-first (Streamable HTTP is tried first, then SSE)')
        out.push(arg, mapped ?? v)
        break
      }
      case '--protocol': {
        mcpRemote()
        const v = value()
        // legacy (mcp-remote's default) and auto both reach every server mcp-remote reaches: see docs/cli.md.
        if (v !== 'auto' && v !== 'legacy') ignored.push(`--protocol ${v} (not legacy or auto)`)
        break
      }
      case '--host':
        mcpRemote()
        host = value()
        if (!['localhost', '127.0.0.1', '::1', '[::1]'].includes(host))
          throw usageError(
            `--host ${host} is not this machine`,
            'Use --host localhost or 127.0.0.1: the sign-in callback must stay on this machine.',
          )
        out.push('--callback-host', host === '[::1]' ? '::1' : host)
        break
      case '--callback-path': {
        mcpRemote()
        const v = value()
        if (!v.startsWith('/')) throw usageError(`bad --callback-path ${v}`, 'Pass a path starting with "/".')
        t.callbackPath = v
        break
      }
      case '--disable-resource-parameter':
      case '--resource': {
        // `--resource ""` and --disable-resource-parameter both mean: send no resource indicator.
        const v = arg === '--resource' ? value().trim() : ''
        if (v) {
          out.push(arg, v)
          // mcp-remote reads the first --resource.
          named.resource ??= v
        } else {
          mcpRemote()
          out.push('--resource-parameter', 'omit')
        }
        break
      }
      case '--ignore-tool':
        mcpRemote()
        t.ignoreTools.push(value())
        break
      case '--auth-timeout': {
        mcpRemote()
        const v = value()
        const seconds = Number.parseInt(v, 10)
        if (!(seconds > 0)) throw usageError(`bad --auth-timeout ${v}`, 'Pass a positive number of seconds.')
        t.authTimeoutMs = seconds * 1000
        break
      }
      case '--client-credentials':
        mcpRemote()
        t.grant = 'client_credentials'
        break
      case '--debug':
        mcpRemote()
        out.push('--verbose')
        break
      case '--silent':
        mcpRemote()
        t.silent = true
        break
      case '--enable-proxy':
        mcpRemote()
        enableProxy = true
        break
      // Already how connect behaves: no cookies are kept.
      case '--disable-cookies':
        mcpRemote()
        break
      case '--client-metadata-url': {
        // connect's own flag first: alone it keeps connect's redirect URI (the document lists connect's). In an
        // mcp-remote list (any other mcp-remote argument) it enters the derived port as mcp-remote reads it.
        const v = value().trim()
        out.push(arg, v)
        named.cimd ??= isClientMetadataUrl(v) ? v : undefined
        break
      }
      default:
        if (IGNORED_WITH_VALUE.has(arg) && !(arg === '--token-endpoint' && givesEndpoints)) {
          mcpRemote()
          const v = value()
          if (arg === '--token-endpoint') named.tokenEndpoint ??= normalUrl(v.trim())
          ignored.push(arg)
        } else if (IGNORED_SWITCHES.has(arg)) {
          mcpRemote()
          ignored.push(arg)
        } else {
          // One of connect's own flags (or an unknown one, which the parser then reports).
          const name = arg.split('=')[0]!
          given.add(name)
          out.push(arg)
          if (ours.get(name) && !arg.includes('=') && input[i + 1] !== undefined) out.push(input[++i]!)
          const kv = /^([^=]+)=(.*)$/s.exec(out.at(-1)!.slice(arg.indexOf('=') + 1))
          if (kv && name === '--authorize-param') named.authorizeParams[kv[1]!.trim()] = kv[2]!
        }
    }
  }
  if (t.used) {
    // mcp-remote's redirect URI, so a client registered for it at the authorization server keeps working.
    if (!host && !given.has('--callback-host'))
      out.push('--callback-host', platform === 'win32' ? '127.0.0.1' : 'localhost')
    t.callbackPath ??= MCP_REMOTE_CALLBACK_PATH
    // As mcp-remote: a resource indicator turned off names no resource, a token endpoint counts only with its grant.
    if (input.includes('--disable-resource-parameter')) delete named.resource
    if (!t.grant) delete named.tokenEndpoint
    const url = input[urlAt]
    if (port === undefined && url) port = derivedPort(url, named)
    if (port !== undefined && !given.has('--callback-port')) out.push('--callback-port', String(port))
    t.envProxy = enableProxy
  }
  if (ignored.length)
    t.warning = `mcp-oauth: ignoring mcp-remote arguments with no equivalent here: ${ignored.join('; ')} (see "From mcp-remote" in docs/cli.md)`
  return t
}
