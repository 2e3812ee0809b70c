/**
 * Server secrets kept in storage (sealed) so every instance on one database shares them: cookie keys and the
 * CSRF key (the signing keys rotate and live in signing-keys.ts).
 * @see https://www.rfc-editor.org/rfc/rfc7517
 */
import { createHmac, createSecretKey, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto'
import type { AuthorizationServerStorage } from './adapters/sql.ts'

/**
 * What oidc-provider's `cookies.keys` accepts in place of a key list: a Keygrip-shaped signer (koa's `cookies`
 * calls `sign` and `index`). @see https://github.com/crypto-utils/keygrip#api
 */
export interface CookieKeys {
  /** The signature of `data` with the first key. */
  sign(data: string): string
  /** Whether `digest` is the signature of `data` under any key. */
  verify(data: string, digest: string): boolean
  /** Which key signed `data` as `digest`, or -1. */
  index(data: string, digest: string): number
}

/** The secrets an authorization server instance needs. */
export interface ServerSecrets {
  /** Cookie signer over the stored cookie keys. */
  cookieKeys: CookieKeys
  /** HMAC key for CSRF tokens on interaction forms. */
  csrfKey: KeyObject
}

/**
 * A cookie signer making exactly Keygrip's signatures (HMAC-SHA-1 under each key's UTF-8 bytes, base64url), so
 * cookies set before still verify. Keygrip compares through tsscmp, which builds two HMACs under a fresh random
 * Buffer key per check, and Node builds every HMAC under a Buffer key by throwing and catching two TypeErrors
 * (is it a KeyObject? a CryptoKey?), stack traces included: the signed cookies of one sign-in spent more CPU on
 * that than on their HMACs. Here the keys are KeyObjects made once and signatures compare in constant time.
 * @see https://nodejs.org/api/crypto.html#cryptotimingsafeequala-b
 */
export function createCookieKeys(keys: readonly string[]): CookieKeys {
  if (keys.length === 0) throw new Error('at least one cookie key is required')
  const objects = keys.map((key) => createSecretKey(Buffer.from(key, 'utf8')))
  const sign = (data: string, key: KeyObject) => createHmac('sha1', key).update(data).digest()
  const index = (data: string, digest: string) => {
    const given = Buffer.from(String(digest ?? ''), 'base64url')
    // A SHA-1 digest is 20 bytes; the length of what was presented is no secret.
    if (given.length !== 20 || given.toString('base64url') !== digest) return -1
    return objects.findIndex((key) => timingSafeEqual(sign(data, key), given))
  }
  return {
    sign: (data) => sign(data, objects[0]!).toString('base64url'),
    verify: (data, digest) => index(data, digest) > -1,
    index,
  }
}

/** Loads the server secrets, creating them on first start. @see https://www.rfc-editor.org/rfc/rfc7517 */
export async function loadServerSecrets(storage: AuthorizationServerStorage): Promise<ServerSecrets> {
  const cookieKeys = JSON.parse(
    await storage.loadSecret('cookie_keys', () => JSON.stringify([randomBytes(32).toString('base64url')])),
  ) as string[]
  // A KeyObject made once: an HMAC under a Buffer key costs two thrown and caught TypeErrors in Node.
  const csrfKey = createSecretKey(
    Buffer.from(
      await storage.loadSecret('csrf_key', () => randomBytes(32).toString('base64url')),
      'base64url',
    ),
  )
  return { cookieKeys: createCookieKeys(cookieKeys), csrfKey }
}
