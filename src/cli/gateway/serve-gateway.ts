/**
 * What `mcp-oauth serve --proxy URL` and `serve --stdio -- CMD` put at /mcp instead of the demo: the resource's
 * scopes and per-tool scope policy, the upstream (an HTTP server, detected or named, or a local stdio child), the
 * gateway in front of it, and the start banner saying what is protected and how. The flags and config keys are
 * entries of serve's table (src/cli/serve-flags.ts).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#scope-selection-strategy
 */
import type { ResourceServer } from '../../server/index.ts'
import { redactUrl } from '../../shared/redact.ts'
import { isLoopbackUrl } from '../../shared/resource.ts'
import { eraUpstream } from './era.ts'
import { createGateway } from './gateway.ts'
import { sseUpstream } from './sse-upstream.ts'
import type { RestartPolicy } from './stdio-child.ts'
import { IDENTITY_META_KEY, stdioUpstream } from './stdio-upstream.ts'
import {
  detectTransport,
  httpUpstream,
  type Upstream,
  type UpstreamOptions,
  type UpstreamTransport,
} from './upstream.ts'

/** An MCP server reached over HTTP (`--proxy`). @see https://modelcontextprotocol.io/specification/2026-07-28/basic/transports */
export interface ProxyTarget {
  url: string
  transport: UpstreamTransport
}

/** A local stdio MCP server (`--stdio -- CMD`), one child for every client. @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio */
export interface StdioTarget {
  command: string
  args: string[]
  /** Added to the child's environment. */
  env?: Record<string, string>
  restart: RestartPolicy
}

/** The gateway part of serve's options. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export interface GatewayServeOptions {
  /** What the gateway forwards to. */
  target: ProxyTarget | StdioTarget
  /** Scopes every request needs (and the default grant). */
  scopes: string[]
  /** Extra scopes per tool name, asked for by step-up. */
  toolScopes: Record<string, string[]>
}

/** Whether the target is an HTTP server (else a stdio child). */
export function isProxy(target: ProxyTarget | StdioTarget): target is ProxyTarget {
  return 'url' in target
}

/** The resource's shape in the authorization server and the kit. @see https://www.rfc-editor.org/rfc/rfc9728#section-2 */
export function gatewayResource(options: Pick<GatewayServeOptions, 'scopes' | 'toolScopes'>) {
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
  const { target } = options
  // The child's stderr lines carry their own `[upstream]` prefix; the gateway's own lines say who speaks.
  const log = (line: string) => context.log(`mcp-oauth serve: ${line}`)
  // Clients pinned to 2026-07-28 in front of a 2025-only upstream are translated; 2025 clients pass as they are.
  const upstream = eraUpstream(
    isProxy(target)
      ? await openUpstream(target.url, target.transport)
      : await stdioUpstream({
          command: target.command,
          args: target.args,
          ...(target.env ? { env: target.env } : {}),
          restart: target.restart,
          log: context.log,
        }),
    { log },
  )
  const handler = createGateway({ upstream, resourceServer: context.resourceServer, log })
  return { upstream, handler, banner: gatewayBanner(context.mcp, upstream, options, context.issuer) }
}

/** Every scope the gateway's resource knows: the base ones, then the per-tool ones. */
export function gatewayScopes(options: Pick<GatewayServeOptions, 'scopes' | 'toolScopes'>): string[] {
  return [...new Set([...options.scopes, ...Object.values(options.toolScopes).flat()])]
}

/** The kit's policy: base scopes on every request, per-tool extras on tools/call. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#scope-challenge-handling */
export function gatewayPolicy(options: Pick<GatewayServeOptions, 'scopes' | 'toolScopes'>): {
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
  const { target } = options
  // stdio has no headers: the child finds the identity in each request's _meta.
  const identity = isProxy(target)
    ? 'identity to the upstream in X-MCP-OAuth-Subject, X-MCP-OAuth-Scopes, X-MCP-OAuth-Client'
    : `identity to the server in params._meta["${IDENTITY_META_KEY}"]`
  const lines = [
    `gateway ${mcp} → ${upstream.describe}${isProxy(target) ? '' : ` (restart ${target.restart})`}`,
    `scopes ${options.scopes.join(' ')} on every request; ${identity} (never the token)`,
  ]
  for (const [tool, scopes] of Object.entries(options.toolScopes))
    lines.push(`tool ${tool} also needs ${scopes.join(' ')} (step-up)`)
  lines.push(`provider: authorization server ${issuer}`)
  if (isProxy(target) && !isLoopbackUrl(target.url))
    lines.push(
      'WARNING the upstream is not on loopback: make sure only this gateway can reach it (it trusts the identity headers)',
    )
  return lines
}
