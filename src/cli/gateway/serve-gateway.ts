/**
 * What `mcp-oauth serve --proxy URL` adds to serve: its flags, the resource's scopes and per-tool scope
 * policy, the upstream (detected or named), and the start banner saying what is protected and how.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#scope-selection-strategy
 */
import type { ResourceServer } from '../../server/index.ts'
import { InvalidArgumentError } from '../../shared/errors.ts'
import { redactInput, redactUrl } from '../../shared/redact.ts'
import { isLoopbackUrl } from '../../shared/resource.ts'
import { createGateway } from './gateway.ts'
import { parseStdioFlags, type StdioServeOptions, stdioResource } from './serve-stdio.ts'
import { sseUpstream } from './sse-upstream.ts'
import {
  detectTransport,
  httpUpstream,
  type Upstream,
  type UpstreamOptions,
  type UpstreamTransport,
} from './upstream.ts'

/** The gateway part of serve's options. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export interface GatewayServeOptions {
  /** The upstream MCP endpoint. */
  url: string
  transport: UpstreamTransport
  /** Scopes every request needs (and the default grant). */
  scopes: string[]
  /** Extra scopes per tool name, asked for by step-up. */
  toolScopes: Record<string, string[]>
}

/** serve's `parseArgs` entries for the gateway. @see https://nodejs.org/api/util.html#utilparseargsconfig */
export const GATEWAY_FLAGS = {
  proxy: { type: 'string' },
  scopes: { type: 'string' },
  'tool-scope': { type: 'string', multiple: true },
  'upstream-transport': { type: 'string' },
} as const

/** The usage lines of those flags. */
export const GATEWAY_USAGE = `  --proxy URL           protect an existing MCP server (Streamable HTTP or HTTP+SSE) at /mcp instead of the demo;
                        the upstream gets X-MCP-OAuth-Subject/-Scopes/-Client headers, never the token
  --upstream-transport T  auto (default: probe), streamable-http or sse
  --scopes "A B"        with --proxy: scopes every request needs (default mcp)
  --tool-scope NAME=SCOPE[,SCOPE]  with --proxy: extra scopes a tool needs (repeatable; clients step up)`

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

/**
 * Read the gateway flags; `undefined` without `--proxy` (the other flags then are a mistake).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#scope-selection-strategy
 */
