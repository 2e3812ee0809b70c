/** A loopback HTTP server with a route table, for tests that need real sockets. */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export type Handler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: string,
) => void | Promise<void>

export interface TestServer {
  url: string
  origin: string
  routes: Map<string, Handler>
  requests: { method: string; path: string }[]
  close(): Promise<void>
}

/** Start a server on 127.0.0.1:0; unknown paths answer 404. */
export async function startServer(routes: Record<string, Handler> = {}): Promise<TestServer> {
  const table = new Map(Object.entries(routes))
  const requests: { method: string; path: string }[] = []
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const path = new URL(req.url ?? '/', 'http://x').pathname
    requests.push({ method: req.method ?? 'GET', path })
    const h = table.get(`${req.method} ${path}`) ?? table.get(path)
    if (!h) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}')
      return
    }
    try {
      await h(req, res, Buffer.concat(chunks).toString('utf8'))
    } catch (e) {
      if (!res.headersSent) res.writeHead(500).end(String(e))
    }
  })
  server.keepAliveTimeout = 1
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  const origin = `http://127.0.0.1:${port}`
  return {
    url: origin,
    origin,
    routes: table,
    requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** Reply with JSON. */
export function json(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
}
