/**
 * The Node request handler in front of oidc-provider: RFC 8414 path-inserted metadata, CORS on
 * registration, rate limits, registration defaults, the default scope at /authorize, security headers
 * and the interaction pages.
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3.1
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type Provider from 'oidc-provider'
import { McpOAuthError } from '../shared/errors.ts'
import type { AuditSink } from './audit.ts'
import { errorPage, sendPage } from './html.ts'
import { handleInteraction, type InteractionContext } from './interactions.ts'
import type { RateLimiter } from './rate-limit.ts'
import { prepareRegistration, type RegistrationPolicy } from './registration.ts'
import type { UpstreamLogin } from './upstream.ts'

/** What the front handler needs. */
export interface FrontContext {
  provider: Provider
  /** The configured issuer: the only origin metadata and endpoint URLs are built from. */
  issuer: string
  mountPath: string
  interactions: InteractionContext
  registration: RegistrationPolicy
  /** Scope requested on behalf of a client that sent none. */
  defaultScope: (clientId: string, resource?: string) => Promise<string | undefined>
  /** Limiters by name; absent when limits are off. */
  limits: Partial<
    Record<'registration' | 'token' | 'par' | 'revocation' | 'introspection' | 'authorization', RateLimiter>
  >
  /** Whether to honour X-Forwarded-For for rate-limit keys. */
  trustProxy: boolean
  audit: AuditSink
  /** Optional upstream OpenID Connect login (its callback lands here). */
  upstream?: UpstreamLogin
}

const REGISTRATION_BODY_LIMIT = 64 * 1024
/** Slash-separated segments of letters, digits, `_` and `-`: no dot segment, escape or empty authority to resolve. */
const PLAIN_PATH = /^\/(?:[\w-]+\/)*[\w-]*$/
const FORM_BODY_LIMIT = 64 * 1024

const addresses = new WeakMap<IncomingMessage, string>()

/** The client address the front handler keyed its limits by (X-Forwarded-For only behind a trusted proxy). @see https://www.rfc-editor.org/rfc/rfc7239 */
export function requestAddress(req: IncomingMessage): string {
  return addresses.get(req) ?? req.socket.remoteAddress ?? 'unknown'
}

/** Client-endpoint routes limited per client_id and address, with the limiter each uses. */
const CLIENT_ROUTES = new Map<string, 'token' | 'par' | 'revocation' | 'introspection'>([
  ['/token', 'token'],
  ['/request', 'par'],
  ['/token/revocation', 'revocation'],
  ['/token/introspection', 'introspection'],
])

/** The client_id a token-style request names: HTTP Basic's user name, else the form's client_id; null: body too large. */
async function requestClientId(req: IncomingMessage): Promise<string | undefined | null> {
  const authorization = String(req.headers.authorization ?? '')
  if (/^basic /i.test(authorization)) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8')
    const user = decoded.slice(0, Math.max(0, decoded.indexOf(':')))
    try {
      return decodeURIComponent(user.replace(/\+/g, ' ')).slice(0, 200)
    } catch {
      return user.slice(0, 200)
    }
  }
  // A body parser in front (Express, a logging wrapper) already read the stream: oidc-provider takes req.body.
  const parsed = (req as IncomingMessage & { body?: unknown }).body
  if (parsed !== null && typeof parsed === 'object') {
    const id = (parsed as Record<string, unknown>)['client_id']
    return typeof id === 'string' ? id.slice(0, 200) : undefined
  }
  if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return
  const raw = await readBody(req, FORM_BODY_LIMIT)
  if (!raw) return null
  replayBody(req, raw)
  return new URLSearchParams(raw.toString('utf8')).get('client_id')?.slice(0, 200) ?? undefined
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.statusCode = status
  res.setHeader('content-type', 'application/json; charset=utf-8')
  res.setHeader('cache-control', 'no-store')
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v)
  res.end(JSON.stringify(body))
}

function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    // The rightmost entry is the one the trusted proxy appended; everything left of it is client-supplied.
    const forwarded = String(req.headers['x-forwarded-for'] ?? '')
      .split(',')
      .at(-1)
      ?.trim()
    if (forwarded) return forwarded
  }
  return req.socket.remoteAddress ?? 'unknown'
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    size += (chunk as Buffer).length
    if (size > limit) return undefined
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/**
 * Hands oidc-provider the rewritten registration body as if it were the request stream (it reads bodies with
 * `req.iterator()` while `req.readable`), with a matching content-length.
 */
