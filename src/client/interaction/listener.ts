/**
 * The sockets of the loopback redirect listener: binding every host of the redirect URI on one port, closing without
 * waiting for idle browser connections, and the answers it writes (`Connection: close`, no caching, no framing).
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
import type http from 'node:http'
import type { AddressInfo } from 'node:net'
import { McpOAuthError, SPEC } from '../../shared/errors.ts'
import { CALLBACK_HEADERS } from './pages.ts'
import type { SiblingInfo } from './sibling.ts'

/**
 * Bind one server per host on the same port (the first host picks it when `port` is 0, and a busy ephemeral pick is
 * tried again); an address family the machine lacks is skipped after the first host.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-8.3
 */
export async function listenAll(
  hosts: readonly string[],
  port: number,
  create: () => http.Server,
): Promise<{ servers: http.Server[]; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const servers: http.Server[] = []
    try {
      let bound = port
      for (const [i, host] of hosts.entries()) {
        const server = create()
        try {
          await listenOn(server, host, bound)
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code
          // No IPv6 on this machine: 127.0.0.1 alone still serves `localhost` for browsers that fall back.
          if (i > 0 && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) continue
          throw error
        }
        servers.push(server)
        bound = (server.address() as AddressInfo).port
      }
      return { servers, port: bound }
    } catch (error) {
      await Promise.all(servers.map(closeServer))
      const retry = port === 0 && attempt < 5 && (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
      if (!retry) throw error
    }
  }
}

function listenOn(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/** Close a listener and drop its connections at once. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve()
    server.close(() => resolve())
    // Idle pre-connected browser sockets would otherwise keep the port (and the next sign-in) hanging.
    server.closeAllConnections()
  })
}

/** The error for a fixed callback port held by another program, or by a sibling with another path. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export function portInUse(port: number, sibling: SiblingInfo | undefined): McpOAuthError {
  return new McpOAuthError(
    'callback_port_in_use',
    sibling
      ? `callback port ${port} is held by mcp-oauth process ${sibling.pid} with a different callback path`
      : `callback port ${port} is in use by another program`,
    {
      spec: SPEC.rfc8252,
      hint: sibling
        ? 'use the same callback path in every process that shares a fixed port'
        : `free port ${port} (find the program with "lsof -i :${port}") or register a different redirect URI`,
      details: { port, ...(sibling ? { siblingPid: sibling.pid } : {}) },
    },
  )
}

/** Answer with a page (no body for HEAD). @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export function send(
  res: http.ServerResponse,
  status: number,
  html: string,
  extra: Record<string, string> = {},
): void {
  if (res.headersSent) return
  const body = res.req.method === 'HEAD' ? '' : html
  res.writeHead(status, {
    ...CALLBACK_HEADERS,
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(html)),
    ...extra,
  })
  res.end(body)
}

/** Answer a sibling with JSON (an empty body for `undefined`). @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  if (res.headersSent || res.writableEnded) return
  const body = value === undefined ? '' : JSON.stringify(value)
  res.writeHead(status, {
    ...CALLBACK_HEADERS,
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
  })
  res.end(body)
}
