/**
 * The zoo's authorization server: a plain oidc-provider bent, one quirk at a time, into the shape of a product
 * (issuer path, which metadata documents exist, DCR policy, when refresh tokens are issued, what happens to the
 * `resource` parameter, token response encoding, token lifetimes). Its log is what the tests assert on: code
 * grants (one per sign-in), every refresh token presented, revocations. Keys are generated at run time.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { exportJWK, generateKeyPair } from 'jose'
import Provider, { errors } from 'oidc-provider'

/** What the token and revocation endpoints saw (refresh tokens as hashes, never values). */
export interface AuthorizationServerLog {
  /** Authorization-code grants answered with tokens: one per completed sign-in. */
  codeGrants: number
  /** Each refresh token presented at the token endpoint (a hash), in order; a repeat is a second redemption. */
  refreshTokens: string[]
  /** Refresh grants that succeeded. */
  refreshGrants: number
  /** Refresh tokens issued (hashes). */
  issuedRefreshTokens: string[]
  /** Revocation requests answered 200. */
  revocations: number
  /** Errors the token endpoint answered (`invalid_grant`, `invalid_target`, …). */
  tokenErrors: string[]
  /** Authorization requests seen (GET/POST to the authorization endpoint). */
  authorizationRequests: { scope: string; prompt: string; resource: boolean; extra: Record<string, string> }[]
}

/** How far the server is from oidc-provider's defaults. */
export interface ZooProviderOptions {
  /** The origin the server is mounted on (`http://127.0.0.1:port`). */
  origin: string
  /** Issuer path, e.g. `/realms/zoo`; endpoints live under it. */
  issuerPath?: string
  /** The MCP server's resource identifier. */
  resource: string
  /** The two scopes of the MCP server: the one for sign-in, and the step-up one. */
  scopes: readonly [string, string]
  /** A DCR client's registered `scope`: a `ceiling` for later requests (oidc-provider's default), or `ignored` (Auth0). */
  registeredScope?: 'ceiling' | 'ignored'
  /** `open` DCR; `forbidden` advertises it and answers 403 (Keycloak trusted-hosts policy); `off`. */
  registration: 'open' | 'forbidden' | 'off'
  /** Which discovery documents exist: RFC 8414 (path-inserted), OpenID (path-appended), none. */
  metadata: { oauth: boolean; openid: boolean }
  /** When a refresh token is issued: `offline_access` granted with consent (OIDC default), Google's `access_type=offline` with `prompt=consent`, or always. */
  refreshTokens: 'offline_access' | 'access_type' | 'always'
  /** `strict`: RFC 8707 indicators checked; `ignored`: the parameter is dropped; `refused`: sending it is an error. */
  resourceParameter: 'strict' | 'ignored' | 'refused'
  /** Token audience when it is not the resource (e.g. Entra's `api://<id>`). */
  audience?: string
  /** Error description for a refused `resource`. */
  resourceRefusal?: string
  /** Refresh tokens rotate on each use (a consumed one presented again revokes the grant). Default: oidc-provider's (public clients rotate). */
  rotate?: boolean
  /** Answer the token endpoint form-encoded unless the request accepts JSON (GitHub). */
  formTokenResponse?: boolean
  /** Authorization request parameters the provider accepts besides the standard ones. */
  extraParams?: string[]
  /** Scopes left out of the discovery document's `scopes_supported` (Google does not list `offline_access`). */
  unlistedScopes?: string[]
  /** RFC 7009 revocation endpoint (default true; GitHub has none). */
  revocation?: boolean
  /** Pre-registered clients. */
  clients?: Record<string, unknown>[]
  accessTokenTtl: number
}

/** A running zoo authorization server (mounted by the caller's HTTP server). */
export interface ZooProvider {
  issuer: string
  provider: Provider
  /** Public keys, for the resource server. */
  jwks: { keys: Record<string, unknown>[] }
  log: AuthorizationServerLog
  /** Node handler for every path under the issuer path and the well-known documents. */
  handle(req: IncomingMessage, res: ServerResponse): void
  /** Whether a request path belongs to this server. */
  owns(path: string): boolean
}

