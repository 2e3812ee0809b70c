/**
 * Test helper: a minimal MCP endpoint on 127.0.0.1 that accepts only JWT access tokens from the test
 * authorization server for its own URL (RFC 9068 audience), publishes its protected-resource metadata and
 * answers 401 with a challenge naming it.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRemoteJWKSet, jwtVerify } from 'jose'

export interface TestMcpServer {
  url: string
  stats: { authorized: number; rejected: number }
  /** Set once the authorization server is known. */
  setIssuer(issuer: string): void
  close(): Promise<void>
}

/** Start the endpoint at `/mcp`. */
export async function startTestMcpServer(): Promise<TestMcpServer> {
  const stats = { authorized: 0, rejected: 0 }
  let issuer = ''
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined
  let url = ''
  const prm = '/.well-known/oauth-protected-resource/mcp'
  const server = http.createServer(async (req, res) => {
    if (req.url === prm) {
      res.writeHead(200, { 'content-type': 'application/json' })
      return res.end(
        JSON.stringify({ resource: url, authorization_servers: [issuer], scopes_supported: ['mcp:tools'] }),
      )
    }
    const auth = req.headers.authorization ?? ''
    const challenge = `Bearer resource_metadata="${new URL(prm, url).href}", scope="mcp:tools"`
    try {
      jwks ??= createRemoteJWKSet(new URL(`${issuer}/jwks`))
      if (!auth.startsWith('Bearer ')) throw new Error('no token')
      await jwtVerify(auth.slice(7), jwks, { issuer, audience: url })
    } catch {
      stats.rejected++
      res.writeHead(401, { 'www-authenticate': auth ? `${challenge}, error="invalid_token"` : challenge })
      return res.end()
    }
    stats.authorized++
    for await (const _ of req) {
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools: [] } }))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`
  return {
    url,
    stats,
    setIssuer(i) {
      issuer = i
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r())
        server.closeAllConnections()
      }),
  }
}
