/**
 * What `mcp-oauth serve` says on stderr once it listens: where, for which resources and how they check its
 * tokens, the upstream identity provider, the gateway, pre-registered clients, a generated development user.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import type { ServeConfig } from '../serve-config.ts'
import { upstreamBanner } from '../upstream-options.ts'

/** The start lines (without the `mcp-oauth serve: ` prefix). @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export function startBanner(
  config: ServeConfig,
  serving: { listen: string; issuer: string; mcp?: string; gateway?: string[] },
  generated: { username: string; password: string } | undefined,
): string[] {
  const lines = [`listening on ${serving.listen}`, `authorization server ${serving.issuer}`]
  if (serving.mcp) lines.push(`MCP server ${serving.mcp}`)
  if (config.upstream) lines.push(upstreamBanner(config.upstream, serving.issuer))
  lines.push(...(serving.gateway ?? []))
  for (const r of config.resources) {
    const format = (r.tokenFormat ?? config.tokenFormat) === 'jwt' ? 'RFC 9068 JWT' : 'opaque'
    lines.push(`issuing ${format} access tokens with aud ${r.uri} (scopes: ${r.scopes.join(' ')})`)
  }
  if (config.resources.length)
    lines.push(
      `resource servers check iss ${serving.issuer}, typ at+jwt and their aud, with keys from ${serving.issuer}/jwks; their protected resource metadata names ${serving.issuer} in authorization_servers`,
    )
  for (const c of config.clients)
    lines.push(`pre-registered ${c.client_secret ? 'confidential' : 'public'} client ${c.client_id}`)
  if (generated) lines.push(`development user "${generated.username}" with password "${generated.password}"`)
  if (config.allowPrivateCimd)
    lines.push('WARNING --allow-private-cimd fetches client metadata from private addresses')
  return lines
}