export function parseGatewayFlags(values: {
  proxy?: string | undefined
  scopes?: string | undefined
  'tool-scope'?: string[] | undefined
  'upstream-transport'?: string | undefined
}): GatewayServeOptions | undefined {
  if (values.proxy === undefined) {
    // --scopes and --tool-scope are shared with --stdio: serve refuses them when neither is given.
    const stray = (['upstream-transport'] as const).find((k) => values[k] !== undefined)
    if (stray) throw bad(`--${stray} needs --proxy`, 'mcp-oauth serve --proxy http://127.0.0.1:3000/mcp')
    return undefined
  }
  let url: URL
  try {
    url = new URL(values.proxy)
  } catch {
    throw bad(
      `--proxy "${redactInput(values.proxy)}" is not a URL`,
      'mcp-oauth serve --proxy http://127.0.0.1:3000/mcp',
    )
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw bad(`--proxy ${redactUrl(url)} is not http(s)`, 'mcp-oauth serve --proxy http://127.0.0.1:3000/mcp')
  if (url.username || url.password)
    throw bad(
      '--proxy must not carry credentials in the URL',
      'drop them (the upstream should trust the network only the gateway reaches): mcp-oauth serve --proxy http://127.0.0.1:3000/mcp',
    )
  const transport = values['upstream-transport'] ?? 'auto'
  if (transport !== 'auto' && transport !== 'streamable-http' && transport !== 'sse')
    throw bad(`bad --upstream-transport ${redactInput(transport, 40)}`, 'use auto, streamable-http or sse')
  const scopes = scopeList(values.scopes ?? 'mcp', '--scopes')
  if (scopes.length === 0) throw bad('--scopes is empty', 'e.g. --scopes mcp')
  const toolScopes: Record<string, string[]> = {}
  for (const spec of values['tool-scope'] ?? []) {
    const eq = spec.indexOf('=')
    if (eq < 1)
      throw bad('--tool-scope takes NAME=SCOPE[,SCOPE]', 'e.g. --tool-scope delete_file=files:admin')
    const extra = scopeList(spec.slice(eq + 1), '--tool-scope')
    if (extra.length === 0)
      throw bad(
        `--tool-scope ${spec.slice(0, eq)}= names no scope`,
        'e.g. --tool-scope delete_file=files:admin',
      )
    toolScopes[spec.slice(0, eq)] = [...new Set([...(toolScopes[spec.slice(0, eq)] ?? []), ...extra])]
  }
  return { url: url.href, transport, scopes, toolScopes }
}

/**
 * What serve puts at /mcp: a stdio server (`--stdio`), a proxied one (`--proxy`), or the demo (neither);
 * `--scopes` and `--tool-scope` belong to the first two.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#scope-selection-strategy
 */
export function parseServedFlags(
  values: Parameters<typeof parseGatewayFlags>[0] & Parameters<typeof parseStdioFlags>[0],
  command: string[] | undefined,
): { stdioOptions: StdioServeOptions | undefined; gateway: GatewayServeOptions | undefined } {
  const stdioOptions = parseStdioFlags(values, command)
  const gateway = parseGatewayFlags(values)
  if (stdioOptions && gateway)
    throw bad(
      '--stdio and --proxy exclude each other',
      'mcp-oauth serve --proxy http://127.0.0.1:3000/mcp, or mcp-oauth serve --stdio -- COMMAND',
    )
  if (!stdioOptions && !gateway && (values.scopes !== undefined || values['tool-scope'] !== undefined))
    throw bad(
      '--scopes and --tool-scope need --proxy or --stdio',
      'mcp-oauth serve --proxy http://127.0.0.1:3000/mcp',
    )
  return { stdioOptions, gateway }
}

/** The resource's shape for a gateway (`--proxy` or `--stdio`); `undefined` for the demo. @see https://www.rfc-editor.org/rfc/rfc9728#section-2 */
export function servedResource(
  gateway: GatewayServeOptions | undefined,
  stdio: StdioServeOptions | undefined,
) {
  return gateway ? gatewayResource(gateway) : stdio ? stdioResource(stdio) : undefined
}

/** The resource's shape in the authorization server and the kit. @see https://www.rfc-editor.org/rfc/rfc9728#section-2 */
export function gatewayResource(options: GatewayServeOptions) {
  return {
    scopes: gatewayScopes(options),
    defaultScopes: options.scopes,
    policy: gatewayPolicy(options),
    resourceName: 'mcp-oauth gateway',
  }
}

/**
 * Open the upstream and build the gateway's fetch handler and banner, for serve.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/security_best_practices#token-passthrough
 */
export async function startGateway(
  options: GatewayServeOptions,
  context: { mcp: string; issuer: string; resourceServer: ResourceServer; log: (line: string) => void },
): Promise<{ upstream: Upstream; handler: (request: Request) => Promise<Response>; banner: string[] }> {
  const upstream = await openUpstream(options.url, options.transport)
  const handler = createGateway({ upstream, resourceServer: context.resourceServer, log: context.log })
  return { upstream, handler, banner: gatewayBanner(context.mcp, upstream, options, context.issuer) }
}

/** Every scope the gateway's resource knows: the base ones, then the per-tool ones. */
export function gatewayScopes(options: GatewayServeOptions): string[] {
  return [...new Set([...options.scopes, ...Object.values(options.toolScopes).flat()])]
}

/** The kit's policy: base scopes on every request, per-tool extras on tools/call. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#scope-challenge-handling */
export function gatewayPolicy(options: GatewayServeOptions): {
  required: string[]
  tools: Record<string, string[]>
} {
  return { required: options.scopes, tools: options.toolScopes }
}

/**
 * The upstream for `transport`; `auto` probes now and, when the upstream is not up yet, on the first request.
 * @see https://modelcontextprotocol.io/specification/2025-03-26/basic/transports#backwards-compatibility
 */
export async function openUpstream(
  url: string,
  transport: UpstreamTransport,
  options: UpstreamOptions = {},
): Promise<Upstream> {
  if (transport === 'sse') return sseUpstream(url, options)
  if (transport === 'streamable-http') return httpUpstream(url, options)
  let detected: Promise<Upstream> | undefined
  const detect = () => {
    if (!detected) {
      const attempt = detectTransport(url, options).then((kind) =>
        kind === 'sse' ? sseUpstream(url, options) : httpUpstream(url, options),
      )
      detected = attempt
      attempt.catch(() => {
        if (detected === attempt) detected = undefined
      })
    }
    return detected
  }
  try {
    return await detect()
  } catch {
    return {
      describe: `${redactUrl(url)} (not reachable yet: transport detected on the first request)`,
      fetch: async (request) => (await detect()).fetch(request),
      async close() {
        await (await detected?.catch(() => undefined))?.close()
      },
    }
  }
}

/** The start banner lines (stderr): what is protected, where it goes, with which scopes. */
export function gatewayBanner(
  mcp: string,
  upstream: Upstream,
  options: GatewayServeOptions,
  issuer: string,
): string[] {
  const lines = [
    `gateway ${mcp} → ${upstream.describe}`,
    `scopes ${options.scopes.join(' ')} on every request; identity to the upstream in X-MCP-OAuth-Subject, X-MCP-OAuth-Scopes, X-MCP-OAuth-Client (never the token)`,
  ]
  for (const [tool, scopes] of Object.entries(options.toolScopes))
    lines.push(`tool ${tool} also needs ${scopes.join(' ')} (step-up)`)
  lines.push(`provider: authorization server ${issuer}`)
  if (!isLoopbackUrl(options.url))
    lines.push(
      'WARNING the upstream is not on loopback: make sure only this gateway can reach it (it trusts the identity headers)',
    )
  return lines
}
