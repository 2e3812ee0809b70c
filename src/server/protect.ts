/**
 * The web-standard core of the resource-server kit: `Request` in, an authorization verdict or a refusal
 * `Response` out; `handle` wraps any fetch-shaped MCP handler.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#access-token-usage
 */
import { isMcpOAuthError, type McpOAuthError } from '../shared/errors.ts'
import { canonicalResource } from '../shared/resource.ts'
import { parseAuthorization } from './authorization.ts'
import { attachedBodyText, BodyTooLargeError, parseJson, readBodyText } from './body.ts'
import { ExpiringCache, tokenKey } from './cache.ts'
import { challengeResponse, unavailableResponse } from './challenge.ts'
import { exposeChallenge, preflight, withHeader } from './cors.ts'
import { type MetadataOptions, metadataRoute, protectedResourceMetadataUrl } from './metadata.ts'
import {
  missingScopes,
  type Operation,
  readOperations,
  type ScopePolicy,
  type ScopePolicyOptions,
  scopePolicy,
} from './policy.ts'
import { type DpopChecker, type DpopOptions, dpopChecker, normalizeHtu } from './verify/dpop.ts'
import {
  acceptedAudiences,
  InvalidTokenError,
  type TokenVerifier,
  type VerifiedToken,
  VerifierUnavailableError,
} from './verify/verifier.ts'

/**
 * The SDK's `AuthInfo` shape (`@modelcontextprotocol/server`), handed to MCP handlers as `ctx.http.authInfo`.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization#token-handling
 */
export interface AuthInfo {
  token: string
  clientId: string
  scopes: string[]
  expiresAt?: number
  resource?: URL
  resourceMetadataUrl?: string
  extra?: Record<string, unknown>
}

/** A request that may proceed. @see https://www.rfc-editor.org/rfc/rfc6750#section-2.1 */
export interface Authorized {
  /** For the MCP SDK: pass as `authInfo`. */
  authInfo: AuthInfo
  /** What the verifier established. */
  token: VerifiedToken
  /** The JSON-RPC operations the scope decision was made for (empty when the policy did not need them). */
  operations: Operation[]
  /** The parsed JSON body, when the kit read it (pass as the SDK's `parsedBody`). */
  parsedBody?: unknown
  /** The raw body text, when the kit read it. */
  bodyText?: string
}

/** Options of {@link createResourceServer}. @see https://www.rfc-editor.org/rfc/rfc9728 */
export interface ResourceServerOptions extends Omit<MetadataOptions, 'dpopAlgorithms' | 'dpopRequired'> {
  /** Checks tokens: {@link jwtVerifier}, {@link introspectionVerifier} or your own. */
  verifier: TokenVerifier
  /** Scopes per operation; a table or a ready {@link ScopePolicy}. Default: any valid token. */
  policy?: ScopePolicy | ScopePolicyOptions
  /** DPoP settings; `false` refuses DPoP. DPoP-bound tokens are always held to their proof. */
  dpop?: DpopOptions | false
  /** Cache of verified tokens keyed by a hash of the token, expiring with it; `false` disables. */
  cache?: { maxEntries?: number; maxAgeSeconds?: number } | false
  /** Longest token accepted, bytes (default 8192). */
  maxTokenLength?: number
  /** Largest request body the kit reads for the policy, bytes (default 4 MiB). */
  maxBodyBytes?: number
  /** Clock skew tolerated on a verified token's expiry, seconds (default 10, as the JWT verifier's). */
  clockToleranceSeconds?: number
  /** Answer CORS preflights on the MCP endpoint and allow any origin to read responses (default true). */
  cors?: boolean
  /** Told about every refusal (never receives the token). */
  onRefusal?: (refusal: { status: number; code: string; message: string }) => void
}

