/**
 * DPoP proof verification at the resource server (RFC 9449 §4.3, §7): signature with the embedded public key,
 * `htm`/`htu`/`iat`/`ath`, the token's `cnf.jkt` binding, and `jti` replay protection within the proof's lifetime.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { calculateJwkThumbprint, EmbeddedJWK, errors, jwtVerify } from 'jose'
import { SPEC } from '../../shared/errors.ts'
import { ExpiringCache } from '../cache.ts'
import { checkAlgorithms } from './jwt.ts'
import { InvalidTokenError, VerifierUnavailableError } from './verifier.ts'

/** DPoP settings of the resource server. @see https://www.rfc-editor.org/rfc/rfc9449#section-7 */
export interface DpopOptions {
  /** Proof algorithms accepted (default ES256, EdDSA, PS256, RS256). */
  algorithms?: readonly string[]
  /** Refuse Bearer tokens altogether: only DPoP-bound tokens with a proof. */
  required?: boolean
  /** How old a proof may be, seconds (default 60). */
  maxAgeSeconds?: number
  /** Clock skew accepted on `iat`, seconds (default 5). */
  clockToleranceSeconds?: number
  /** Most `jti` values remembered at once (default 100,000); when full of live ones, proofs get 503. */
  replayCacheSize?: number
  /** Largest proof accepted, bytes (default 4096). */
  maxProofLength?: number
  /**
   * Require server-provided nonces (RFC 9449 §9): proofs must carry a recent `nonce` from a `DPoP-Nonce` header.
   * Nonces are stateless (time + HMAC under a per-process key) and valid for `ttlSeconds` (default 300).
   */
  nonce?: boolean | { ttlSeconds?: number }
}

/** What a proof must match. @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3 */
export interface ProofContext {
  /** HTTP method of the request. */
  method: string
  /** Accepted `htu` values: the request URL and the public one, without query or fragment. */
  urls: readonly string[]
  /** The access token the proof must be bound to (`ath`). */
  token: string
  /** The token's `cnf.jkt`. */
  jkt: string
}

/** Checks DPoP proofs. @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3 */
export interface DpopChecker {
  readonly algorithms: readonly string[]
  readonly required: boolean
  check(proof: string | null, context: ProofContext): Promise<void>
  /** A fresh nonce to send in `DPoP-Nonce`, when nonces are enabled. */
  nonce(): string | undefined
}

function bad(message: string): InvalidTokenError {
  return new InvalidTokenError(`DPoP proof ${message}`, {
    code: 'invalid_dpop_proof',
    spec: SPEC.rfc9449,
    hint: 'Send one fresh DPoP proof per request, signed with the key the token is bound to, for this method and URL.',
  })
}

/**
 * Build a DPoP proof checker with its own bounded `jti` replay cache.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-11.1
 */
export function dpopChecker(options: DpopOptions = {}): DpopChecker {
  const algorithms = checkAlgorithms(options.algorithms ?? ['ES256', 'EdDSA', 'PS256', 'RS256'])
  const maxAge = options.maxAgeSeconds ?? 60
  const tolerance = options.clockToleranceSeconds ?? 5
  const maxLength = options.maxProofLength ?? 4096
  const seen = new ExpiringCache<true>(options.replayCacheSize ?? 100_000)
  const nonces = options.nonce
    ? nonceMaker(typeof options.nonce === 'object' ? options.nonce.ttlSeconds : undefined)
    : undefined
  return {
    algorithms,
    required: options.required ?? false,
    nonce: () => nonces?.make(),
    async check(proof, context) {
      if (proof === null || proof === '') throw bad('is missing (send a DPoP header)')
      if (proof.length > maxLength) throw bad(`is longer than ${maxLength} bytes`)
      if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(proof))
        throw bad('is not one compact JWS (exactly one DPoP header is allowed)')
      let result: Awaited<ReturnType<typeof jwtVerify>>
      try {
        result = await jwtVerify(proof, EmbeddedJWK, {
          typ: 'dpop+jwt',
          algorithms,
          maxTokenAge: maxAge,
          clockTolerance: tolerance,
          requiredClaims: ['iat', 'jti', 'htm', 'htu'],
        })
      } catch (e) {
        if (e instanceof errors.JWTExpired) throw bad('is too old')
        if (e instanceof errors.JWTClaimValidationFailed) throw bad(`has an invalid "${e.claim}" claim`)
        if (e instanceof errors.JOSEAlgNotAllowed) throw bad('uses an algorithm that is not allowed')
        throw bad('signature or structure is invalid')
      }
      const { payload, protectedHeader } = result
      if (nonces && !(typeof payload['nonce'] === 'string' && nonces.valid(payload['nonce'])))
        throw new InvalidTokenError('DPoP proof needs a fresh server nonce (see the DPoP-Nonce header)', {
          code: 'use_dpop_nonce',
          spec: 'https://www.rfc-editor.org/rfc/rfc9449#section-9',
          hint: 'Repeat the request with a proof whose nonce claim is the DPoP-Nonce value of this answer.',
        })
      if (payload['htm'] !== context.method) throw bad('was made for another HTTP method')
      if (typeof payload['htu'] !== 'string' || !context.urls.includes(normalizeHtu(payload['htu'])))
        throw bad('was made for another URL')
      const ath = createHash('sha256').update(context.token).digest('base64url')
      if (payload['ath'] !== ath) throw bad('is not bound to this access token (ath)')
      const jkt = await calculateJwkThumbprint(protectedHeader.jwk!, 'sha256')
      if (jkt !== context.jkt) throw bad('key does not match the token binding (cnf.jkt)')
      const jti = payload['jti']
      if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) throw bad('has an invalid jti')
      const key = `${jkt}:${jti}`
      const now = Date.now()
      if (seen.has(key, now)) throw bad('was already used (jti replay)')
      if (!seen.hasRoom(now))
        throw new VerifierUnavailableError('DPoP replay cache is full; retry shortly', {
          details: { size: seen.maxEntries },
        })
      const iat = typeof payload['iat'] === 'number' ? payload['iat'] : now / 1000
      seen.set(key, true, (iat + maxAge + tolerance) * 1000 + 1000, now)
    },
  }
}

/**
 * `htu` compared without query and fragment, scheme and host lower-cased.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3
 */
export function normalizeHtu(value: string): string {
  try {
    const u = new URL(value)
    return `${u.origin}${u.pathname}`
  } catch {
    return ''
  }
}

/**
 * Stateless DPoP nonces: the issue time and an HMAC of it under a key that lives as long as the process.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-9
 */
function nonceMaker(ttlSeconds = 300): { make(): string; valid(nonce: string): boolean } {
  const key = randomBytes(32)
  const mac = (t: string) => createHmac('sha256', key).update(t).digest('base64url').slice(0, 22)
  return {
    make() {
      const t = Math.floor(Date.now() / 1000).toString(36)
      return `${t}.${mac(t)}`
    },
    valid(nonce) {
      const dot = nonce.indexOf('.')
      if (dot < 1 || nonce.length > 64) return false
      const t = nonce.slice(0, dot)
      const expected = Buffer.from(mac(t))
      const given = Buffer.from(nonce.slice(dot + 1))
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false
      const age = Date.now() / 1000 - Number.parseInt(t, 36)
      return age >= -5 && age <= ttlSeconds
    },
  }
}
