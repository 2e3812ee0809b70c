/**
 * MCP servers with no authorization of their own, for `serve --proxy` to protect: an SDK v2 Streamable HTTP
 * server, an SDK v1 HTTP+SSE-only (2024-11-05) server and an SDK v1 Streamable HTTP (2025 only) server, all on
 * loopback. Each records the headers of every
 * request it receives, so tests can assert that no Authorization header ever reached it.
 * Tools: echo, whoami (the identity headers this call carried), admin_op (the gateway asks `admin` for it),
 * notify_long (a logging notification, then a 1 MiB text result).
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Server as V1Server } from '@modelcontextprotocol/sdk/server/index.js'
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js'
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js'
import { createMcpHandler, fromJsonSchema, McpServer } from '@modelcontextprotocol/server'
import { nodeListener } from '../../src/server/index.ts'

/** Size of notify_long's result. */
export const LONG_SIZE = 1024 * 1024

/** notify_long's result: numbered lines, so a dropped, doubled or reordered chunk shows in a byte comparison. */
export function longText(): string {
  let out = ''
  for (let i = 0; out.length < LONG_SIZE; i++)
    out += `line ${String(i).padStart(7, '0')} ${'abcdefghij'.repeat(6)}\n`
  return out.slice(0, LONG_SIZE)
}

/** What the upstream saw of one request. */
export interface Seen {
  method: string
  path: string
  authorization: boolean
  cookie: boolean
  subject: string | null
  scopes: string | null
  client: string | null
}

export interface Upstream {
  /** The URL to pass to `--proxy`. */
  url: string
  seen: Seen[]
  close(): Promise<void>
}

const tools = [
  {
    name: 'echo',
    description: 'echo',
    inputSchema: { type: 'object', properties: { value: { type: 'string' } } },
  },
  { name: 'whoami', description: 'the identity headers of this call', inputSchema: { type: 'object' } },
  { name: 'admin_op', description: 'the gateway asks admin for it', inputSchema: { type: 'object' } },
  { name: 'notify_long', description: 'a notification, then 1 MiB', inputSchema: { type: 'object' } },
]

const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] })

function record(req: IncomingMessage): Seen {
  const h = (name: string) => (req.headers[name] as string | undefined) ?? null
  return {
    method: req.method ?? '',
    path: (req.url ?? '').split('?')[0]!,
    authorization: req.headers.authorization !== undefined,
    cookie: req.headers.cookie !== undefined,
    subject: h('x-mcp-oauth-subject'),
    scopes: h('x-mcp-oauth-scopes'),
    client: h('x-mcp-oauth-client'),
  }
}

async function listen(server: Server, path: string): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise<void>((r) => {
      server.closeAllConnections()
      server.close(() => r())
    })
}

/** (b) An SDK v2 Streamable HTTP server (both eras: 2026-07-28, and 2025 through the SDK's stateless fallback). */
export async function startStreamableUpstream(): Promise<Upstream> {
  const seen: Seen[] = []
  const current = new AsyncLocalStorage<Seen>()
  const build = () => {
    const server = new McpServer(
      { name: 'gateway-upstream', version: '1.0.0' },
      { capabilities: { logging: {} } },
    )
    server.registerTool(
      'echo',
      { description: 'echo', inputSchema: fromJsonSchema(tools[0]!.inputSchema as never) },
      async (args) => text(JSON.stringify(args ?? {})),
    )
    server.registerTool('whoami', { description: tools[1]!.description }, async () =>
      text(JSON.stringify(current.getStore() ?? null)),
    )
    server.registerTool('admin_op', { description: tools[2]!.description }, async () => text('admin ok'))
    server.registerTool('notify_long', { description: tools[3]!.description }, async (ctx) => {
      await ctx.mcpReq.log('info', 'about to send 1 MiB', 'notify_long')
      return text(longText())
    })
    return server
  }
  const handler = createMcpHandler(build)
  const listener = nodeListener((request) => handler.fetch(request))
  const server = createServer((req, res) => {
    const s = record(req)
    seen.push(s)
    current.run(s, () => listener(req, res))
  })
  return { url: await listen(server, '/mcp'), seen, close: closer(server) }
}

/**
 * An SDK v1 server with the shared tools (it speaks 2025 revisions only). notify_long sends two progress
 * notifications first when the call asked for progress; its log message is related to the call, so a Streamable
 * HTTP transport sends it on the call's stream.
 */
