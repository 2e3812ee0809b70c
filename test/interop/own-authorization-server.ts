/**
 * mcp-oauth's own authorization server (oidc-provider configured for MCP) as a zoo authorization server, for the
 * profiles whose quirk is on the MCP side (a 2025-03-26 server that is its own AS) or that need what it adds
 * (Client ID Metadata Documents fetched over https from loopback in development).
 */
import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  type AuthorizationServerOptions,
  createAuthorizationServer,
  hashPassword,
} from '../../src/authorization-server/index.ts'
import { type AuthorizationServerLog, emptyLog } from './zoo-provider.ts'
import type { ZooAuthorizationServer } from './zoo-server.ts'

/** The person who signs in at mcp-oauth's own login page. */
export const ALICE = { username: 'alice', password: 'correct horse battery' }

/** Start it at the origin's root, for `resource` with the two scopes. */
export async function ownAuthorizationServer(
  origin: string,
  resource: string,
  scopes: readonly [string, string],
  accessTokenTtl: number,
  options: Partial<AuthorizationServerOptions> = {},
): Promise<ZooAuthorizationServer> {
  const as = await createAuthorizationServer({
    issuer: origin,
    users: [{ username: ALICE.username, passwordHash: await hashPassword(ALICE.password) }],
    resources: [{ uri: resource, scopes, defaultScopes: [scopes[0]], accessTokenTtlSeconds: accessTokenTtl }],
    rateLimits: false,
    ...options,
  })
  const log = emptyLog()
  return {
    issuer: as.issuer,
    jwks: as.jwks,
    log,
    owns: (path) => path !== '/mcp',
    handle: observed(as.handler, log),
    close: () => as.close(),
  }
}

const hash = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 16)

/**
 * The server's own log, taken at the HTTP layer (its provider's middleware stack is already composed): token
 * requests are read before the provider (which then takes the parsed body) and their answers as they are sent.
 */
function observed(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  log: AuthorizationServerLog,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'POST' || (path !== '/token' && path !== '/token/revocation')) return handler(req, res)
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const params = new URLSearchParams(Buffer.concat(chunks).toString())
      ;(req as IncomingMessage & { body?: unknown }).body = Object.fromEntries(params)
      const grant = params.get('grant_type')
      const sent: Buffer[] = []
      const write = res.write.bind(res)
      const end = res.end.bind(res)
      res.write = ((chunk: unknown, ...rest: never[]) => {
        if (chunk) sent.push(Buffer.from(chunk as string))
        return write(chunk as never, ...rest)
      }) as typeof res.write
      res.end = ((chunk?: unknown, ...rest: never[]) => {
        if (chunk && typeof chunk !== 'function') sent.push(Buffer.from(chunk as string))
        record(res.statusCode, Buffer.concat(sent).toString())
        return end(chunk as never, ...rest)
      }) as typeof res.end
      const record = (status: number, text: string) => {
        if (path === '/token/revocation') {
          if (status === 200) log.revocations++
          return
        }
        let body: { error?: string; refresh_token?: string } = {}
        try {
          body = JSON.parse(text) as typeof body
        } catch {}
        if (process.env.ZOO_DEBUG)
          console.error(status, text.replace(/"(access|refresh|id)_token":"[^"]*"/g, '$1'))
        if (body.error) log.tokenErrors.push(body.error)
        if (grant === 'authorization_code' && status === 200) log.codeGrants++
        if (grant === 'refresh_token') {
          log.refreshTokens.push(hash(params.get('refresh_token') ?? ''))
          if (status === 200) log.refreshGrants++
        }
        if (body.refresh_token) log.issuedRefreshTokens.push(hash(body.refresh_token))
      }
      handler(req, res)
    })
  }
}