/** A fresh, empty log. */
export function emptyLog(): AuthorizationServerLog {
  return {
    codeGrants: 0,
    refreshTokens: [],
    refreshGrants: 0,
    issuedRefreshTokens: [],
    revocations: 0,
    tokenErrors: [],
    authorizationRequests: [],
  }
}

type Ctx = {
  [key: string]: unknown
  path: string
  method: string
  status: number
  body: unknown
  type?: string
  headers?: Record<string, string | undefined>
  oidc?: { params?: Record<string, unknown>; entities?: Record<string, unknown> }
}

/** Record what the provider's authorization, token and revocation endpoints answer (the server's own log). */
export function attachLog(
  provider: Provider,
  log: AuthorizationServerLog,
  extra: {
    extraParams?: string[] | undefined
    formTokenResponse?: boolean | undefined
    offline?: Set<string>
  },
): void {
  provider.use(async (ctx: Ctx, next: () => Promise<void>) => {
    await next()
    const params = ctx.oidc?.params ?? {}
    if (ctx.path.startsWith('/auth')) {
      const seen: Record<string, string> = {}
      for (const p of extra.extraParams ?? [])
        if (typeof params[p] === 'string') seen[p] = params[p] as string
      if (ctx.path === '/auth')
        log.authorizationRequests.push({
          scope: String(params['scope'] ?? ''),
          prompt: String(params['prompt'] ?? ''),
          resource: params['resource'] !== undefined,
          extra: seen,
        })
      // Google: offline access is what the authorization request asked for with access_type, granted only on consent.
      const grantId = (ctx.oidc?.entities?.['Grant'] as { jti?: string } | undefined)?.jti
      if (
        grantId &&
        params['access_type'] === 'offline' &&
        /\bconsent\b/.test(String(params['prompt'] ?? ''))
      )
        extra.offline?.add(grantId)
    }
    if (ctx.path === '/token' && ctx.method === 'POST') {
      const body = ctx.body as { error?: string; refresh_token?: string } | undefined
      if (body?.error) log.tokenErrors.push(body.error)
      if (params['grant_type'] === 'authorization_code' && ctx.status === 200) log.codeGrants++
      if (params['grant_type'] === 'refresh_token') {
        log.refreshTokens.push(hash(String(params['refresh_token'])))
        if (ctx.status === 200) log.refreshGrants++
      }
      if (body?.refresh_token) log.issuedRefreshTokens.push(hash(body.refresh_token))
      if (extra.formTokenResponse && !/application\/json/.test(ctx.headers?.['accept'] ?? '') && body) {
        ctx.type = 'application/x-www-form-urlencoded'
        ctx.body = new URLSearchParams(
          Object.entries(body).map(([k, v]): [string, string] => [k, String(v)]),
        ).toString()
      }
    }
    if (ctx.path === '/token/revocation' && ctx.status === 200) log.revocations++
  })
}

const hash = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 16)

