/** Test helper: an SDK v2 MCP server with a few tools, served over node:http behind a fetch handler. */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server'
import { nodeListener } from '../adapters/node-http.ts'
import { createResourceServer, type ResourceServer, type ResourceServerOptions } from '../protect.ts'

/** An McpServer with `whoami` (echoes the verified subject and scopes) and `deploy`. */
export function buildMcpServer(): McpServer {
  const server = new McpServer({ name: 'protected-test', version: '1.0.0' })
  server.registerTool('whoami', { description: 'who is calling' }, async (ctx) => {
    const auth = ctx.http?.authInfo
    return {
      content: [
        {
          type: 'text',
          text: JSON.stringify({ subject: auth?.extra?.['subject'] ?? null, scopes: auth?.scopes ?? [] }),
        },
      ],
    }
  })
  server.registerTool('deploy', { description: 'needs the deploy scope' }, async () => ({
    content: [{ type: 'text', text: 'deployed' }],
  }))
  return server
}

export interface Listening {
  url: string
  server: http.Server
  close(): Promise<void>
}

/** Listen on 127.0.0.1, port 0. */
export async function listen(
  listener: http.RequestListener,
  options: http.ServerOptions = {},
): Promise<Listening> {
  const server = http.createServer(options, listener)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** Serve a fetch-shaped handler on 127.0.0.1. */
export function serveFetch(
  handler: (request: Request) => Response | Promise<Response>,
  options: http.ServerOptions = {},
): Promise<Listening> {
  return listen(nodeListener(handler), options)
}

/** {@link buildMcpServer} behind the kit, listening; `resource` is its `/mcp` URL. */
export interface ProtectedDemo extends Listening {
  resource: string
  rs: ResourceServer
}

/**
 * {@link buildMcpServer} behind the kit on 127.0.0.1 at `/mcp`: `kit(resource)` configures the kit once the URL is
 * known. `context: 'authInfo'` hands the SDK handler only `authInfo` (it then parses the body itself), `'all'` the
 * kit's whole context (the form index.ts shows); `onRequest` sees each request first.
 */
export async function serveProtectedDemo(
  kit: (resource: string) => ResourceServerOptions,
  options: { context?: 'all' | 'authInfo'; onRequest?: (request: Request) => void } = {},
): Promise<ProtectedDemo> {
  const handler = createMcpHandler(() => buildMcpServer())
  let rs: ResourceServer | undefined
  const mcp = await serveFetch((req) => {
    options.onRequest?.(req)
    return rs!.handle(req, (r, ctx) =>
      handler.fetch(r, options.context === 'authInfo' ? { authInfo: ctx.authInfo } : ctx),
    )
  })
  const resource = `${mcp.url}/mcp`
  rs = createResourceServer(kit(resource))
  return { ...mcp, resource, rs }
}

export { createMcpHandler }
