/**
 * DPoP (RFC 9449): one key pair per session, persisted as a JWK so every process of the session can use
 * the bound token, proofs for resource requests, and the per-origin nonce cache.
 * @see https://www.rfc-editor.org/rfc/rfc9449
 */
import type { webcrypto } from 'node:crypto'
import {
  base64url,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  SignJWT,
} from 'jose'

/** A session's DPoP key: the pair and its persisted private JWK. @see https://www.rfc-editor.org/rfc/rfc9449#section-4 */
export interface DpopKey {
  keyPair: webcrypto.CryptoKeyPair
  privateJwk: JWK
  publicJwk: JWK
  jkt: string
}

/** Create a fresh ES256 DPoP key. @see https://www.rfc-editor.org/rfc/rfc9449#section-4.2 */
export async function createDpopKey(): Promise<DpopKey> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  return loadDpopKey(await exportJWK(privateKey))
}

/** Rebuild a DPoP key from its stored private JWK. @see https://www.rfc-editor.org/rfc/rfc9449#section-4.2 */
export async function loadDpopKey(privateJwk: JWK): Promise<DpopKey> {
  const { d: _d, ...publicJwk } = privateJwk
  const privateKey = (await importJWK(privateJwk, 'ES256')) as webcrypto.CryptoKey
  // The public half must be non-extractable-agnostic; importing from JWK keeps it usable by oauth4webapi.
  const publicKey = (await importJWK({ ...publicJwk, ext: true }, 'ES256')) as webcrypto.CryptoKey
  return {
    keyPair: { privateKey, publicKey },
    privateJwk,
    publicJwk: { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, y: publicJwk.y } as JWK,
    jkt: await calculateJwkThumbprint(publicJwk as JWK, 'sha256'),
  }
}

const nonces = new Map<string, string>()

/** Remember a `DPoP-Nonce` a server sent, per origin. @see https://www.rfc-editor.org/rfc/rfc9449#section-8 */
export function rememberNonce(url: string | URL, response: Response): void {
  const n = response.headers.get('dpop-nonce')
  if (n) nonces.set(new URL(String(url)).origin, n)
}

/** Whether a resource response asks for a (new) DPoP nonce. @see https://www.rfc-editor.org/rfc/rfc9449#section-9 */
export function isResourceNonceChallenge(response: Response): boolean {
  if (response.status !== 401 || !response.headers.has('dpop-nonce')) return false
  return /use_dpop_nonce/.test(response.headers.get('www-authenticate') ?? '')
}

/**
 * A DPoP proof for a resource request, with `ath` bound to the access token.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.2
 */
export async function resourceProof(key: DpopKey, method: string, url: string | URL, accessToken: string) {
  const u = new URL(String(url))
  const htu = u.origin + u.pathname
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken))
  const ath = base64url.encode(new Uint8Array(digest))
  const nonce = nonces.get(u.origin)
  return new SignJWT({ htm: method.toUpperCase(), htu, ath, ...(nonce ? { nonce } : {}) })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk })
    .setIssuedAt()
    .setJti(crypto.randomUUID())
    .sign(key.keyPair.privateKey)
}
