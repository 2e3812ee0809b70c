/**
 * One zoo profile on one loopback origin: an authorization server (a bent oidc-provider, or mcp-oauth's own),
 * an SDK v2 MCP server protected by mcp-oauth-toolkit/server with two tools needing two different scopes, and
 * optionally something in front (a CDN). Every request is logged with its status, so the harness can count the
 * requests a sign-in costs.
 */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createMcpHandler,
  McpServer,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server'
import { createResourceServer, jwtVerifier, nodeListener } from '../../src/server/index.ts'
import type { AuthorizationServerLog } from './zoo-provider.ts'

/** What a profile's authorization server gives the zoo. */
export interface ZooAuthorizationServer {
  issuer: string
  jwks: { keys: Record<string, unknown>[] }
  log: AuthorizationServerLog
  owns(path: string): boolean
  handle(req: IncomingMessage, res: ServerResponse): void
  close?(): Promise<void>
}

/** One request as the origin saw it. */
export interface LoggedRequest {
  method: string
  path: string
  status: number
}

/** A running profile. */
export interface ZooServer {
  origin: string
  mcp: string
  as: ZooAuthorizationServer
  requests: LoggedRequest[]
  close(): Promise<void>
}

/** How the MCP side of a profile behaves. */
export interface ZooServerOptions {
  /** Build the authorization server once the origin (and so the MCP resource URL) is known. */
  authorizationServer(origin: string, resource: string): Promise<ZooAuthorizationServer>
  /** The tool scopes: `read` needs the first, `write` the second. */
  scopes: readonly [string, string]
  /** MCP protocol versions with sessions (e.g. only 2025-03-26); default: every version the SDK speaks, stateless. */
  versions?: string[]
  /** RFC 9728 metadata: served and `named` in the challenge (default), served but `unnamed`, or `none` (2025-03-26). */
  protectedResourceMetadata?: 'named' | 'unnamed' | 'none'
  /** Token audiences accepted besides the resource (an AS that sets its own). */
  audiences?: string[]
  /** Answers some requests before they reach the origin (a CDN); return true when it did. */
  front?(req: IncomingMessage, res: ServerResponse, path: string): boolean
}

function buildServer(versions: string[] | undefined): McpServer {
  const server = new McpServer(
    { name: 'zoo', version: '1.0.0' },
    versions ? { supportedProtocolVersions: versions } : {},
  )
  server.registerTool('read', { description: 'needs the first scope' }, async (ctx) => ({
    content: [
      {
        type: 'text',
        text: JSON.stringify({
          subject: ctx.http?.authInfo?.extra?.['subject'] ?? null,
          scopes: ctx.http?.authInfo?.scopes ?? [],
        }),
      },
    ],
  }))
  server.registerTool('write', { description: 'needs the second scope' }, async () => ({
    content: [{ type: 'text', text: 'written' }],
  }))
  return server
}

/** Start a profile on 127.0.0.1, port 0. */
export async function startZoo(options: ZooServerOptions): Promise<ZooServer> {
  const http = createServer()
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
  const origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  const mcp = `${origin}/mcp`
  const as = await options.authorizationServer(origin, mcp)
  const versions = options.versions
  const metadata = options.protectedResourceMetadata ?? 'named'
  const prm = metadata !== 'none'
  const rs = createResourceServer({
    resource: mcp,
    authorizationServers: [as.issuer],
    scopesSupported: [...options.scopes],
    // An expired token is refused at once: the refresh step must not pass on a cached verdict.
    clockToleranceSeconds: 0,
    verifier: jwtVerifier({
      issuer: as.issuer,
      keys: as.jwks as never,
      clockToleranceSeconds: 0,
      ...(options.audiences ? { additionalAudiences: options.audiences } : {}),
    }),
    policy: { required: [options.scopes[0]], tools: { write: [options.scopes[1]] } },
  })
  const modern = createMcpHandler(() => buildServer(versions))
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>()
  const stateless = !versions
  const listener = nodeListener(async (request) => {
    const response = await rs.handle(request, async (req, { authInfo, parsedBody }) => {
      if (stateless) return modern.fetch(req, { authInfo })
      const id = req.headers.get('mcp-session-id')
      let transport = id ? sessions.get(id) : undefined
      if (id && !transport) return new Response(null, { status: 404 })
      if (!transport) {
        const t = new WebStandardStreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (sid) => void sessions.set(sid, t),
        })
        await buildServer(versions).connect(t)
        transport = t
      }
      return transport.handleRequest(req, { authInfo, parsedBody })
    })
    const challenge = response.headers.get('www-authenticate')
    if (metadata === 'named' || !challenge) return response
    // A 2025-03-26 server knows nothing of RFC 9728, and many later ones still leave it out of the challenge.
    const headers = new Headers(response.headers)
    headers.set('www-authenticate', challenge.replace(/,?\s*resource_metadata="[^"]*"/, ''))
    return new Response(response.body, { status: response.status, headers })
  })
  const requests: LoggedRequest[] = []
  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!
    const entry = { method: req.method ?? 'GET', path, status: 0 }
    requests.push(entry)
    res.on('finish', () => {
      entry.status = res.statusCode
    })
    if (options.front?.(req, res, path)) return
    if (path === '/mcp' || (prm && path.startsWith('/.well-known/oauth-protected-resource')))
      listener(req, res)
    else if (as.owns(path)) as.handle(req, res)
    else res.writeHead(404).end()
  })
  return {
    origin,
    mcp,
    as,
    requests,
    async close() {
      http.closeAllConnections()
      await new Promise<void>((r) => http.close(() => r()))
      await as.close?.()
    },
  }
}
