/**
 * JWT access tokens (RFC 9068) verified against the issuer's JWKS with `jose`: algorithm allowlist, issuer,
 * mandatory audience, expiry and issue time with a small skew, keys cached and refetched on an unknown `kid` at
 * most once per short cooldown (see jwks.ts), and every outbound call bounded in time and size.
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-4
 */
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey, jwtVerify } from 'jose'
import {
  authorizationServerMetadataUrls,
  validateAuthorizationServerMetadata,
} from '../../shared/authorization-server.ts'
import { InvalidArgumentError, SPEC } from '../../shared/errors.ts'
import { isLoopbackUrl } from '../../shared/resource.ts'
import { boundedFetch } from './http.ts'
import { remoteKeySet } from './jwks.ts'
import {
  acceptedAudiences,
  audienceList,
  InvalidTokenError,
  scopesFromClaims,
  type TokenVerifier,
  type VerifiedToken,
  VerifierUnavailableError,
  type VerifyContext,
} from './verifier.ts'

/** Asymmetric JWS algorithms accepted by default. @see https://www.rfc-editor.org/rfc/rfc9068#section-4 */
export const DEFAULT_JWT_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
  'EdDSA',
  'Ed25519',
] as const

/** Options of {@link jwtVerifier}. @see https://www.rfc-editor.org/rfc/rfc9068 */
export interface JwtVerifierOptions {
  /** The issuer (`iss`) tokens must carry, exactly. */
  issuer: string
  /** JWKS URL; discovered from the issuer's RFC 8414 / OIDC metadata when omitted. */
  jwksUri?: string
  /** A key set instead of a remote one; a function is asked on every verification (keys that rotate in process). */
  keys?: JSONWebKeySet | (() => JSONWebKeySet)
  /** Allowed signature algorithms; `none` and symmetric (HS*) ones are refused. */
  algorithms?: readonly string[]
  /** Audiences accepted besides the resource itself (for an authorization server that uses another identifier). */
  additionalAudiences?: readonly string[]
  /** Accepted clock skew in seconds for `exp`, `nbf` and `iat` (default 10); an `iat` further ahead is refused. */
  clockToleranceSeconds?: number
  /** Accept only `typ: at+jwt` (RFC 9068 §2.1); by default `JWT` and an absent `typ` pass too. */
  requireAtJwtType?: boolean
  /** Deadline for JWKS and metadata requests in ms (default 3000). */
  timeoutMs?: number
  /** Least time between two JWKS refetches caused by an unknown `kid`, ms (default 5000). */
  cooldownMs?: number
  /** A token with an unknown `kid` during the cooldown waits up to this long for its end and the refetch, ms (default 1000; 0 answers 401 at once). */
  unknownKidWaitMs?: number
  /** Longest time keys are used before refetching, ms (default 600000). */
  cacheMaxAgeMs?: number
  /** After a failed JWKS or metadata fetch, answer 503 at once for this long instead of refetching (default 5000). */
  failureBackoffMs?: number
  /** Largest JWKS or metadata document accepted, bytes (default 256 KiB). */
  maxDocumentBytes?: number
  /** Largest number of audiences a token may list (default 64). */
  maxAudiences?: number
  /** Accept an http:// JWKS or issuer on a non-loopback host. */
  allowHttp?: boolean
  /** Fetch implementation for JWKS and metadata. */
  fetch?: typeof fetch
}

const TYP_ACCEPTED = new Set(['at+jwt', 'application/at+jwt', 'jwt'])

/** Refuse `none` and symmetric algorithms: a public JWKS must never verify an HMAC. @see https://www.rfc-editor.org/rfc/rfc8725#section-3.1 */
export function checkAlgorithms(algorithms: readonly string[]): string[] {
  if (algorithms.length === 0) throw new InvalidArgumentError('invalid_algorithms', 'algorithm list is empty')
  for (const alg of algorithms) {
    if (alg.toLowerCase() === 'none' || /^HS\d+$/i.test(alg)) {
      throw new InvalidArgumentError('insecure_algorithm', `algorithm ${alg} cannot be allowed`, {
        spec: 'https://www.rfc-editor.org/rfc/rfc8725#section-3.1',
        hint: 'Access tokens verified through a JWKS must be signed with an asymmetric algorithm (ES256, RS256, …).',
      })
    }
  }
  return [...algorithms]
}

/**
 * A {@link TokenVerifier} for JWT access tokens signed by `issuer`.
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-4
 */
