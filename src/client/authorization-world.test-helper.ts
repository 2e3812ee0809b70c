/**
 * A fake MCP server, its PRM and an AS for the authorization-parameter tests (issue 11): the AS may hold clients
 * to their registered scope and refuse `resource` the way Entra or an AS that does not serve it would.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
import { parseScope } from '../shared/scope.ts'
import type { SessionOptions } from './session-options.ts'
import { MemoryStore } from './stores/store.ts'
import { fakeFetch } from './testing.ts'

export const MCP = 'https://mcp.example/mcp'
export const AS = 'https://as.example'
export const REDIRECT = 'http://127.0.0.1:1/cb'

export interface WorldOptions {
  /** The AS holds a client to its registered scope (oidc-provider's default). */
  ceiling?: boolean
  /** The token endpoint refuses `resource` the way Entra does. */
  refuseResource?: boolean
  /** The token endpoint answers a plain `invalid_target`: it issues no tokens for this resource. */
  unknownTarget?: boolean
  /** Extra AS metadata. */
  metadata?: Record<string, unknown>
  /** A 200 answer of the token endpoint that is not a token. */
  tokenAnswer?: Response
}

/** A fake MCP server (tools need `read`, `admin` on step-up), its PRM, and an AS; the authorizer plays /authorize. */
export function world(o: WorldOptions = {}) {
  const registered = new Map<string, string | undefined>()
  const valid = new Map<string, string>()
  const authorizeUrls: URL[] = []
  let n = 0
  let need = 'read'
  const { fetch, calls } = fakeFetch({
    'https://mcp.example/.well-known/oauth-protected-resource/mcp': {
      json: { resource: MCP, authorization_servers: [AS], scopes_supported: ['read', 'admin'] },
    },
    [`${AS}/.well-known/oauth-authorization-server`]: {
      json: {
        issuer: AS,
        authorization_endpoint: `${AS}/authorize`,
        token_endpoint: `${AS}/token`,
        registration_endpoint: `${AS}/register`,
        code_challenge_methods_supported: ['S256'],
        scopes_supported: ['openid', 'offline_access', 'read', 'admin'],
        ...o.metadata,
      },
    },
    [`POST ${AS}/register`]: async (req) => {
      const body = (await req.json()) as { scope?: string; redirect_uris: string[] }
      const id = `c${registered.size + 1}`
      registered.set(id, body.scope)
      return { status: 201, json: { client_id: id, redirect_uris: body.redirect_uris, scope: body.scope } }
    },
    [`POST ${AS}/token`]: async (req) => {
      if (o.tokenAnswer) return o.tokenAnswer
      const body = new URLSearchParams(await req.text())
      if (o.unknownTarget && body.has('resource'))
        return { status: 400, json: { error: 'invalid_target', error_description: 'unknown resource' } }
      if (o.refuseResource && body.has('resource')) {
        return {
          status: 400,
          json: {
            error: 'invalid_request',
            error_description:
              "AADSTS9010010: The resource parameter provided in the request doesn't match with the requested scopes.",
          },
        }
      }
      const scope =
        body.get('grant_type') === 'refresh_token' ? 'read' : body.get('code')!.replace(/^scope:/, '')
      const at = `at-${++n}`
      valid.set(at, scope)
      return {
        json: { access_token: at, token_type: 'Bearer', expires_in: 3600, refresh_token: `rt-${n}`, scope },
      }
    },
    [`POST ${MCP}`]: (req) => {
      const scope = valid.get(req.headers.get('authorization')?.replace(/^Bearer /, '') ?? '')
      if (scope === undefined) return { status: 401, headers: { 'www-authenticate': 'Bearer scope="read"' } }
      if (!parseScope(scope).includes(need))
        return {
          status: 403,
          headers: { 'www-authenticate': `Bearer error="insufficient_scope", scope="${need}"` },
        }
      return { json: { ok: true } }
    },
  })
  const authorizer = {
    redirectUri: REDIRECT,
    async authorize(url: URL, ctx: { state: string }) {
      authorizeUrls.push(url)
      const cb = new URL(REDIRECT)
      cb.searchParams.set('state', ctx.state)
      const asked = url.searchParams.get('scope') ?? ''
      const ceiling = registered.get(url.searchParams.get('client_id') ?? '')
      if (o.ceiling && !parseScope(asked).every((s) => parseScope(ceiling).includes(s))) {
        cb.searchParams.set('error', 'invalid_scope')
        cb.searchParams.set('error_description', 'requested scope is not allowed')
        return cb
      }
      cb.searchParams.set('code', `scope:${asked}`)
      return cb
    },
  }
  const options = (extra: Partial<SessionOptions> = {}): SessionOptions => ({
    serverUrl: MCP,
    fetch,
    authorizer,
    store: new MemoryStore(),
    ...extra,
  })
  return {
    calls,
    registered,
    authorizeUrls,
    options,
    needs(scope: string) {
      need = scope
    },
    count: (pred: (url: string, method: string) => boolean) =>
      calls.filter((c) => pred(c.url, c.method)).length,
  }
}

export const call = (f: (u: string, i: RequestInit) => Promise<Response>) =>
  f(MCP, { method: 'POST', body: '{}' }).then((r) => r.status)
