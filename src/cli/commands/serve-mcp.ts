/**
 * serve's own /mcp: the resource-server kit (token check, per-tool scopes, protected resource metadata) in front
 * of the demo MCP server or a gateway, and the dispatch sending everything else to the authorization server.
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AuthorizationServer } from '../../authorization-server/index.ts'
import {
  createResourceServer,
  introspectionVerifier,
  jwtVerifier,
  nodeListener,
  type ResourceServer,
} from '../../server/index.ts'
import { DEMO_RESOURCE_SERVER_CLIENT_ID } from '../serve-config.ts'
import { liveGrantVerifier } from './serve-demo.ts'

/** What {@link ownResourceServer} wires together. */
export interface OwnResourceWiring {
  as: AuthorizationServer
  issuer: string
  mcp: string
  /** The resource server's introspection secret (its client is pre-registered by serve). */
  rsSecret: string
  tokenFormat: 'jwt' | 'opaque'
  scopes: string[]
  policy: { required: string[]; tools: Record<string, string[]> }
  resourceName: string
  audit?: (line: string) => void
}

/**
 * The kit protecting serve's own /mcp. It learns of sign-out and revocation within seconds: a short
 * introspection cache for opaque tokens, a grant check beside the signature for JWTs.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
export function ownResourceServer(w: OwnResourceWiring): ResourceServer {
  const verifier =
    w.tokenFormat === 'opaque'
      ? introspectionVerifier({
          endpoint: `${w.issuer}/token/introspection`,
          issuer: w.issuer,
          clientId: DEMO_RESOURCE_SERVER_CLIENT_ID,
          clientSecret: w.rsSecret,
          cacheMaxAgeSeconds: 2,
        })
      : liveGrantVerifier(
          jwtVerifier({ issuer: w.issuer, keys: () => w.as.jwks as never, requireAtJwtType: true }),
          (jti) => w.as.accessTokenGrantAlive(jti),
        )
  const audit = w.audit
  return createResourceServer({
    resource: w.mcp,
    authorizationServers: [w.issuer],
    scopesSupported: w.scopes,
    resourceName: w.resourceName,
    verifier,
    policy: w.policy,
    ...(audit
      ? {
          onRefusal: (r) =>
            audit(
              `${JSON.stringify({ at: new Date().toISOString(), audit: true, type: 'mcp.refused', ...r })}\n`,
            ),
        }
      : {}),
  })
}

/**
 * The request handler of serve: /mcp and its protected resource metadata go to `handler`, everything else to the
 * authorization server.
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3
 */
export function mcpDispatch(
  as: AuthorizationServer,
  mcp: string,
  handler: (request: Request) => Promise<Response>,
): (req: IncomingMessage, res: ServerResponse) => void {
  const mcpListener = nodeListener(handler)
  const mcpPath = new URL(mcp).pathname
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!
    if (path === mcpPath || path.startsWith('/.well-known/oauth-protected-resource')) mcpListener(req, res)
    else as.handler(req, res)
  }
}