export function jwtVerifier(options: JwtVerifierOptions): TokenVerifier {
  const algorithms = checkAlgorithms(options.algorithms ?? DEFAULT_JWT_ALGORITHMS)
  const issuer = options.issuer
  checkUrl(issuer, 'issuer', options.allowHttp)
  if (options.jwksUri) checkUrl(options.jwksUri, 'jwksUri', options.allowHttp)
  const timeoutMs = options.timeoutMs ?? 3000
  const maxBytes = options.maxDocumentBytes ?? 256 * 1024
  const backoffMs = options.failureBackoffMs ?? 5000
  const tolerance = options.clockToleranceSeconds ?? 10
  const maxAudiences = options.maxAudiences ?? 64
  const extraAudiences = options.additionalAudiences ?? []
  // The back-off guards the network only: tokens whose keys are already cached keep verifying during an outage.
  let failedAt = Number.NEGATIVE_INFINITY
  let failure: VerifierUnavailableError | undefined
  const recentFailure = (): VerifierUnavailableError | undefined =>
    failure && Date.now() - failedAt < backoffMs
      ? new VerifierUnavailableError(`${failure.message} (retrying after a short pause)`, {
          details: { ...failure.details, backoffMs, paused: true },
        })
      : undefined
  const fail = (e: VerifierUnavailableError): never => {
    // A refusal issued during the pause is not a new failure: recording it would extend the pause forever.
    if (e.details['paused'] !== true) {
      failedAt = Date.now()
      failure = e
    }
    throw e
  }

  const bounded = { timeoutMs, maxBytes, ...(options.fetch ? { fetch: options.fetch } : {}) }
  const loadJwks = async (uri: string): Promise<JSONWebKeySet> => {
    const paused = recentFailure()
    if (paused) throw paused
    try {
      const r = await boundedFetch(
        uri,
        { headers: { accept: 'application/json, application/jwk-set+json' } },
        bounded,
      )
      if (r.status !== 200) throw new VerifierUnavailableError(`JWKS endpoint answered HTTP ${r.status}`)
      let doc: unknown
      try {
        doc = JSON.parse(r.text)
      } catch (cause) {
        throw new VerifierUnavailableError('JWKS endpoint did not return JSON', { cause })
      }
      const keys = (doc as { keys?: unknown } | null)?.keys
      if (!Array.isArray(keys) || keys.some((k) => k === null || typeof k !== 'object'))
        throw new VerifierUnavailableError('JWKS document has no "keys" array of objects')
      failure = undefined
      return doc as JSONWebKeySet
    } catch (e) {
      return fail(asUnavailable(e))
    }
  }

  const fixed = options.keys
  let localFrom: { keys: JSONWebKeySet; getKey: JWTVerifyGetKey } | undefined
  const localKeys = (keys: JSONWebKeySet): JWTVerifyGetKey => {
    // Rebuilt only when the function hands out a different set.
    if (localFrom?.keys !== keys) localFrom = { keys, getKey: createLocalJWKSet(keys) }
    return localFrom.getKey
  }
  let keySet: Promise<JWTVerifyGetKey> | undefined
  const getKeySet = (): Promise<JWTVerifyGetKey> => {
    if (fixed) return Promise.resolve(localKeys(typeof fixed === 'function' ? fixed() : fixed))
    keySet ??= (async () => {
      const paused = recentFailure()
      if (paused) throw paused
      const uri = options.jwksUri ?? (await discoverJwksUri(issuer, bounded, options.allowHttp))
      checkUrl(uri, 'jwks_uri', options.allowHttp)
      return remoteKeySet({
        load: () => loadJwks(uri),
        cooldownMs: options.cooldownMs ?? 5000,
        cacheMaxAgeMs: options.cacheMaxAgeMs ?? 600_000,
        unknownKidWaitMs: options.unknownKidWaitMs ?? 1000,
      }).getKey
    })()
    return keySet
  }

  return {
    additionalAudiences: extraAudiences,
    async verify(token: string, context: VerifyContext): Promise<VerifiedToken> {
      let getKey: JWTVerifyGetKey
      try {
        getKey = await getKeySet()
      } catch (e) {
        keySet = undefined
        if (e instanceof VerifierUnavailableError && e.message.endsWith('(retrying after a short pause)'))
          throw e
        return fail(asUnavailable(e))
      }
      let verified: Awaited<ReturnType<typeof jwtVerify>>
      try {
        verified = await jwtVerify(token, getKey, {
          algorithms,
          issuer,
          audience: [...acceptedAudiences(context.resource), ...extraAudiences],
          clockTolerance: tolerance,
          requiredClaims: ['exp'],
        })
      } catch (e) {
        if (e instanceof VerifierUnavailableError) return fail(e)
        throw mapJoseError(e, fail)
      }
      // jose checks iat only against a maximum age: a token "issued" in the future is refused here.
      const iat = verified.payload.iat
      if (typeof iat === 'number' && iat > Date.now() / 1000 + tolerance)
        throw new InvalidTokenError('token issue time is in the future', { details: { claim: 'iat' } })
      const typ = verified.protectedHeader.typ?.toLowerCase()
      if (typ !== undefined && !TYP_ACCEPTED.has(typ))
        throw new InvalidTokenError(`token type "${typ.slice(0, 40)}" is not an access token`)
      if (options.requireAtJwtType && typ !== 'at+jwt' && typ !== 'application/at+jwt')
        throw new InvalidTokenError('token is not typed at+jwt', { spec: SPEC.rfc9068 })
      const claims = verified.payload as Record<string, unknown>
      const audience = audienceList(claims['aud'])
      if (audience.length > maxAudiences)
        throw new InvalidTokenError(`token lists ${audience.length} audiences (limit ${maxAudiences})`)
      const cnf = claims['cnf'] as { jkt?: unknown } | undefined
      const result: VerifiedToken = {
        issuer,
        clientId: String(claims['client_id'] ?? claims['azp'] ?? ''),
        scopes: scopesFromClaims(claims),
        audience,
        claims,
      }
      if (typeof claims['sub'] === 'string') result.subject = claims['sub']
      if (typeof claims['exp'] === 'number') result.expiresAt = claims['exp']
      if (cnf && typeof cnf === 'object') {
        if (typeof cnf.jkt !== 'string') throw new InvalidTokenError('token has a cnf claim without jkt')
        result.jkt = cnf.jkt
      }
      return result
    },
  }
}

