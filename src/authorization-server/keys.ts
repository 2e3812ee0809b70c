/**
 * Server secrets kept in storage (sealed) so every instance on one database signs with the same keys:
 * an ES256 and an RS256 signing key, cookie keys, the CSRF key.
 * @see https://www.rfc-editor.org/rfc/rfc7517
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto'
import type { AuthorizationServerStorage } from './adapters/sql.ts'

/** The secrets an authorization server instance needs. */
export interface ServerSecrets {
  /** Private JWKS for oidc-provider's `jwks` option. */
  jwks: { keys: Record<string, unknown>[] }
  /** Cookie signing keys. */
  cookieKeys: string[]
  /** HMAC key for CSRF tokens on interaction forms. */
  csrfKey: Buffer
}

function newJwks(): string {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' })
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' })
  return JSON.stringify({
    keys: [
      { ...ec, kid: randomUUID(), alg: 'ES256', use: 'sig' },
      { ...rsa, kid: randomUUID(), alg: 'RS256', use: 'sig' },
    ],
  })
}

/** Loads the server secrets, creating them on first start. @see https://www.rfc-editor.org/rfc/rfc7517 */
export async function loadServerSecrets(storage: AuthorizationServerStorage): Promise<ServerSecrets> {
  const jwks = JSON.parse(await storage.loadSecret('jwks', newJwks))
  const cookieKeys = JSON.parse(
    await storage.loadSecret('cookie_keys', () => JSON.stringify([randomBytes(32).toString('base64url')])),
  )
  const csrfKey = Buffer.from(
    await storage.loadSecret('csrf_key', () => randomBytes(32).toString('base64url')),
    'base64url',
  )
  return { jwks, cookieKeys, csrfKey }
}
