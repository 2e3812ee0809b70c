/**
 * A small but real MCP server with its own authorization server on one loopback port, healthy by default, with
 * switches that each break exactly one thing. The gallery (gallery.ts) names one switch per broken server.
 * It speaks just enough MCP (initialize, tools/list, tools/call) and OAuth (RFC 8414 metadata, RFC 7591/7592,
 * authorization code + PKCE S256 with an auto-approving consent, refresh with rotation) for doctor to walk it.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import { createHash, randomBytes } from 'node:crypto'
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { SignJWT } from 'jose'
import type { Defects } from './defects.ts'

/** A running gallery server. */
export interface GalleryServer {
  url: string
  origin: string
  issuer: string
  /** Requests it answered, `METHOD path` (for asserting what doctor did, e.g. the RFC 7592 DELETE). */
  log: string[]
  /** Client IDs registered and not deleted. */
  clients: Map<string, { client_name: string; redirect_uris: string[] }>
  close(): Promise<void>
}

/** TLS material for an https server. */
export interface TlsMaterial {
  key: string
  cert: string
}

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

interface Code {
  client_id: string
  redirect_uri: string
  challenge: string
  scope: string
  resource: string
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req) {
    size += (c as Buffer).length
    if (size > 64 * 1024) throw new Error('body too large')
    chunks.push(c as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
  res.end(JSON.stringify(body))
}

/**
 * Start a gallery server on 127.0.0.1, port 0, over http (or https with `tls`).
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export async function startGalleryServer(defects: Defects = {}, tls?: TlsMaterial): Promise<GalleryServer> {
  const d = defects
  const signingKey = randomBytes(32)
  const clients = new Map<string, { client_name: string; redirect_uris: string[]; rat: string }>()
  const codes = new Map<string, Code>()
  /** Device codes by device_code: who asked, for what, and whether the person approved (RFC 8628). */
  const devices = new Map<
    string,
    { client_id: string; user_code: string; scope: string; resource: string; approved: boolean }
  >()
  const refreshTokens = new Map<string, { client_id: string; scope: string; resource: string }>()
  const log: string[] = []
  const server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }) : createHttpServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const origin = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`
  const url = `${origin}/mcp`
  const issuer = d.pathIssuerAtRoot || d.prmListsOrigin ? `${origin}/tenant1` : origin
  const listedIssuer = d.httpIssuer
    ? `http://auth.doctor-gallery.test:${port}`
    : d.prmListsOrigin
      ? origin
      : issuer
  const resource = d.trailingSlash ? `${url}/` : url
  const prmPath = '/.well-known/oauth-protected-resource/mcp'
  const cors: Record<string, string> = d.noCors ? {} : { 'access-control-allow-origin': '*' }
  const scopes = ['mcp:read', 'admin', ...(d.offlineAccessOnly ? ['offline_access'] : [])]

  const metadata = {
    issuer,
    authorization_endpoint: `${origin}/authorize`,
    token_endpoint: `${origin}/token`,
    ...(d.noRegistrationEndpoint ? {} : { registration_endpoint: `${origin}/register` }),
    device_authorization_endpoint: `${origin}/device`,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token', DEVICE_GRANT],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none'],
    scopes_supported: scopes,
    authorization_response_iss_parameter_supported: true,
    client_id_metadata_document_supported: !d.noRegistrationEndpoint,
  }
  const metadataPaths = d.oidcOnly
    ? ['/.well-known/openid-configuration']
    : ['/.well-known/oauth-authorization-server']

  const challenge = (extra: Record<string, string> = {}) => {
    const params: Record<string, string> = {
      ...(d.invalidTokenWithoutToken ? { error: 'invalid_token' } : {}),
      resource_metadata: `${origin}${d.resourceMetadata404 ? '/.well-known/oauth-protected-resource/missing' : prmPath}`,
      scope: 'mcp:read',
      ...extra,
    }
    return `Bearer ${Object.entries(params)
      .map(([k, v]) => `${k}="${v}"`)
      .join(', ')}`
  }

  async function issueTokens(client_id: string, scope: string, aud: string, withRefresh: boolean) {
    const access_token = await new SignJWT({ scope, client_id })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setIssuer(issuer)
      .setAudience(aud)
      .setSubject('gallery-user')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(signingKey)
    const body: Record<string, unknown> = { access_token, token_type: 'Bearer', expires_in: 3600, scope }
    if (withRefresh) {
      const rt = randomBytes(24).toString('base64url')
      refreshTokens.set(rt, { client_id, scope, resource: aud })
      body['refresh_token'] = rt
    }
    return body
  }

  async function verify(req: IncomingMessage): Promise<{ scope: string[] } | undefined> {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')
    if (!m) return undefined
    const { jwtVerify } = await import('jose')
    try {
      // The server checks the audience against its real URL, whatever its PRM says.
      const { payload } = await jwtVerify(m[1]!, signingKey, { issuer, audience: url })
      return { scope: String(payload['scope'] ?? '').split(' ') }
    } catch {
      return undefined
    }
  }

  async function mcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!d.noCors) {
      res.setHeader('access-control-allow-origin', '*')
      res.setHeader('access-control-expose-headers', 'WWW-Authenticate, Mcp-Session-Id')
    }
    if (req.method === 'OPTIONS') {
      if (!d.noCors) {
        res.setHeader('access-control-allow-methods', 'POST, GET, DELETE')
        res.setHeader(
          'access-control-allow-headers',
          'authorization, content-type, mcp-protocol-version, mcp-session-id',
        )
      }
      res.writeHead(204)
      return void res.end()
    }
    if (req.method !== 'POST') return json(res, 405, { error: 'method not allowed' })
    const auth = await verify(req)
    const body = JSON.parse((await readBody(req)) || '{}') as {
      id?: number
      method?: string
      params?: { name?: string }
    }
    if (!auth) {
      const hadToken = Boolean(req.headers.authorization)
      res.setHeader('www-authenticate', hadToken ? challenge({ error: 'invalid_token' }) : challenge())
      return json(res, 401, { error: 'unauthorized' })
    }
    if (body.id === undefined) {
      res.writeHead(202)
      return void res.end()
    }
    const reply = (result: unknown) => json(res, 200, { jsonrpc: '2.0', id: body.id, result })
    switch (body.method) {
      case 'initialize':
        return reply({
          protocolVersion: '2025-11-25',
          capabilities: { tools: {} },
          serverInfo: { name: 'doctor-gallery', version: '1' },
        })
      case 'tools/list':
        return reply({
          tools: [
            { name: 'read_report', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true } },
          ],
        })
      case 'tools/call':
        if (!auth.scope.includes('admin')) {
          res.setHeader(
            'www-authenticate',
            challenge({ error: 'insufficient_scope', scope: 'mcp:read admin' }),
          )
          return json(res, 403, { error: 'insufficient_scope' })
        }
        return reply({ content: [{ type: 'text', text: 'report' }] })
      default:
        return json(res, 200, {
          jsonrpc: '2.0',
          id: body.id,
          error: { code: -32601, message: 'no such method' },
        })
    }
  }

  async function register(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const meta = JSON.parse((await readBody(req)) || '{}') as {
      client_name?: string
      redirect_uris?: string[]
    }
    if (d.dcrAllowlist && meta.client_name !== 'Approved Client') {
      return json(res, 403, {
        error: 'access_denied',
        error_description: 'client_name is not on the allow-list',
      })
    }
    const client_id = randomBytes(12).toString('base64url')
    const rat = randomBytes(24).toString('base64url')
    const redirect_uris = meta.redirect_uris ?? []
    clients.set(client_id, { client_name: meta.client_name ?? '', redirect_uris, rat })
    return json(res, 201, {
      client_id,
      client_id_issued_at: Math.floor(Date.now() / 1000),
      client_name: meta.client_name,
      redirect_uris,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      registration_client_uri: `${origin}/register/${client_id}`,
      registration_access_token: rat,
    })
  }

  function authorize(u: URL, res: ServerResponse): void {
    const p = u.searchParams
    const client = clients.get(p.get('client_id') ?? '')
    const redirect = p.get('redirect_uri') ?? ''
    if (!client?.redirect_uris.includes(redirect) || p.get('code_challenge_method') !== 'S256') {
      json(res, 400, { error: 'invalid_request' })
      return
    }
    const code = randomBytes(16).toString('base64url')
    codes.set(code, {
      client_id: p.get('client_id')!,
      redirect_uri: redirect,
      challenge: p.get('code_challenge') ?? '',
      scope: p.get('scope') ?? 'mcp:read',
      resource: p.get('resource') ?? '',
    })
    const back = new URL(redirect)
    back.searchParams.set('code', code)
    back.searchParams.set('state', p.get('state') ?? '')
    back.searchParams.set('iss', issuer)
    res.writeHead(302, { location: back.href })
    res.end()
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const p = new URLSearchParams(await readBody(req))
    const grant = p.get('grant_type')
    if (grant === 'authorization_code') {
      const c = codes.get(p.get('code') ?? '')
      codes.delete(p.get('code') ?? '')
      const verifier = p.get('code_verifier') ?? ''
      const computed = createHash('sha256').update(verifier).digest('base64url')
      if (
        !c ||
        c.client_id !== p.get('client_id') ||
        c.redirect_uri !== p.get('redirect_uri') ||
        computed !== c.challenge
      )
        return json(res, 400, { error: 'invalid_grant' })
      const scope = c.scope.split(' ').filter((s) => s !== 'offline_access')
      const refresh = !d.offlineAccessOnly || c.scope.split(' ').includes('offline_access')
      // Audience from the resource indicator, the way the PRM spells it.
      const aud = c.resource && d.trailingSlash ? resource : c.resource || resource
      return json(res, 200, await issueTokens(c.client_id, scope.join(' '), aud, refresh))
    }
    if (grant === DEVICE_GRANT) {
      const dc = devices.get(p.get('device_code') ?? '')
      if (!dc || dc.client_id !== p.get('client_id')) return json(res, 400, { error: 'invalid_grant' })
      if (!dc.approved) return json(res, 400, { error: 'authorization_pending' })
      devices.delete(p.get('device_code') ?? '')
      return json(res, 200, await issueTokens(dc.client_id, dc.scope, dc.resource || url, true))
    }
    if (grant === 'refresh_token') {
      const rt = refreshTokens.get(p.get('refresh_token') ?? '')
      refreshTokens.delete(p.get('refresh_token') ?? '')
      if (!rt || rt.client_id !== p.get('client_id')) return json(res, 400, { error: 'invalid_grant' })
      return json(res, 200, await issueTokens(rt.client_id, rt.scope, rt.resource, true))
    }
    return json(res, 400, { error: 'unsupported_grant_type' })
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', origin)
    log.push(`${req.method} ${u.pathname}`)
    const route = async () => {
      if (u.pathname === '/mcp') return mcp(req, res)
      if (req.method === 'GET' && u.pathname === prmPath) {
        return json(
          res,
          200,
          { resource, authorization_servers: [d.listIssuer ?? listedIssuer], scopes_supported: ['mcp:read'] },
          cors,
        )
      }
      if (req.method === 'GET' && metadataPaths.includes(u.pathname)) return json(res, 200, metadata, cors)
      if (req.method === 'POST' && u.pathname === '/register' && !d.noRegistrationEndpoint)
        return register(req, res)
      const m = /^\/register\/([\w-]+)$/.exec(u.pathname)
      if (req.method === 'DELETE' && m) {
        const c = clients.get(m[1]!)
        if (!c || req.headers.authorization !== `Bearer ${c.rat}`)
          return json(res, 401, { error: 'invalid_token' })
        clients.delete(m[1]!)
        res.writeHead(204)
        return void res.end()
      }
      if (req.method === 'GET' && u.pathname === '/authorize') return authorize(u, res)
      if (req.method === 'POST' && u.pathname === '/device') {
        const p = new URLSearchParams(await readBody(req))
        if (!clients.has(p.get('client_id') ?? '')) return json(res, 401, { error: 'invalid_client' })
        const device_code = randomBytes(16).toString('base64url')
        const user_code = randomBytes(4).toString('hex').toUpperCase()
        devices.set(device_code, {
          client_id: p.get('client_id')!,
          user_code,
          scope: (p.get('scope') ?? 'mcp:read').replace(/\s*offline_access/, ''),
          resource: p.get('resource') ?? '',
          approved: false,
        })
        return json(res, 200, {
          device_code,
          user_code,
          verification_uri: `${origin}/device/verify`,
          verification_uri_complete: `${origin}/device/verify?user_code=${user_code}`,
          expires_in: 120,
          interval: 1,
        })
      }
      if (req.method === 'GET' && u.pathname === '/device/verify') {
        // The person's approval, at once: the gallery has no login page.
        const entry = [...devices.values()].find((x) => x.user_code === u.searchParams.get('user_code'))
        if (!entry) return json(res, 404, { error: 'unknown user_code' })
        entry.approved = true
        return json(res, 200, { approved: true })
      }
      if (req.method === 'POST' && u.pathname === '/token') return token(req, res)
      return json(res, 404, { error: 'not_found' })
    }
    route().catch((e: unknown) => {
      if (!res.headersSent) json(res, 500, { error: 'server_error', error_description: String(e) })
    })
  })

  return {
    url,
    origin,
    issuer,
    log,
    clients: clients as GalleryServer['clients'],
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