/** Serves an MCP handler with the request's verified `authInfo`. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export type NextHandler = (
  request: Request,
  context: { authInfo: AuthInfo; parsedBody?: unknown; token: VerifiedToken },
) => Response | Promise<Response>

/** A protected MCP resource. @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization */
export interface ResourceServer {
  /** Canonical resource URI. */
  readonly resource: string
  /** URL of the Protected Resource Metadata document (the `resource_metadata` value). */
  readonly metadataUrl: string
  /** The metadata `Response` when `request` is for a metadata path, else `undefined`. */
  metadata(request: Request): Response | undefined
  /** Authorize one request; never consumes `request`'s body (reads a clone when the policy needs it). */
  protect(request: Request, options?: { parsedBody?: unknown }): Promise<Authorized | Response>
  /**
   * Metadata routes, preflights, authorization, then `next` with `authInfo`; adds the CORS expose header.
   * Reads the body itself when the policy needs it and forwards a fresh request; `preserveBody` reads a clone
   * instead and forwards `request` itself (for frameworks that keep their own handle on it, like Hono).
   */
  handle(request: Request, next: NextHandler, options?: { preserveBody?: boolean }): Promise<Response>
}

/**
 * Create a resource server for one MCP endpoint.
 * @see https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
 */
export function createResourceServer(options: ResourceServerOptions): ResourceServer {
  const resource = canonicalResource(options.resource)
  const metadataUrl = protectedResourceMetadataUrl(resource)
  const publicOrigin = new URL(resource).origin
  const dpop: DpopChecker | undefined = options.dpop === false ? undefined : dpopChecker(options.dpop || {})
  const advertiseDpop = options.dpop !== undefined && options.dpop !== false
  const route = metadataRoute({
    ...options,
    resource,
    ...(advertiseDpop && dpop ? { dpopAlgorithms: dpop.algorithms, dpopRequired: dpop.required } : {}),
  })
  const policy: ScopePolicy =
    options.policy && 'requiredScopes' in options.policy
      ? (options.policy as ScopePolicy)
      : scopePolicy((options.policy as ScopePolicyOptions | undefined) ?? {})
  const maxTokenLength = options.maxTokenLength ?? 8192
  const maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024
  const audiences = [...acceptedAudiences(resource), ...(options.verifier.additionalAudiences ?? [])]
  const cacheOptions = options.cache === false ? undefined : (options.cache ?? {})
  const cache = cacheOptions ? new ExpiringCache<VerifiedToken>(cacheOptions.maxEntries ?? 10_000) : undefined
  const cacheMaxAgeMs = (cacheOptions?.maxAgeSeconds ?? 300) * 1000
  const pending = new Map<string, Promise<VerifiedToken>>()
  // Cached tokens come back as the same object, so their expanded scope set is computed once.
  const grantedScopes = new WeakMap<VerifiedToken, Set<string>>()
  const dpopAlgorithms = advertiseDpop ? dpop?.algorithms : undefined
  const cors = options.cors ?? true
  const skewMs = (options.clockToleranceSeconds ?? 10) * 1000

  const refuse = (status: number, code: string, message: string, build: () => Response): Response => {
    options.onRefusal?.({ status, code, message })
    return build()
  }

  const challenge = (scope: readonly string[], scheme: 'Bearer' | 'DPoP', e?: McpOAuthError): Response => {
    if (!e) {
      return refuse(401, 'missing_token', 'no access token', () =>
        challengeResponse({
          resourceMetadata: metadataUrl,
          scope,
          ...(dpopAlgorithms ? { dpopAlgorithms } : {}),
        }),
      )
    }
    const error =
      e.code === 'invalid_dpop_proof' || e.code === 'use_dpop_nonce' ? e.code : ('invalid_token' as const)
    const dpopNonce = scheme === 'DPoP' ? dpop?.nonce() : undefined
    return refuse(401, e.code, e.message, () =>
      challengeResponse({
        resourceMetadata: metadataUrl,
        scope,
        error,
        errorDescription: e.message,
        scheme,
        ...(dpopNonce ? { dpopNonce } : {}),
        ...(dpopAlgorithms || scheme === 'DPoP' ? { dpopAlgorithms: dpop?.algorithms ?? [] } : {}),
      }),
    )
  }

  const verifyCached = async (token: string): Promise<VerifiedToken> => {
    if (!cache) return options.verifier.verify(token, { resource })
    const key = tokenKey(token)
    const now = Date.now()
    const hit = cache.get(key, now)
    if (hit) return hit
    let p = pending.get(key)
    if (!p) {
      p = options.verifier.verify(token, { resource }).finally(() => pending.delete(key))
      pending.set(key, p)
      const verified = await p
      const until = Math.min(
        verified.expiresAt !== undefined ? verified.expiresAt * 1000 : now,
        verified.cacheUntil ?? Number.POSITIVE_INFINITY,
        now + cacheMaxAgeMs,
      )
      cache.set(key, verified, until, now)
      return verified
    }
    return p
  }

  const protect = async (
    request: Request,
    opts: { parsedBody?: unknown; consumeBody?: boolean } = {},
  ): Promise<Authorized | Response> => {
    // Operations first, so a 401 can already name the scopes this operation needs.
    let operations: Operation[] = []
    let parsedBody = opts.parsedBody
    let bodyText: string | undefined
    if (policy.needsOperation && request.method === 'POST') {
      const known = parsedBody === undefined ? attachedBodyText(request) : undefined
      if (known !== undefined) {
        parsedBody = parseJson(known)
      } else if (parsedBody === undefined) {
        try {
          bodyText = await readBodyText(opts.consumeBody ? request : request.clone(), maxBodyBytes)
        } catch (e) {
          if (e instanceof BodyTooLargeError)
            return refuse(413, 'body_too_large', e.message, () =>
              Response.json({ error: 'payload_too_large', error_description: e.message }, { status: 413 }),
            )
          throw e
        }
        parsedBody = parseJson(bodyText)
      }
      // Fail closed: a body the kit cannot read as JSON gets no scope decision (a handler might read it differently).
      const text = known ?? bodyText
      if (parsedBody === undefined && text !== undefined && text.trim() !== '') {
        return refuse(400, 'parse_error', 'the request body is not JSON', () =>
          Response.json(
            { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } },
            { status: 400 },
          ),
        )
      }
      const read = readOperations(request.headers, parsedBody)
      if ('mismatch' in read) {
        const { message, id } = read.mismatch
        return refuse(400, 'header_mismatch', message, () =>
          Response.json({ jsonrpc: '2.0', id, error: { code: -32020, message } }, { status: 400 }),
        )
      }
      operations = read.operations
    }
    const required = policy.requiredScopes(operations)
    const challengeScope = required.length ? required : (options.scopesSupported ?? [])

    const header = request.headers.get('authorization')
    const parsed = parseAuthorization(header, maxTokenLength)
    if (parsed === undefined) return challenge(challengeScope, 'Bearer')
    const { scheme } = parsed
    if ('error' in parsed) return challenge(challengeScope, scheme, new InvalidTokenError(parsed.error))
    const token = parsed.token
    if (scheme === 'DPoP' && !dpop)
      return challenge(challengeScope, scheme, new InvalidTokenError('DPoP is not accepted by this server'))

    let verified: VerifiedToken
    try {
      verified = await verifyCached(token)
      if (!verified.audience.some((a) => audiences.includes(a)))
        throw new InvalidTokenError('token was not issued for this resource (audience mismatch)')
      if (verified.expiresAt !== undefined && verified.expiresAt * 1000 + skewMs <= Date.now())
        throw new InvalidTokenError('token has expired', { code: 'token_expired' })
      if (verified.jkt !== undefined && scheme !== 'DPoP')
        throw new InvalidTokenError('token is DPoP-bound and must be sent with the DPoP scheme and a proof', {
          code: 'dpop_bound_token_as_bearer',
        })
      if (scheme === 'DPoP') {
        if (verified.jkt === undefined)
          throw new InvalidTokenError('token is not DPoP-bound but was sent with the DPoP scheme')
        const here = normalizeHtu(request.url)
        const urls = [here, `${publicOrigin}${new URL(here).pathname}`]
        await dpop!.check(request.headers.get('dpop'), {
          method: request.method,
          urls,
          token,
          jkt: verified.jkt,
        })
      } else if (dpop?.required) {
        throw new InvalidTokenError('this server accepts only DPoP-bound tokens')
      }
    } catch (e) {
      if (e instanceof VerifierUnavailableError)
        return refuse(503, e.code, e.message, () => unavailableResponse(withoutHosts(e.message)))
      if (isMcpOAuthError(e)) return challenge(challengeScope, scheme, e)
      const message = 'token verification failed unexpectedly'
      return refuse(503, 'verifier_error', message, () => unavailableResponse(message))
    }

    let granted = grantedScopes.get(verified)
    if (!granted) {
      granted = policy.expandGranted(verified.scopes)
      grantedScopes.set(verified, granted)
    }
    if (missingScopes(granted, required).length > 0) {
      const message = `this operation needs scope "${required.join(' ')}"`
      return refuse(403, 'insufficient_scope', message, () =>
        challengeResponse({
          resourceMetadata: metadataUrl,
          scope: required,
          error: 'insufficient_scope',
          errorDescription: message,
          scheme,
          ...(dpopAlgorithms ? { dpopAlgorithms } : {}),
        }),
      )
    }

    const authInfo: AuthInfo = {
      token,
      clientId: verified.clientId,
      scopes: verified.scopes,
      resource: new URL(resource),
      resourceMetadataUrl: metadataUrl,
      extra: {
        issuer: verified.issuer,
        subject: verified.subject,
        audience: verified.audience,
        ...(verified.jkt ? { jkt: verified.jkt } : {}),
      },
    }
    if (verified.expiresAt !== undefined) authInfo.expiresAt = verified.expiresAt
    const out: Authorized = { authInfo, token: verified, operations }
    if (parsedBody !== undefined) out.parsedBody = parsedBody
    if (bodyText !== undefined) out.bodyText = bodyText
    return out
  }

  return {
    resource,
    metadataUrl,
    metadata: route,
    protect: (request, opts) => protect(request, opts ?? {}),
    async handle(request, next, handleOptions) {
      // MCP traffic is POST; only other methods can be for the metadata document (a POST there is just refused).
      if (request.method !== 'POST') {
        const meta = route(request)
        if (meta) return meta
      }
      // Preflights carry no credentials by design, so they are answered before authorization.
      if (request.method === 'OPTIONS' && cors) return preflight()
      const verdict = await protect(request, { consumeBody: !handleOptions?.preserveBody })
      if (verdict instanceof Response) return verdict
      const forward =
        verdict.bodyText !== undefined && !handleOptions?.preserveBody
          ? new Request(request.url, {
              method: request.method,
              headers: request.headers,
              body: verdict.bodyText,
              signal: request.signal,
            })
          : request
      const context: Parameters<NextHandler>[1] = { authInfo: verdict.authInfo, token: verdict.token }
      if (verdict.parsedBody !== undefined) context.parsedBody = verdict.parsedBody
      const response = exposeChallenge(await next(forward, context), cors)
      // Hand DPoP clients a fresh nonce with each answer, so they rarely meet a use_dpop_nonce refusal.
      const nonce = verdict.token.jkt !== undefined ? dpop?.nonce() : undefined
      return nonce ? withHeader(response, 'dpop-nonce', nonce) : response
    },
  }
}

// URLs, IP addresses (with a port or not), dotted host names, and single-label hosts with a port (`keycloak:8080`).
const HOST_LIKE =
  /\b[a-z][a-z0-9+.-]*:\/\/\S+|\[[0-9a-f:.]+\](?::\d+)?|\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z][a-z0-9-]+(?::\d+)?\b|\b[a-z0-9][a-z0-9_-]*:\d{1,5}\b/gi
// Node's resolver and socket errors name the host right after the code, dotted or not (`ENOTFOUND authsvc`).
const AFTER_ERROR_CODE =
  /\b(ENOTFOUND|EAI_AGAIN|EAI_NONAME|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT)\s+[^\s,;)]+/g

/**
 * A 503 body goes to anyone who sends a token: whatever a verifier (ours or a custom one) put in its message,
 * no internal host, address or URL leaves in it; the full message still reaches `onRefusal`.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4
 */
export function withoutHosts(message: string): string {
  return message
    .replace(AFTER_ERROR_CODE, '$1 the authorization server')
    .replace(HOST_LIKE, 'the authorization server')
}
