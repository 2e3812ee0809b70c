/**
 * A protected MCP server for end-to-end tests, all on one loopback port: mcp-oauth's authorization server,
 * the resource-server kit, and an SDK v2 MCP server speaking either only 2026-07-28 (stateless) or only
 * 2025 revisions (sessions). Tools: echo, big (a 5 MB result), admin_op (needs scope `admin`: step-up); with `apps`, an MCP Apps UI
 * resource and the show_widget tool linking to it.
 */
import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createMcpHandler,
  fromJsonSchema,
  McpServer,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server'
import {
  type AuthorizationServerOptions,
  createAuthorizationServer,
  hashPassword,
} from '../../src/authorization-server/index.ts'
import { createResourceServer, jwtVerifier, nodeListener } from '../../src/server/index.ts'

export const USER = { username: 'alice', password: 'correct horse battery' }
export const BIG_SIZE = 5 * 1024 * 1024

/** The MCP Apps pieces the server exposes, as a host must receive them. @see https://github.com/modelcontextprotocol/ext-apps */
export const APP = {
  uri: 'ui://widget/app.html',
  mimeType: 'text/html;profile=mcp-app',
  html: '<!doctype html><html><body><h1>Wïdget ✓</h1><script>parent.postMessage({"jsonrpc":"2.0","method":"ui/initialize"},"*")</script></body></html>',
  resourceMeta: {
    ui: {
      csp: { connectDomains: ['https://api.example.com'], resourceDomains: ['https://cdn.example.com'] },
      prefersBorder: true,
      domain: 'https://widget.example.com',
    },
  },
  toolMeta: {
    ui: { resourceUri: 'ui://widget/app.html', visibility: ['model', 'app'] },
    'ui/resourceUri': 'ui://widget/app.html',
  },
  structured: { count: 3, items: ['a', 'b', 'c'] },
  resultMeta: { 'io.example/widget-state': { selected: 2, nested: { empty: {}, list: [] } } },
} as const

export interface ProtectedMcp {
  mcp: string
  issuer: string
  /** Drop every session and the listening socket, then listen again on the same port. */
  restart(): Promise<void>
  close(): Promise<void>
}

function buildServer(versions: string[], apps = false): McpServer {
  const server = new McpServer(
    { name: 'protected-test', version: '1.0.0' },
    { supportedProtocolVersions: versions },
  )
  const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] })
  server.registerTool(
    'echo',
    {
      description: 'echo',
      inputSchema: fromJsonSchema({ type: 'object', properties: { value: { type: 'string' } } }),
    },
    async (args) => text(JSON.stringify(args ?? {})),
  )
  server.registerTool('big', { description: '5 MB of text' }, async () => text('x'.repeat(BIG_SIZE)))
  server.registerTool('admin_op', { description: 'needs admin' }, async () => text('admin ok'))
  // MCP Apps (SEP-1865): a UI resource and a tool linking to it through `_meta`; bridges must pass both untouched.
  if (!apps) return server
  server.registerResource(
    'widget',
    APP.uri,
    { mimeType: APP.mimeType, _meta: APP.resourceMeta },
    async () => ({
      contents: [{ uri: APP.uri, mimeType: APP.mimeType, text: APP.html, _meta: APP.resourceMeta }],
    }),
  )
  server.registerTool('show_widget', { description: 'opens the widget', _meta: APP.toolMeta }, async () => ({
    ...text('widget shown'),
    structuredContent: APP.structured,
    _meta: APP.resultMeta,
  }))
  return server
}

/**
 * Start it. `era`: 'modern' accepts only 2026-07-28; 'legacy' only the given 2025 versions, with sessions.
 * `authorizationServer` adds options (e.g. no registration, pre-registered clients); `resourceAtOrigin` makes the
 * published protected resource the origin rather than the /mcp URL.
 */
export async function startProtectedMcp(
  era: 'modern' | 'legacy',
  versions: string[] = era === 'modern' ? ['2026-07-28'] : ['2025-11-25', '2025-06-18'],
  authorizationServer: Partial<AuthorizationServerOptions> = {},
  shape: { resourceAtOrigin?: boolean; apps?: boolean } = {},
): Promise<ProtectedMcp> {
  const http = createServer()
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
  const port = (http.address() as AddressInfo).port
  const issuer = `http://127.0.0.1:${port}`
  const mcp = `${issuer}/mcp`
  // Some servers publish their origin as the protected resource while the MCP endpoint is a path below it.
  const resource = shape.resourceAtOrigin ? issuer : mcp
  const as = await createAuthorizationServer({
    issuer,
    users: [{ username: USER.username, passwordHash: await hashPassword(USER.password) }],
    resources: [{ uri: resource, scopes: ['tools', 'admin'], defaultScopes: ['tools'] }],
    rateLimits: false,
    ...authorizationServer,
  })
  const rs = createResourceServer({
    resource,
    authorizationServers: [issuer],
    scopesSupported: ['tools', 'admin'],
    verifier: jwtVerifier({ issuer, keys: as.jwks as never }),
    policy: { required: ['tools'], tools: { admin_op: ['admin'] } },
  })
  let sessions = new Map<string, WebStandardStreamableHTTPServerTransport>()
  const modern = createMcpHandler(() => buildServer(versions, shape.apps))
  const listener = nodeListener((request) =>
    rs.handle(request, async (req, { authInfo, parsedBody }) => {
      if (era === 'modern') return modern.fetch(req, { authInfo })
      const id = req.headers.get('mcp-session-id')
      let transport = id ? sessions.get(id) : undefined
      if (id && !transport)
        return new Response(
          '{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}',
          { status: 404 },
        )
      if (!transport) {
        const t = new WebStandardStreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (sid) => void sessions.set(sid, t),
        })
        await buildServer(versions, shape.apps).connect(t)
        transport = t
      }
      return transport.handleRequest(req, { authInfo, parsedBody })
    }),
  )
  const onRequest = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!
    if (path === '/mcp' || path.startsWith('/.well-known/oauth-protected-resource')) listener(req, res)
    else as.handler(req, res)
  }
  http.on('request', onRequest)
  let server: Server = http
  return {
    mcp,
    issuer,
    async restart() {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
      sessions = new Map()
      server = createServer(onRequest)
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
      await as.close()
    },
  }
}
