/**
 * mcp-remote 0.15.1 argument lists, read with mcp-remote's meaning and rewritten into `connect`'s own flags, so a
 * host entry `npx mcp-remote <url> [port] [flags]` keeps working when only the package name changes. Arguments
 * with no equivalent here are collected for one warning line: never a silent difference.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { InvalidArgumentError } from '../shared/errors.ts'
import type { JsonRpc } from './bridge/protocol.ts'
import { expandEnv, SESSION_FLAGS } from './options.ts'

/** mcp-remote's callback path: its redirect URI is `http://{host}:{port}/oauth/callback`. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export const MCP_REMOTE_CALLBACK_PATH = '/oauth/callback'

/** Registration metadata fields `connect` sends itself (RFC 7591 §2), taken from `--static-oauth-client-metadata`. */
const IDENTITY_KEYS = ['client_name', 'client_uri', 'logo_uri', 'software_id', 'software_version'] as const

/** mcp-remote flags that take a value and have no equivalent here. */
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
  if (flag === '--static-oauth-client-info') text = expandEnv(text, env)
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
  cimd?: string
  tokenEndpoint?: string
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
  const t: McpRemoteTranslation = { args: out, used: false, ignoreTools: [], identity: {}, silent: false }
  const given = new Set<string>()
  let staticClient = false
  let port: number | undefined
  let host: string | undefined
  const named: DerivedPortInputs = { authorizeParams: {}, headers: {} }
  const givesEndpoints = input.some(
    (a) => a.split('=')[0] === '--authorization-endpoint' || a.split('=')[0] === '--as-metadata',
  )
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
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg)
      if (positionals.length === 2 && /^\d+$/.test(arg)) {
        mcpRemote()
        port = Number(arg)
        if (port < 1 || port > 65535)
          throw usageError(`bad callback port ${arg}`, 'Pass a port between 1 and 65535.')
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
        staticClient = true
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
          const c = line.indexOf(':')
          if (c > 0) headers[line.slice(0, c).trim()] = line.slice(c + 1).trim()
        }
        break
      case '--header': {
        const h = value()
        out.push(arg, h)
        const c = h.indexOf(':')
        if (c > 0) headers[h.slice(0, c).trim()] = h.slice(c + 1).trim()
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
        if (v !== 'auto') ignored.push(`--protocol ${v} (the protocol revision is negotiated)`)
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
      case '--resource': {
        const v = value().trim()
        if (v) {
          out.push(arg, v)
          named.resource = v
        } else {
          mcpRemote()
          out.push('--resource-parameter', 'omit')
        }
        break
      }
      case '--disable-resource-parameter':
        mcpRemote()
        out.push('--resource-parameter', 'omit')
        break
      case '--authorize-param': {
        const v = value()
        const eq = v.indexOf('=')
        if (eq > 0) named.authorizeParams[v.slice(0, eq).trim()] = v.slice(eq + 1)
        out.push(arg, v)
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
      // Already how connect behaves: proxy variables are always honoured and no cookies are kept.
      case '--enable-proxy':
      case '--disable-cookies':
        mcpRemote()
        break
      case '--client-metadata-url': {
        const v = value()
        out.push(arg, v)
        named.cimd = v
        break
      }
      default:
        // mcp-remote's lone --token-endpoint has no equivalent; with --authorization-endpoint (or --as-metadata)
        // it is ours: the endpoints of an authorization server without metadata.
        if (IGNORED_WITH_VALUE.has(arg) && !(arg === '--token-endpoint' && givesEndpoints)) {
          mcpRemote()
          const v = value()
          if (arg === '--token-endpoint') named.tokenEndpoint = v.trim()
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
        }
    }
  }
  if (t.used) {
    // mcp-remote's redirect URI, so a client registered for it at the authorization server keeps working.
    if (!host && !given.has('--callback-host'))
      out.push('--callback-host', platform === 'win32' ? '127.0.0.1' : 'localhost')
    t.callbackPath ??= MCP_REMOTE_CALLBACK_PATH
    if (port === undefined && staticClient && positionals[0]) port = derivedPort(positionals[0], named)
    if (port !== undefined && !given.has('--callback-port')) out.push('--callback-port', String(port))
  }
  if (ignored.length)
    t.warning = `mcp-oauth: ignoring mcp-remote arguments with no equivalent here: ${ignored.join('; ')} (see "From mcp-remote" in docs/cli.md)`
  return t
}

/** mcp-remote's `--ignore-tool` match: `*` is a wildcard, case-insensitive, whole name. @see https://modelcontextprotocol.io/specification/2026-07-28/server/tools */
export function toolIgnored(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) =>
    new RegExp(
      `^${p
        .split('*')
        .map((s) => s.replace(/\W/g, '\\$&'))
        .join('.*')}$`,
      'i',
    ).test(name),
  )
}

/**
 * Hide ignored tools from the host: tools/list results are filtered and tools/call of an ignored tool is answered
 * with an error without reaching the server.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/server/tools
 */
export function toolFilter(patterns: readonly string[]) {
  const listIds = new Set<string>()
  return {
    /** A host message: the error answer when it calls an ignored tool, else undefined (forward it). */
    refuse(message: JsonRpc): JsonRpc | undefined {
      const m = message as { id?: unknown; method?: string; params?: { name?: unknown } }
      if (!patterns.length || m.id === undefined) return undefined
      if (m.method === 'tools/list') listIds.add(JSON.stringify(m.id))
      if (m.method !== 'tools/call' || typeof m.params?.name !== 'string') return undefined
      if (!toolIgnored(patterns, m.params.name)) return undefined
      return {
        jsonrpc: '2.0',
        id: m.id,
        error: { code: -32603, message: `Tool "${m.params.name}" is not available` },
      } as unknown as JsonRpc
    },
    /** A message for the host, with ignored tools removed from a tools/list result. */
    filter(message: JsonRpc): JsonRpc {
      const m = message as { id?: unknown; method?: string; result?: { tools?: { name: string }[] } }
      if (!patterns.length || m.method !== undefined || m.id === undefined) return message
      if (!listIds.delete(JSON.stringify(m.id)) || !Array.isArray(m.result?.tools)) return message
      const tools = m.result.tools.filter((tool) => !toolIgnored(patterns, tool.name))
      return { ...m, result: { ...m.result, tools } } as unknown as JsonRpc
    },
  }
}