function asUnavailable(e: unknown): VerifierUnavailableError {
  if (e instanceof VerifierUnavailableError) return e
  return new VerifierUnavailableError('could not load the issuer keys', { cause: e })
}

function mapJoseError(e: unknown, fail: (e: VerifierUnavailableError) => never): Error {
  if (e instanceof errors.JWTExpired)
    return new InvalidTokenError('token has expired', { code: 'token_expired' })
  if (e instanceof errors.JWTClaimValidationFailed) {
    const claim = e.claim
    const what =
      claim === 'aud'
        ? 'token was not issued for this resource (audience mismatch)'
        : claim === 'iss'
          ? 'token was issued by an unexpected issuer'
          : claim === 'nbf'
            ? 'token is not yet valid'
            : claim === 'iat'
              ? 'token issue time is in the future'
              : `token claim "${claim}" is invalid (${e.reason})`
    return new InvalidTokenError(what, { details: { claim } })
  }
  if (e instanceof errors.JWKSNoMatchingKey)
    return new InvalidTokenError("no key in the issuer's key set matches the token", { code: 'unknown_key' })
  if (e instanceof errors.JOSEAlgNotAllowed)
    return new InvalidTokenError('token signature algorithm is not allowed', {
      code: 'algorithm_not_allowed',
    })
  if (e instanceof errors.JWSSignatureVerificationFailed)
    return new InvalidTokenError('token signature is invalid')
  if (e instanceof errors.JWKSTimeout)
    fail(new VerifierUnavailableError('JWKS endpoint timed out', { cause: e }))
  if (e instanceof errors.JWKSInvalid || e instanceof errors.JWKSMultipleMatchingKeys)
    fail(new VerifierUnavailableError("the issuer's key set is unusable", { cause: e }))
  if (
    e instanceof errors.JWSInvalid ||
    e instanceof errors.JWTInvalid ||
    e instanceof errors.JOSENotSupported
  )
    return new InvalidTokenError('token is not a valid signed JWT')
  if (e instanceof errors.JOSEError) {
    // Remaining jose errors here come from fetching or parsing the JWKS.
    fail(new VerifierUnavailableError("could not load the issuer's key set", { cause: e }))
  }
  if (e instanceof TypeError) return new InvalidTokenError('token is not a valid signed JWT')
  return e instanceof Error ? e : new Error(String(e))
}

async function discoverJwksUri(
  issuer: string,
  bounded: { timeoutMs: number; maxBytes: number; fetch?: typeof fetch },
  allowHttp: boolean | undefined,
): Promise<string> {
  let last: unknown
  for (const { url } of authorizationServerMetadataUrls(issuer)) {
    try {
      const r = await boundedFetch(url, { headers: { accept: 'application/json' } }, bounded)
      if (r.status !== 200) continue
      const { metadata } = validateAuthorizationServerMetadata(JSON.parse(r.text), issuer, {
        allowHttp: allowHttp ?? false,
      })
      if (typeof metadata.jwks_uri === 'string') return metadata.jwks_uri
    } catch (e) {
      last = e
    }
  }
  // The issuer stays in details (for logs): the message reaches clients in the 503 body.
  throw new VerifierUnavailableError("could not discover the issuer's jwks_uri", {
    cause: last,
    details: { issuer },
  })
}

function checkUrl(value: string, name: string, allowHttp: boolean | undefined): void {
  let url: URL
  try {
    url = new URL(value)
  } catch (cause) {
    throw new InvalidArgumentError('invalid_url', `${name} is not an absolute URL`, { cause })
  }
  if (url.protocol === 'https:') return
  if (url.protocol === 'http:' && (allowHttp || isLoopbackUrl(url))) return
  throw new InvalidArgumentError('insecure_endpoint', `${name} must use https:// (got ${url.protocol})`, {
    spec: SPEC.mcpSecurity,
    hint: 'Use https://, or pass allowHttp: true for a trusted development setup.',
  })
}