/** Build the provider for `options`. */
export async function createZooProvider(options: ZooProviderOptions): Promise<ZooProvider> {
  const mount = options.issuerPath ?? ''
  const issuer = `${options.origin}${mount}`
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  // RS256 too: oidc-provider signs ID tokens with it by default.
  const rsa = await generateKeyPair('RS256', { extractable: true })
  const keys = [
    { ...(await exportJWK(rsa.privateKey)), kid: 'zoo-rs', alg: 'RS256', use: 'sig' },
    { ...(await exportJWK(privateKey)), kid: 'zoo', alg: 'ES256', use: 'sig' },
  ]
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'zoo', alg: 'ES256', use: 'sig' }] }
  const log = emptyLog()
  const audience = options.audience ?? options.resource
  const resourceScopes = options.scopes.join(' ')
  const offline = new Set<string>()
  const provider = new Provider(issuer, {
    jwks: { keys },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    clients: options.clients ?? [],
    scopes: ['openid', 'offline_access', ...(options.registeredScope === 'ceiling' ? options.scopes : [])],
    extraParams: options.extraParams ?? [],
    findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id }) }),
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: options.registration !== 'off' },
      revocation: { enabled: options.revocation ?? true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => (options.resourceParameter === 'strict' ? undefined : audience),
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, indicator: string) => {
          if (options.resourceParameter !== 'ignored' && indicator !== audience)
            throw new errors.InvalidTarget(options.resourceRefusal ?? 'unknown resource')
          return {
            scope: resourceScopes,
            audience,
            accessTokenTTL: options.accessTokenTtl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          }
        },
      },
    },
    pkce: { required: () => true },
    issueRefreshToken: async (
      _ctx: unknown,
      client: { grantTypeAllowed(g: string): boolean },
      code: { scopes: Set<string>; grantId?: string },
    ) => {
      if (!client.grantTypeAllowed('refresh_token')) return false
      if (options.refreshTokens === 'always') return true
      if (options.refreshTokens === 'access_type') return Boolean(code.grantId && offline.has(code.grantId))
      return code.scopes.has('offline_access')
    },
    ...(options.rotate === undefined ? {} : { rotateRefreshToken: () => options.rotate === true }),
    ttl: {
      AccessToken: options.accessTokenTtl,
      AuthorizationCode: 60,
      Interaction: 300,
      Session: 3600,
      Grant: 3600,
      RefreshToken: 3600,
    },
  } as never)
  attachLog(provider, log, {
    extraParams: options.extraParams,
    formTokenResponse: options.formTokenResponse,
    offline,
  })
  if (options.unlistedScopes) {
    const unlisted = new Set(options.unlistedScopes)
    provider.use(async (ctx: Ctx, next: () => Promise<void>) => {
      await next()
      const body = ctx.body as { scopes_supported?: string[] } | undefined
      if (ctx.path === '/.well-known/openid-configuration' && body?.scopes_supported)
        body.scopes_supported = body.scopes_supported.filter((s) => !unlisted.has(s))
    })
  }
  const callback = provider.callback()
  const wellKnown = new Map<string, string>()
  if (options.metadata.oauth)
    wellKnown.set(`/.well-known/oauth-authorization-server${mount}`, '/.well-known/openid-configuration')
  if (options.metadata.openid)
    wellKnown.set(`${mount}/.well-known/openid-configuration`, '/.well-known/openid-configuration')
  const owns = (path: string) =>
    wellKnown.has(path) ||
    (mount !== '' && path.startsWith(`${mount}/`)) ||
    (mount === '' && !path.startsWith('/.well-known/'))
  return {
    issuer,
    provider,
    jwks,
    log,
    owns,
    handle(req, res) {
      const url = new URL(req.url ?? '/', options.origin)
      const known = wellKnown.get(url.pathname)
      if (!known && url.pathname.includes('/.well-known/')) {
        res.writeHead(404).end()
        return
      }
      const path = known ?? (url.pathname.slice(mount.length) || '/')
      if (options.registeredScope === 'ignored' && path === '/reg' && req.method === 'POST') {
        // The registration's `scope` is dropped before the provider sees it (a pre-parsed body is what it reads).
        const chunks: Buffer[] = []
        req.on('data', (c: Buffer) => chunks.push(c))
        req.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>
          delete body['scope']
          ;(req as IncomingMessage & { body?: unknown }).body = body
          ;(req as IncomingMessage & { originalUrl?: string }).originalUrl = `${mount}${path}${url.search}`
          req.url = `${path}${url.search}`
          callback(req, res)
        })
        return
      }
      if (options.registration === 'forbidden' && path === '/reg' && req.method === 'POST') {
        res.writeHead(403, { 'content-type': 'application/json' })
        res.end(
          JSON.stringify({
            error: 'insufficient_scope',
            error_description:
              "Policy 'Trusted Hosts' rejected request to client-registration service. Details: Host not trusted.",
          }),
        )
        return
      }
      ;(req as IncomingMessage & { originalUrl?: string }).originalUrl = `${mount}${path}${url.search}`
      req.url = `${path}${url.search}`
      callback(req, res)
    },
  }
}
