/**
 * What `mcp-oauth serve --stdio -- <command> [args…]` adds to serve: the resource's scopes and per-tool policy,
 * and the protect-then-forward handler in front of {@link stdioUpstream} (the flags and config keys are in
 * src/cli/serve-flags.ts with the others). The identity the kit verified reaches the child in `_meta`, never the token.
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio
 */
import type { AuthInfo, ResourceServer } from '../../server/index.ts'
import type { RestartPolicy } from './stdio-child.ts'
import { stdioUpstream } from './stdio-upstream.ts'
import type { Upstream } from './upstream.ts'

/** The stdio part of serve's options. @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio */
export interface StdioServeOptions {
  command: string
  args: string[]
  /** Added to the child's environment. */
  env?: Record<string, string>
  restart: RestartPolicy
  /** Scopes every request needs (and the default grant). */
  scopes: string[]
  /** Extra scopes per tool name, asked for by step-up. */
  toolScopes: Record<string, string[]>
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
    ...(options.env ? { env: options.env } : {}),
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