function v1Server(name: string, current: AsyncLocalStorage<Seen>): V1Server {
  const server = new V1Server({ name, version: '1.0.0' }, { capabilities: { tools: {}, logging: {} } })
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }) as never)
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const name = request.params.name
    if (name === 'echo') return text(JSON.stringify(request.params.arguments ?? {}))
    if (name === 'whoami') return text(JSON.stringify(current.getStore() ?? null))
    if (name === 'admin_op') return text('admin ok')
    if (name === 'notify_long') {
      const token = request.params._meta?.progressToken
      if (token !== undefined)
        for (const progress of [1, 2])
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress, total: 2 },
          })
      await extra.sendNotification({
        method: 'notifications/message',
        params: { level: 'info', logger: 'notify_long', data: 'about to send 1 MiB' },
      })
      return text(longText())
    }
    throw new Error(`unknown tool ${name}`)
  })
  return server
}

/**
 * A 2025-only Streamable HTTP endpoint as a fetch handler: SDK v1's web-standard transport, one per session made
 * by `initialize`; a request naming an unknown session gets 404, as after a restart (`forgetSessions`).
 */
export function v1StreamableHandler(build: () => V1Server) {
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>()
  const failure = (status: number, message: string) =>
    Response.json({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }, { status })
  let initializes = 0
  return {
    /** How many sessions were opened so far. */
    get initializes() {
      return initializes
    },
    async fetch(request: Request): Promise<Response> {
      const sid = request.headers.get('mcp-session-id')
      if (sid) {
        const transport = sessions.get(sid)
        return transport ? transport.handleRequest(request) : failure(404, 'Session not found')
      }
      if (request.method !== 'POST') return failure(400, 'Bad Request: No valid session ID provided')
      const body = (await request.json().catch(() => null)) as { method?: string } | null
      if (body?.method !== 'initialize') return failure(400, 'Bad Request: Server not initialized')
      initializes++
      const transport: WebStandardStreamableHTTPServerTransport =
        new WebStandardStreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void sessions.set(id, transport),
          onsessionclosed: (id) => void sessions.delete(id),
        })
      await build().connect(transport)
      return transport.handleRequest(request, { parsedBody: body })
    },
    /** Drop every session, as a restarted server would. */
    async forgetSessions() {
      const open = [...sessions.values()]
      sessions.clear()
      await Promise.all(open.map((t) => t.close()))
    },
  }
}

/** (d) An SDK v1 Streamable HTTP server: 2025-11-25 and earlier only, with sessions. */
export async function startV1StreamableUpstream(): Promise<Upstream> {
  const seen: Seen[] = []
  const current = new AsyncLocalStorage<Seen>()
  const handler = v1StreamableHandler(() => v1Server('gateway-v1-upstream', current))
  const listener = nodeListener((request) => handler.fetch(request))
  const server = createServer((req, res) => {
    const s = record(req)
    seen.push(s)
    current.run(s, () => listener(req, res))
  })
  return { url: await listen(server, '/mcp'), seen, close: closer(server) }
}

/** (c) An SDK v1 server speaking only the 2024-11-05 HTTP+SSE transport: GET /sse, POST /messages. */
export async function startSseUpstream(): Promise<Upstream> {
  const seen: Seen[] = []
  const current = new AsyncLocalStorage<Seen>()
  const transports = new Map<string, SSEServerTransport>()
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const s = record(req)
    seen.push(s)
    current.run(s, async () => {
      const url = new URL(req.url ?? '/', 'http://localhost')
      if (req.method === 'GET' && url.pathname === '/sse') {
        const transport = new SSEServerTransport('/messages', res)
        transports.set(transport.sessionId, transport)
        res.on('close', () => transports.delete(transport.sessionId))
        await v1Server('gateway-sse-upstream', current).connect(transport)
      } else if (req.method === 'POST' && url.pathname === '/messages') {
        const transport = transports.get(url.searchParams.get('sessionId') ?? '')
        if (!transport) {
          res.writeHead(404).end('no such session')
          return
        }
        await transport.handlePostMessage(req, res)
      } else {
        res.writeHead(404).end('not found')
      }
    })
  })
  return { url: await listen(server, '/sse'), seen, close: closer(server) }
}
