/**
 * Opaque access tokens checked through OAuth 2.0 Token Introspection (RFC 7662), with a bounded cache whose
 * entries never outlive the token, a deadline and a response size cap.
 * @see https://www.rfc-editor.org/rfc/rfc7662
 */
import { InvalidArgumentError, SPEC } from '../../shared/errors.ts'
import { isLoopbackUrl } from '../../shared/resource.ts'
import { ExpiringCache, tokenKey } from '../cache.ts'
import { boundedFetch } from './http.ts'
import {
  acceptedAudiences,
  audienceList,
  InvalidTokenError,
  scopesFromClaims,
  type TokenVerifier,
  type VerifiedToken,
  VerifierUnavailableError,
} from './verifier.ts'

/** Options of {@link introspectionVerifier}. @see https://www.rfc-editor.org/rfc/rfc7662#section-2 */
export interface IntrospectionVerifierOptions {
  /** The authorization server's `introspection_endpoint`. */
  endpoint: string
  /** Issuer whose tokens these are; an `iss` in the answer must equal it. */
  issuer: string
  /** Credentials of this resource server at the authorization server (client_secret_basic). */
  clientId?: string
  clientSecret?: string
  /** A ready `Authorization` header value instead (e.g. `Bearer …`), or a function producing one. */
  authorization?: string | (() => string | Promise<string>)
  /** Accept answers without `aud` (the audience is then not checked). Off by default. */
  allowMissingAudience?: boolean
  /** Deadline per call, ms (default 3000). */
  timeoutMs?: number
  /** Largest answer accepted, bytes (default 64 KiB). */
  maxResponseBytes?: number
  /** Entries in the result cache (default 10,000). */
  cacheMaxEntries?: number
  /** Longest reuse of an active answer, seconds (default 5: a revocation bites within seconds); never beyond `exp`. */
  cacheMaxAgeSeconds?: number
  /** Reuse of an inactive answer, seconds (default 10), so a bad token cannot hammer the endpoint. */
  negativeCacheSeconds?: number
  /** After a failed call, answer 503 at once for this long instead of calling again, ms (default 2000). */
  failureBackoffMs?: number
  /** Accept http:// on a non-loopback host. */
  allowHttp?: boolean
  fetch?: typeof fetch
}

type Cached = { ok: true; token: VerifiedToken } | { ok: false; reason: string }

/**
 * A {@link TokenVerifier} asking the authorization server about each token (cached).
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.1
 */