function replayBody(req: IncomingMessage, body: Buffer): void {
  req.headers['content-length'] = String(body.length)
  Object.defineProperty(req, 'readable', { value: true, configurable: true })
  Object.defineProperty(req, 'iterator', {
    configurable: true,
    value: async function* () {
      yield body
    },
  })
}

function setCors(req: IncomingMessage, res: ServerResponse): void {
  const origin = req.headers.origin
  if (origin) {
    res.setHeader('access-control-allow-origin', origin)
    res.setHeader('vary', 'Origin')
  }
}

/**
 * Builds the Node handler; `callback` is oidc-provider's own.
 * @see https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#mounting-oidc-provider
 */
export function createFrontHandler(
  context: FrontContext,
): (req: IncomingMessage, res: ServerResponse) => void {
  const callback = context.provider.callback()
  const { mountPath } = context
  const insertedForms = mountPath
    ? new Map([
        [
          `/.well-known/oauth-authorization-server${mountPath}`,
          `${mountPath}/.well-known/oauth-authorization-server`,
        ],
        [`/.well-known/openid-configuration${mountPath}`, `${mountPath}/.well-known/openid-configuration`],
      ])
    : new Map<string, string>()

  const issuerUrl = new URL(context.issuer)
  const limited = async (
    limiter: RateLimiter | undefined,
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    clientId?: string,
  ) => {
    const address = requestAddress(req)
    // client_id is whatever the unauthenticated request says: takeClient also spends the address's ceiling.
    const wait =
      (clientId === undefined
        ? await limiter?.take(address)
        : await limiter?.takeClient(clientId, address)) ?? 0
    if (wait === 0) return false
    context.audit({ type: 'rate_limited', endpoint: bucket })
    sendJson(
      res,
      429,
      { error: 'invalid_request', error_description: `too many ${bucket} requests; retry in ${wait} s` },
      { 'retry-after': String(wait) },
    )
    return true
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('x-frame-options', 'DENY')
    res.setHeader('x-content-type-options', 'nosniff')
    res.setHeader('referrer-policy', 'no-referrer')
    addresses.set(req, clientAddress(req, context.trustProxy))
    // Every URL oidc-provider builds (metadata, redirects, DPoP htu checks) comes from the configured issuer,
    // never from Host or X-Forwarded-*: a forged Host cannot end up in a cached metadata document.
    req.headers.host = issuerUrl.host
    req.headers['x-forwarded-host'] = issuerUrl.host
    req.headers['x-forwarded-proto'] = issuerUrl.protocol.slice(0, -1)
    if (!context.trustProxy) delete req.headers['x-forwarded-for']
    const target = req.url ?? '/'
    // A plain path (the token endpoint, the pages' form posts) is already what URL parsing would give back.
    const url = PLAIN_PATH.test(target) ? undefined : new URL(target, 'http://localhost')
    let path = url?.pathname ?? target
    const search = url?.search ?? ''
    const inserted = insertedForms.get(path)
    if (inserted) path = inserted
    if (mountPath) {
      if (path !== mountPath && !path.startsWith(`${mountPath}/`)) {
        sendJson(res, 404, { error: 'not_found', error_description: `this server lives under ${mountPath}` })
        return
      }
      path = path.slice(mountPath.length) || '/'
    }
    // oidc-provider derives its mount path from originalUrl minus url, as when mounted by Express.
    ;(req as IncomingMessage & { originalUrl?: string }).originalUrl = `${mountPath}${path}${search}`
    req.url = `${path}${search}`
    // oidc-provider's router ignores case and a trailing slash: compare routes the same way, so that /REG or
    // /token/ cannot skip the registration checks and rate limits applied here.
    const route = path.length > 1 ? path.toLowerCase().replace(/\/+$/, '') : path

    if (route.startsWith('/interaction/')) {
      if (await limited(context.limits.authorization, req, res, 'authorization')) return
      if (await handleInteraction(context.interactions, req, res, path)) return
    }

    if (route === '/upstream/callback' && context.upstream && req.method === 'GET') {
      if (await limited(context.limits.authorization, req, res, 'authorization')) return
      const callbackUrl = new URL(
        `${path}${search}`,
        `${url?.protocol ?? 'http:'}//${req.headers.host ?? 'localhost'}`,
      )
      try {
        const { uid, ticket } = await context.upstream.finish(callbackUrl)
        res.statusCode = 303
        res.setHeader(
          'location',
          `${mountPath}/interaction/${uid}/upstream-complete?ticket=${encodeURIComponent(ticket)}`,
        )
        res.end()
      } catch (error) {
        const typed = error instanceof McpOAuthError ? error : undefined
        context.audit({
          type: 'login.failed',
          via: 'upstream',
          ...(typed ? { code: typed.code } : {}),
          reason: (error as Error).message.slice(0, 200),
        })
        const status = typed?.code === 'upstream_unavailable' ? 502 : 400
        sendPage(
          res,
          status,
          'Sign-in failed',
          errorPage(typed?.code ?? 'access_denied', (error as Error).message.slice(0, 300), typed?.hint),
        )
      }
      return
    }

    if (route === '/reg') {
      setCors(req, res)
      if (req.method === 'OPTIONS') {
        res.statusCode = 204
        res.setHeader('access-control-allow-methods', 'POST')
        res.setHeader('access-control-allow-headers', 'content-type, authorization')
        res.setHeader('access-control-max-age', '3600')
        res.end()
        return
      }
      if (req.method === 'POST') {
        if (await limited(context.limits.registration, req, res, 'registration')) return
        if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
          sendJson(res, 400, {
            error: 'invalid_client_metadata',
            error_description: 'send the metadata as application/json',
          })
          return
        }
        const raw = await readBody(req, REGISTRATION_BODY_LIMIT)
        if (!raw) {
          // The rest of the body is never read: answer, then close this connection.
          sendJson(
            res,
            400,
            {
              error: 'invalid_client_metadata',
              error_description: `registration requests are limited to ${REGISTRATION_BODY_LIMIT / 1024} KiB`,
            },
            { connection: 'close' },
          )
          return
        }
        let body: unknown
        try {
          body = JSON.parse(raw.toString('utf8'))
        } catch {
          sendJson(res, 400, {
            error: 'invalid_client_metadata',
            error_description: 'the body is not valid JSON',
          })
          return
        }
        const prepared = prepareRegistration(body, context.registration)
        if ('error' in prepared) {
          context.audit({ type: 'client.registration_refused', error: prepared.error.error })
          sendJson(res, 400, prepared.error)
          return
        }
        replayBody(req, Buffer.from(JSON.stringify(prepared.metadata)))
      }
    }

    const clientRoute = req.method === 'POST' ? CLIENT_ROUTES.get(route) : undefined
    if (clientRoute) {
      const limiter = context.limits[clientRoute]
      // Without a limit to key, the body is oidc-provider's to read (no copy, no replay); a length declared
      // beyond the bound is still refused here, and a chunked body of unknown length is read as before.
      const declared = req.headers['content-length']
      const clientId =
        limiter || declared === undefined
          ? await requestClientId(req)
          : Number(declared) > FORM_BODY_LIMIT
            ? null
            : undefined
      if (clientId === null) {
        // The rest of the body is never read: answer, then close this connection.
        sendJson(
          res,
          400,
          {
            error: 'invalid_request',
            error_description: `requests to this endpoint are limited to ${FORM_BODY_LIMIT / 1024} KiB`,
          },
          { connection: 'close' },
        )
        return
      }
      if (await limited(limiter, req, res, clientRoute, clientId ?? '')) return
    }
    if (route.startsWith('/.well-known/')) res.setHeader('cache-control', 'public, max-age=300')
    if (route === '/auth') {
      if (await limited(context.limits.authorization, req, res, 'authorization')) return
      if (
        url &&
        req.method === 'GET' &&
        !url.searchParams.get('scope') &&
        url.searchParams.get('client_id')
      ) {
        const scope = await context
          .defaultScope(url.searchParams.get('client_id')!, url.searchParams.get('resource') ?? undefined)
          .catch(() => undefined)
        if (scope) {
          url.searchParams.set('scope', scope)
          req.url = `${path}${url.search}`
          ;(req as IncomingMessage & { originalUrl?: string }).originalUrl = `${mountPath}${req.url}`
        }
      }
    }
    callback(req, res)
  }

  return (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent)
        sendJson(res, 500, { error: 'server_error', error_description: 'unexpected failure' })
      else res.destroy()
    })
  }
}