export function introspectionVerifier(options: IntrospectionVerifierOptions): TokenVerifier {
  const url = new URL(options.endpoint)
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (options.allowHttp || isLoopbackUrl(url))))
    throw new InvalidArgumentError('insecure_endpoint', 'introspection endpoint must use https://', {
      spec: SPEC.mcpSecurity,
    })
  const cache = new ExpiringCache<Cached>(options.cacheMaxEntries ?? 10_000)
  const pending = new Map<string, Promise<Cached>>()
  const maxAgeMs = (options.cacheMaxAgeSeconds ?? 5) * 1000
  const negativeMs = (options.negativeCacheSeconds ?? 10) * 1000
  const bounded = {
    timeoutMs: options.timeoutMs ?? 3000,
    maxBytes: options.maxResponseBytes ?? 64 * 1024,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  }

  const authorization = async (): Promise<string | undefined> => {
    if (typeof options.authorization === 'function') return options.authorization()
    if (options.authorization) return options.authorization
    if (options.clientId !== undefined) {
      const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+')
      return `Basic ${Buffer.from(`${enc(options.clientId)}:${enc(options.clientSecret ?? '')}`).toString('base64')}`
    }
    return undefined
  }

  // While the endpoint is failing, new tokens are refused at once; cached answers keep being used.
  const backoffMs = options.failureBackoffMs ?? 2000
  let failedAt = Number.NEGATIVE_INFINITY
  let failure: VerifierUnavailableError | undefined

  const ask = async (token: string, resource: string): Promise<Cached> => {
    if (failure && Date.now() - failedAt < backoffMs)
      throw new VerifierUnavailableError(`${failure.message} (retrying after a short pause)`, {
        details: { ...failure.details, backoffMs },
      })
    try {
      const answer = await askOnce(token, resource)
      failure = undefined
      return answer
    } catch (e) {
      if (e instanceof VerifierUnavailableError) {
        failedAt = Date.now()
        failure = e
      }
      throw e
    }
  }

  const askOnce = async (token: string, resource: string): Promise<Cached> => {
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    }
    const auth = await authorization()
    if (auth) headers['authorization'] = auth
    const body = new URLSearchParams({ token, token_type_hint: 'access_token' }).toString()
    const r = await boundedFetch(options.endpoint, { method: 'POST', headers, body }, bounded)
    if (r.status !== 200)
      throw new VerifierUnavailableError(`introspection endpoint answered HTTP ${r.status}`, {
        details: { status: r.status },
      })
    let doc: Record<string, unknown>
    try {
      doc = JSON.parse(r.text)
    } catch (cause) {
      throw new VerifierUnavailableError('introspection endpoint did not return JSON', { cause })
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
      throw new VerifierUnavailableError('introspection answer is not a JSON object')
    if (doc['active'] !== true)
      return { ok: false, reason: 'token is not active (revoked, expired or unknown)' }
    // Only access tokens are accepted: a refresh token is active too, but is not for this server.
    const tokenType = typeof doc['token_type'] === 'string' ? doc['token_type'].toLowerCase() : undefined
    if (tokenType !== undefined && !['access_token', 'bearer', 'dpop', 'n_a'].includes(tokenType))
      return { ok: false, reason: 'token is not an access token' }
    const cnf = doc['cnf'] as Record<string, unknown> | undefined
    // A token bound to a key this server cannot check (mTLS x5t#S256, …) must not be accepted as a bearer token.
    if (cnf && typeof cnf === 'object' && typeof cnf['jkt'] !== 'string')
      return { ok: false, reason: 'token is bound to a key of a kind this server does not check' }
    if (doc['iss'] !== undefined && doc['iss'] !== options.issuer)
      return { ok: false, reason: 'token was issued by an unexpected issuer' }
    const now = Date.now() / 1000
    const exp = typeof doc['exp'] === 'number' ? doc['exp'] : undefined
    if (exp !== undefined && exp <= now) return { ok: false, reason: 'token has expired' }
    if (typeof doc['nbf'] === 'number' && doc['nbf'] > now + 10)
      return { ok: false, reason: 'token is not yet valid' }
    const audience = audienceList(doc['aud'])
    if (audience.length === 0 && !options.allowMissingAudience)
      return { ok: false, reason: 'introspection answer names no audience for the token' }
    const accepted = acceptedAudiences(resource)
    if (audience.length > 0 && !audience.some((a) => accepted.includes(a)))
      return { ok: false, reason: 'token was not issued for this resource (audience mismatch)' }
    const verified: VerifiedToken = {
      issuer: options.issuer,
      clientId: typeof doc['client_id'] === 'string' ? doc['client_id'] : '',
      scopes: scopesFromClaims(doc),
      // An answer without aud (allowed by option) is treated as meant for this resource.
      audience: audience.length ? audience : [resource],
      claims: doc,
      cacheUntil: Date.now() + maxAgeMs,
    }
    if (typeof doc['sub'] === 'string') verified.subject = doc['sub']
    if (exp !== undefined) verified.expiresAt = exp
    if (cnf && typeof cnf['jkt'] === 'string') verified.jkt = cnf['jkt']
    return { ok: true, token: verified }
  }

  return {
    async verify(token, context) {
      const key = tokenKey(`${context.resource}\n${token}`)
      let result = cache.get(key)
      if (!result) {
        let p = pending.get(key)
        if (!p) {
          p = ask(token, context.resource).finally(() => pending.delete(key))
          pending.set(key, p)
        }
        result = await p
        const now = Date.now()
        const until = result.ok
          ? Math.min(
              result.token.expiresAt !== undefined ? result.token.expiresAt * 1000 : now + maxAgeMs,
              now + maxAgeMs,
            )
          : now + negativeMs
        cache.set(key, result, until, now)
      }
      if (!result.ok) throw new InvalidTokenError(result.reason, { spec: SPEC.rfc7662 })
      return result.token
    },
  }
}
